from django.conf import settings

from .roles import role_of


def shop(request):
    return {
        "shop_name": settings.SHOP_NAME,
        "user_role": role_of(getattr(request, "user", None)),
        "show_demo_logins": settings.DEBUG,
    }
