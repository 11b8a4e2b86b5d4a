from django.conf import settings
from django.utils.functional import SimpleLazyObject

from .roles import role_of
from .shop import current_shop


def shop(request):
    # Lazy: read once per request, and only by pages that show the shop's details.
    details = SimpleLazyObject(current_shop)
    return {
        "shop": details,
        "shop_name": SimpleLazyObject(lambda: details.name),
        "user_role": role_of(getattr(request, "user", None)),
        "show_demo_logins": settings.DEBUG,
    }
