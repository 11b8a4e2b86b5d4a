"""Small kernel helpers the apps share: who is recorded as having made a change, and read-only
admins (history and audit rows are written by services, never by hand in the admin)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from revivatech.admin_mixins import ReadOnlyAdminMixin
from revivatech.roles import acting_user


@pytest.mark.django_db
def test_only_a_signed_in_user_is_recorded_as_the_actor(staff_user):
    assert acting_user(staff_user) is staff_user
    assert acting_user(AnonymousUser()) is None
    assert acting_user(None) is None


@pytest.mark.django_db
def test_read_only_admins_refuse_add_change_and_delete_even_to_a_superuser():
    superuser = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    request = RequestFactory().get("/admin/")
    request.user = superuser
    read_only = [
        model_admin
        for model_admin in admin.site._registry.values()
        if isinstance(model_admin, ReadOnlyAdminMixin)
    ]
    names = {type(model_admin).__name__ for model_admin in read_only}
    # One from each app that has them (a registered admin per kind of read-only row).
    assert {"TicketEventAdmin", "FlagChangeAdmin"} <= names
    assert any(type(a).__module__.startswith("analytics") for a in read_only)
    assert any(type(a).__module__.startswith("payments") for a in read_only)
    for model_admin in read_only:
        assert model_admin.has_view_permission(request) is True
        for name in ("has_add_permission", "has_change_permission", "has_delete_permission"):
            if getattr(type(model_admin), name) is getattr(ReadOnlyAdminMixin, name):
                # (Some payments admins allow staff one action on purpose: they override it.)
                assert getattr(model_admin, name)(request) is False, (model_admin, name)
