"""Admin pages the stock ``AdminSite`` gets wrong for this shop.

``/admin/r/<content type>/<id>/`` ("view on site") redirects to the object's
``get_absolute_url()`` for anyone with ``is_staff``, without asking the object's ModelAdmin who
may see it. Technicians are ``is_staff`` and a repair's absolute URL is its secret tracking link,
so any technician could read the tracking link of any repair by its (sequential) id. Found by the
access-control table (tests/security/acl_table.py). Here the redirect happens only when the
object's ModelAdmin lets this user see that very object; otherwise 404.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.views import shortcut
from django.http import Http404, HttpRequest, HttpResponse


def _view_on_site(request: HttpRequest, content_type_id: str, object_id: str) -> HttpResponse:
    try:
        model = ContentType.objects.get(pk=int(content_type_id)).model_class()
    except (ValueError, ContentType.DoesNotExist) as exc:
        raise Http404("No such object.") from exc
    model_admin = admin.site._registry.get(model)
    if model_admin is None or not model_admin.has_view_or_change_permission(request):
        raise Http404("No such object.")
    found = model_admin.get_object(request, object_id)  # None when not in this user's queryset
    if found is None or not model_admin.has_view_or_change_permission(request, found):
        raise Http404("No such object.")
    return shortcut(request, content_type_id, object_id)


#: Same login handling as every admin page (anonymous → the admin login).
view_on_site = admin.site.admin_view(_view_on_site)
