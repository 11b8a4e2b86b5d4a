"""The access-control table: every route × the six roles → what each role must get.

Rows name the route exactly as Django's URL resolver (or the WebSocket router) lists it, so the
meta-test (``test_access_control.py::test_every_route_is_in_the_table``) can prove that no route
is missing. Admin rows are generated from ``admin.site._registry`` with the policy in
:data:`ADMIN_POLICY`; every other row is written out by hand.

An expectation is an HTTP status, or one of the redirect codes below. Targets are customer A's
objects unless the row says otherwise (B's objects through A's link, forged tokens…).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType

from notifications.models import MessageTemplate
from tests.security.acl_fixtures import (
    ANONYMOUS,
    CUSTOMER_A,
    CUSTOMER_B,
    ROLES,
    STAFF,
    TECH_ASSIGNED,
    TECH_UNASSIGNED,
    World,
)

LOGIN = "→login"  # 302 to the site's login page (LOGIN_URL)
ADMIN_LOGIN = "→admin-login"  # 302 to /admin/login/
ADMIN_GONE = "→admin"  # 302 to the admin index ("no such object": hidden from this role; or logged in)
REDIRECT = "→"  # some other 302 (e.g. back to the tracking page)
ACCEPT = "accept"  # WebSocket: accepted, data flows
CLOSE = "close-4403"  # WebSocket: accepted and closed at once with 4403, before any data

Expect = int | str


def by_role(anonymous: Expect, a: Expect, b: Expect, tech_u: Expect, tech_a: Expect, staff: Expect) -> dict:
    return dict(zip(ROLES, (anonymous, a, b, tech_u, tech_a, staff), strict=True))


def everyone(expect: Expect) -> dict:
    return dict.fromkeys(ROLES, expect)


@dataclass(frozen=True)
class Row:
    route: str  # the pattern as the resolver lists it
    method: str
    url: Callable[[World], str]
    expect: dict[str, Expect]
    label: str = ""
    body: Callable[[World], Any] | None = None  # JSON (API) or form data (pages)
    api: bool = False  # authenticate with the role's token instead of a session
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.method} {self.label or self.route}"


def _variant(photo) -> str:
    variant = photo.variants[0]
    return f"{variant['width']}.{variant['format']}"


A_TOKEN = "track/<str:token>/"
BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
)
FORGED = "not-a-real-tracking-token-0000000000000000"

# --- pages (site root) -----------------------------------------------------------------------------

PAGE_ROWS: list[Row] = [
    Row("", "GET", lambda w: "/", everyone(200)),
    Row("book/", "GET", lambda w: "/book/", everyone(200)),
    Row(A_TOKEN, "GET", lambda w: f"/track/{w.a.ticket.tracking_token}/", everyone(200), "A's tracking link"),
    Row(A_TOKEN, "GET", lambda w: f"/track/{FORGED}/", everyone(404), "a forged tracking link"),
    Row(
        "track/<str:token>/quote/",
        "POST",
        lambda w: f"/track/{FORGED}/quote/",
        everyone(404),
        body=lambda w: {"decision": "approve"},
    ),
    Row(
        "track/<str:token>/quote/",
        "GET",
        lambda w: f"/track/{FORGED}/quote/?decision=approve",
        everyone(404),
        "the confirmation step, forged link",
    ),
    Row(
        "track/<str:token>/quote/",
        "GET",
        lambda w: f"/track/{w.a.ticket.tracking_token}/quote/?decision=maybe",
        everyone(REDIRECT),
        "the confirmation step, no valid decision: back to the tracking page",
    ),
    Row(
        "track/<str:token>/receipt/",
        "GET",
        lambda w: f"/track/{w.a.ticket.tracking_token}/receipt/",
        everyone(200),
    ),
    Row("track/<str:token>/receipt/", "GET", lambda w: f"/track/{FORGED}/receipt/", everyone(404), "forged"),
    Row(
        "track/<str:token>/photos/<int:photo_id>/",
        "GET",
        lambda w: f"/track/{w.a.ticket.tracking_token}/photos/{w.a.photo.pk}/",
        everyone(200),
        "A's link, A's photo",
    ),
    Row(
        "track/<str:token>/photos/<int:photo_id>/",
        "GET",
        lambda w: f"/track/{w.a.ticket.tracking_token}/photos/{w.a.internal_photo.pk}/",
        everyone(404),
        "A's link, A's internal photo",
    ),
    Row(
        "track/<str:token>/photos/<int:photo_id>/",
        "GET",
        lambda w: f"/track/{w.a.ticket.tracking_token}/photos/{w.b.photo.pk}/",
        everyone(404),
        "A's link, B's photo (IDOR)",
    ),
    Row(
        "track/<str:token>/photos/<int:photo_id>/<int:width>.<str:fmt>",
        "GET",
        lambda w: f"/track/{w.a.ticket.tracking_token}/photos/{w.a.photo.pk}/{_variant(w.a.photo)}",
        everyone(200),
        "A's link, A's photo variant",
    ),
    Row(
        "track/<str:token>/photos/<int:photo_id>/<int:width>.<str:fmt>",
        "GET",
        lambda w: f"/track/{w.a.ticket.tracking_token}/photos/{w.b.photo.pk}/{_variant(w.b.photo)}",
        everyone(404),
        "A's link, B's photo variant (IDOR)",
    ),
    Row(
        "track/<str:token>/photos/<int:photo_id>/<int:width>.<str:fmt>",
        "GET",
        lambda w: (
            f"/track/{w.a.ticket.tracking_token}/photos/{w.a.internal_photo.pk}/"
            f"{_variant(w.a.internal_photo)}"
        ),
        everyone(404),
        "A's link, A's internal photo variant",
    ),
    Row(
        "photos/<int:photo_id>/",
        "GET",
        lambda w: f"/photos/{w.a.photo.pk}/",
        by_role(LOGIN, 200, 404, 404, 200, 200),
        "A's photo",
    ),
    Row(
        "photos/<int:photo_id>/",
        "GET",
        lambda w: f"/photos/{w.a.internal_photo.pk}/",
        by_role(LOGIN, 404, 404, 404, 200, 200),
        "A's internal photo",
    ),
    Row(
        "photos/<int:photo_id>/<int:width>.<str:fmt>",
        "GET",
        lambda w: f"/photos/{w.a.photo.pk}/{_variant(w.a.photo)}",
        by_role(LOGIN, 200, 404, 404, 200, 200),
        "A's photo variant",
    ),
    Row(
        "photos/<int:photo_id>/<int:width>.<str:fmt>",
        "GET",
        lambda w: f"/photos/{w.a.internal_photo.pk}/{_variant(w.a.internal_photo)}",
        by_role(LOGIN, 404, 404, 404, 200, 200),
        "A's internal photo variant",
    ),
    Row(
        "photos/<int:photo_id>/original/",
        "GET",
        lambda w: f"/photos/{w.a.photo.pk}/original/",
        by_role(LOGIN, 404, 404, 404, 200, 200),
        "A's original upload",
    ),
    Row("account/repairs/", "GET", lambda w: "/account/repairs/", by_role(LOGIN, 200, 200, 200, 200, 200)),
    Row("demo/realtime/", "GET", lambda w: "/demo/realtime/", by_role(LOGIN, 404, 404, 404, 404, 200)),
    Row(
        "demo/realtime/new/",
        "POST",
        lambda w: "/demo/realtime/new/",
        by_role(LOGIN, 404, 404, 404, 404, REDIRECT),
    ),
    Row(
        "demo/realtime/<str:reference>/fire/",
        "POST",
        lambda w: f"/demo/realtime/{w.a.ticket.reference}/fire/",
        # a customer's ticket: refused even to staff (the demo acts on demo tickets only)
        by_role(LOGIN, 404, 404, 404, 404, 403),
        body=lambda w: {"kind": "no-such-kind"},
        headers={"Accept": "application/json"},
    ),
    Row(
        "account/notifications/",
        "GET",
        lambda w: "/account/notifications/",
        # Logins without a customer record get a page that says so (nothing of anyone's).
        by_role(LOGIN, 200, 200, 200, 200, 200),
    ),
    Row(
        "account/notifications/devices/<int:device_id>/remove/",
        "POST",
        lambda w: f"/account/notifications/devices/{w.a.push_device.pk}/remove/",
        by_role(LOGIN, REDIRECT, 404, 404, 404, 404),
        "A's push device (A last: it is removed)",
    ),
    Row(
        "contact/confirm/<str:token>/",
        "GET",
        lambda w: "/contact/confirm/forged-token/",
        everyone(404),
        "forged",
    ),
    Row(
        "contact/confirm/<str:token>/",
        "POST",
        lambda w: "/contact/confirm/forged-token/",
        everyone(404),
        "forged",
    ),
    Row(
        "notifications/unsubscribe/<str:token>/",
        "GET",
        lambda w: "/notifications/unsubscribe/forged-token/",
        everyone(404),
        "forged",
    ),
    Row(
        "notifications/preferences/<str:token>/",
        "GET",
        lambda w: "/notifications/preferences/forged-token/",
        everyone(404),
        "forged signed preferences link",
    ),
    Row(
        "notifications/o/<str:signed>.gif",
        "GET",
        lambda w: "/notifications/o/forged.gif",
        everyone(404),
        "forged",
    ),
    Row(
        "notifications/c/<str:signed>/", "GET", lambda w: "/notifications/c/forged/", everyone(404), "forged"
    ),
    Row(
        "notifications/webhooks/sendgrid/",
        "POST",
        lambda w: "/notifications/webhooks/sendgrid/",
        everyone(403),
        "unsigned",
        body=lambda w: [{"event": "delivered"}],
    ),
    Row(
        "notifications/webhooks/twilio/status/",
        "POST",
        lambda w: "/notifications/webhooks/twilio/status/",
        everyone(403),
        "unsigned",
        body=lambda w: {"MessageStatus": "delivered"},
    ),
    Row(
        "notifications/webhooks/ses/",
        "POST",
        lambda w: "/notifications/webhooks/ses/",
        everyone(403),
        "no basic auth",
        body=lambda w: {"Type": "Notification"},
    ),
    Row("track/<str:token>/pay/", "GET", lambda w: f"/track/{w.a.ticket.tracking_token}/pay/", everyone(200)),
    Row("track/<str:token>/pay/", "GET", lambda w: f"/track/{FORGED}/pay/", everyone(404), "forged"),
    Row(
        "track/<str:token>/pay/stripe/intent/",
        "POST",
        lambda w: f"/track/{FORGED}/pay/stripe/intent/",
        everyone(404),
        "forged",
    ),
    Row(
        "track/<str:token>/pay/stripe/return/",
        "GET",
        lambda w: f"/track/{FORGED}/pay/stripe/return/",
        everyone(404),
        "forged",
    ),
    Row(
        "track/<str:token>/pay/paypal/",
        "POST",
        lambda w: f"/track/{FORGED}/pay/paypal/",
        everyone(404),
        "forged",
    ),
    Row(
        "track/<str:token>/pay/paypal/return/",
        "GET",
        lambda w: f"/track/{FORGED}/pay/paypal/return/",
        everyone(404),
        "forged",
    ),
    Row(
        "track/<str:token>/pay/paypal/cancel/",
        "GET",
        lambda w: f"/track/{FORGED}/pay/paypal/cancel/",
        everyone(404),
        "forged",
    ),
    Row(
        "track/<str:token>/invoices/<str:public_id>/",
        "GET",
        lambda w: f"/track/{w.a.ticket.tracking_token}/invoices/{w.a.invoice.public_id}/",
        everyone(200),
        "A's link, A's invoice",
    ),
    Row(
        "track/<str:token>/invoices/<str:public_id>/",
        "GET",
        lambda w: f"/track/{w.a.ticket.tracking_token}/invoices/{w.b.invoice.public_id}/",
        everyone(404),
        "A's link, B's invoice (IDOR)",
    ),
    Row("account/invoices/", "GET", lambda w: "/account/invoices/", by_role(LOGIN, 200, 200, 200, 200, 200)),
    Row(
        "account/invoices/<str:public_id>/",
        "GET",
        lambda w: f"/account/invoices/{w.a.invoice.public_id}/",
        by_role(LOGIN, 200, 404, 404, 404, 200),
        "A's invoice",
    ),
    Row("webhooks/stripe/", "POST", lambda w: "/webhooks/stripe/", everyone(503), "unsigned, not configured"),
    Row("webhooks/paypal/", "POST", lambda w: "/webhooks/paypal/", everyone(503), "unsigned, not configured"),
    Row("account/login/", "GET", lambda w: "/account/login/", everyone(200)),
    Row("account/logout/", "GET", lambda w: "/account/logout/", everyone(405), "logout is a POST"),
    Row("api/schema/", "GET", lambda w: "/api/schema/", everyone(200)),
    Row("api/docs/", "GET", lambda w: "/api/docs/", everyone(200)),
    Row("api/redoc/", "GET", lambda w: "/api/redoc/", everyone(200)),
    Row("sw.js", "GET", lambda w: "/sw.js", everyone(200)),
    Row("manifest.webmanifest", "GET", lambda w: "/manifest.webmanifest", everyone(200)),
    Row("offline/", "GET", lambda w: "/offline/", everyone(200)),
    Row("healthz", "GET", lambda w: "/healthz", everyone(200)),
    Row("readyz", "GET", lambda w: "/readyz", everyone(200)),
    Row(
        "api/v1/analytics/consent/",
        "GET",
        lambda w: "/api/v1/analytics/consent/",
        everyone(200),
        "the banner's state",
    ),
]

# --- routes added while this suite was written (live dashboard, alerts, metrics, CSP reports) --------
LATE_PAGE_ROWS: list[Row] = [
    Row("dashboard/", "GET", lambda w: "/dashboard/", by_role(LOGIN, 403, 403, 403, 403, 200)),
    Row(
        "dashboard/customers/at-risk/",
        "GET",
        lambda w: "/dashboard/customers/at-risk/",
        by_role(LOGIN, 403, 403, 403, 403, 200),
    ),
    Row(
        "dashboard/ready-by/",
        "GET",
        lambda w: "/dashboard/ready-by/",
        by_role(LOGIN, 403, 403, 403, 403, 200),
    ),
    Row("metrics", "GET", lambda w: "/metrics", by_role(403, 403, 403, 403, 403, 200)),
    Row(
        "csp-report/",
        "POST",
        lambda w: "/csp-report/",
        everyone(204),
        body=lambda w: {"csp-report": {"blocked-uri": "inline"}},
    ),
]

# --- the REST API (token authentication) ---------------------------------------------------------

R = "api/v1/^repairs/(?P<reference>[^/]+)/"


def _api(route: str, method: str, url, expect, label: str = "", body=None) -> Row:
    return Row(route, method, url, expect, label, body=body, api=True)


def _ref(w: World) -> str:
    return w.a.ticket.reference


# A write with an invalid body: the roles allowed through get 400 (and nothing changes); others 401/403/404.
API_ROWS: list[Row] = [
    _api(
        "api/v1/auth/token/",
        "POST",
        lambda w: "/api/v1/auth/token/",
        everyone(400),
        "no credentials",
        lambda w: {},
    ),
    _api("api/v1/^repairs/$", "GET", lambda w: "/api/v1/repairs/", by_role(401, 200, 200, 200, 200, 200)),
    _api(
        R + "$", "GET", lambda w: f"/api/v1/repairs/{_ref(w)}/", by_role(401, 200, 404, 404, 200, 200), "A's"
    ),
    _api(
        R + "events/$",
        "GET",
        lambda w: f"/api/v1/repairs/{_ref(w)}/events/",
        by_role(401, 200, 404, 404, 200, 200),
        "A's",
    ),
    _api(
        R + "milestones/$",
        "GET",
        lambda w: f"/api/v1/repairs/{_ref(w)}/milestones/",
        by_role(401, 200, 404, 404, 200, 200),
        "A's",
    ),
    _api(
        R + "milestones/$",
        "POST",
        lambda w: f"/api/v1/repairs/{_ref(w)}/milestones/",
        by_role(401, 403, 404, 404, 400, 400),
        "A's, invalid body",
        lambda w: {"title": "", "percent": 500},
    ),
    _api(
        R + "notes/$",
        "GET",
        lambda w: f"/api/v1/repairs/{_ref(w)}/notes/",
        by_role(401, 200, 404, 404, 200, 200),
        "A's",
    ),
    _api(
        R + "notes/$",
        "POST",
        lambda w: f"/api/v1/repairs/{_ref(w)}/notes/",
        by_role(401, 403, 404, 404, 400, 400),
        "A's, invalid body",
        lambda w: {"text": ""},
    ),
    _api(
        R + "quote/$",
        "POST",
        lambda w: f"/api/v1/repairs/{_ref(w)}/quote/",
        by_role(401, 403, 404, 404, 400, 400),
        "A's, invalid body",
        lambda w: {"amount": -1},
    ),
    _api(
        R + "quote-decision/$",
        "POST",
        lambda w: f"/api/v1/repairs/{_ref(w)}/quote-decision/",
        by_role(401, 400, 404, 404, 403, 400),
        "A's, invalid body",
        lambda w: {"approved": "maybe"},
    ),
    _api(
        R + "transition/$",
        "POST",
        lambda w: f"/api/v1/repairs/{_ref(w)}/transition/",
        by_role(401, 403, 404, 404, 400, 400),
        "A's, invalid body",
        lambda w: {"status": "no-such-status"},
    ),
    _api(
        "api/v1/realtime/stats/",
        "GET",
        lambda w: "/api/v1/realtime/stats/",
        by_role(401, 403, 403, 403, 403, 200),
    ),
    _api(
        "api/v1/notifications/preferences/",
        "GET",
        lambda w: "/api/v1/notifications/preferences/",
        by_role(401, 200, 200, 403, 403, 403),
    ),
    _api(
        "api/v1/notifications/preferences/",
        "PATCH",
        lambda w: "/api/v1/notifications/preferences/",
        by_role(401, 400, 400, 403, 403, 403),
        "invalid body",
        lambda w: {"preferences": "all"},
    ),
    _api(
        "api/v1/notifications/preferences/",
        "PUT",
        lambda w: "/api/v1/notifications/preferences/",
        by_role(401, 400, 400, 403, 403, 403),
        "invalid body",
        lambda w: {"quiet_hours": {"enabled": "often"}},
    ),
    _api(
        "api/v1/notifications/push-tokens/",
        "GET",
        lambda w: "/api/v1/notifications/push-tokens/",
        by_role(401, 200, 200, 403, 403, 403),
    ),
    _api(
        "api/v1/notifications/push-tokens/",
        "POST",
        lambda w: "/api/v1/notifications/push-tokens/",
        by_role(401, 400, 400, 403, 403, 403),
        "invalid body",
        lambda w: {"token": ""},
    ),
    _api(
        "api/v1/notifications/push-tokens/<int:device_id>/",
        "DELETE",
        lambda w: f"/api/v1/notifications/push-tokens/{w.a.push_device.pk}/",
        by_role(401, 204, 404, 403, 403, 403),
        "A's device (A last: it is removed)",
    ),
    _api(
        "api/v1/notifications/stats/",
        "GET",
        lambda w: "/api/v1/notifications/stats/",
        by_role(401, 403, 403, 403, 403, 200),
    ),
    _api(
        "api/v1/notifications/tickets/<str:reference>/messages/",
        "GET",
        lambda w: f"/api/v1/notifications/tickets/{_ref(w)}/messages/",
        by_role(401, 403, 403, 403, 403, 200),
        "A's",
    ),
    _api("api/v1/^invoices/$", "GET", lambda w: "/api/v1/invoices/", by_role(401, 200, 200, 200, 200, 200)),
    _api(
        "api/v1/^invoices/(?P<public_id>[0-9a-f]{1,16})/$",
        "GET",
        lambda w: f"/api/v1/invoices/{w.a.invoice.public_id}/",
        by_role(401, 200, 404, 404, 404, 200),
        "A's",
    ),
    Row(
        "api/v1/events/",
        "POST",
        lambda w: "/api/v1/events/",
        everyone(400),
        "not a batch, from a browser",
        body=lambda w: {"x": 1},
        api=True,
        headers={"User-Agent": BROWSER_UA},
    ),
    _api(
        "api/v1/analytics/funnels/",
        "GET",
        lambda w: "/api/v1/analytics/funnels/",
        by_role(401, 403, 403, 403, 403, 200),
    ),
    _api(
        "api/v1/analytics/journeys/",
        "GET",
        lambda w: "/api/v1/analytics/journeys/",
        by_role(401, 403, 403, 403, 403, 200),
    ),
    _api(
        "api/v1/analytics/overview/",
        "GET",
        lambda w: "/api/v1/analytics/overview/",
        by_role(401, 403, 403, 403, 403, 200),
    ),
    _api(
        "api/v1/analytics/sessions/",
        "GET",
        lambda w: "/api/v1/analytics/sessions/",
        by_role(401, 403, 403, 403, 403, 200),
    ),
]

STAFF_ONLY_API = by_role(401, 403, 403, 403, 403, 200)
LATE_API_ROWS: list[Row] = [
    _api("api/v1/analytics/alerts/", "GET", lambda w: "/api/v1/analytics/alerts/", STAFF_ONLY_API),
    _api(
        "api/v1/analytics/alerts/subscription/",
        "GET",
        lambda w: "/api/v1/analytics/alerts/subscription/",
        STAFF_ONLY_API,
    ),
    _api(
        "api/v1/analytics/alerts/subscription/",
        "PUT",
        lambda w: "/api/v1/analytics/alerts/subscription/",
        by_role(401, 403, 403, 403, 403, 400),
        "invalid body",
        lambda w: {"channels": "everything"},
    ),
    _api(
        "api/v1/analytics/alerts/<int:pk>/acknowledge/",
        "POST",
        lambda w: "/api/v1/analytics/alerts/999999/acknowledge/",
        by_role(401, 403, 403, 403, 403, 404),
        "no such alert",
    ),
    _api(
        "api/v1/analytics/alerts/<int:pk>/resolve/",
        "POST",
        lambda w: "/api/v1/analytics/alerts/999999/resolve/",
        by_role(401, 403, 403, 403, 403, 404),
        "no such alert",
    ),
    # Customer scoring (staff only; A's score is personal data about A).
    _api(
        "api/v1/analytics/customers/scores/",
        "GET",
        lambda w: "/api/v1/analytics/customers/scores/",
        STAFF_ONLY_API,
    ),
    _api(
        "api/v1/analytics/customers/<int:customer_id>/score/",
        "GET",
        lambda w: f"/api/v1/analytics/customers/{w.a.customer.pk}/score/",
        by_role(401, 403, 403, 403, 403, 404),
        "A's score (not computed in this world)",
    ),
    _api(
        "api/v1/analytics/scoring/models/",
        "GET",
        lambda w: "/api/v1/analytics/scoring/models/",
        STAFF_ONLY_API,
    ),
    _api("api/v1/analytics/web-vitals/", "GET", lambda w: "/api/v1/analytics/web-vitals/", STAFF_ONLY_API),
    _api("api/v1/analytics/dashboard/", "GET", lambda w: "/api/v1/analytics/dashboard/", STAFF_ONLY_API),
    _api(
        "api/v1/analytics/dashboard/live/",
        "GET",
        lambda w: "/api/v1/analytics/dashboard/live/",
        STAFF_ONLY_API,
    ),
]

# --- the admin ---------------------------------------------------------------------------------------

#: What technicians may do per registered model ("view", "change" or nothing); staff may view every
#: model; STAFF_WRITES lists the models staff may add ("add") and delete ("delete") by hand.
TECH_ADMIN = {
    "repairs.repairticket": "change",
    "repairs.customer": "view",
    "repairs.device": "view",
    "repairs.ticketevent": "view",
}
#: Models technicians see only for their assigned tickets (others' objects are "not found").
TECH_SCOPED = set(TECH_ADMIN)
STAFF_WRITES: dict[str, set[str]] = {
    "auth.group": {"add", "delete"},
    "auth.user": {"add", "delete"},
    "authtoken.tokenproxy": {"add", "delete"},
    "repairs.repairticket": {"add"},
    "repairs.customer": {"add", "delete"},
    "repairs.device": {"add", "delete"},
    "notifications.pushdevice": {"delete"},
    "notifications.notificationpreference": {"delete"},
    "notifications.quiethours": {"delete"},
    "notifications.messagetemplate": {"add"},
    "notifications.automationrule": {"add", "delete"},
    "payments.invoice": {"add"},
    "waffle.flag": {"add", "delete"},
    "analytics.deadletterbatch": {"delete"},  # staff discard a dead-lettered batch (or replay it)
}
#: Every registered ModelAdmin whose rights were reviewed for this table (a new one fails the meta-test).
ADMIN_REVIEWED = {
    "auth.group",
    "auth.user",
    "authtoken.tokenproxy",
    "repairs.repairticket",
    "repairs.customer",
    "repairs.device",
    "repairs.ticketevent",
    "repairs.shopprofile",
    "notifications.message",
    "notifications.messagetemplate",
    "notifications.templateversion",
    "notifications.automationrule",
    "notifications.pushdevice",
    "notifications.notificationpreference",
    "notifications.quiethours",
    "payments.invoice",
    "payments.payment",
    "payments.providerevent",
    "payments.reconciliationrun",
    "payments.reconciliationissue",
    "analytics.session",
    "analytics.trackeddevice",
    "analytics.consentrecord",
    "analytics.customerpersonaldata",
    "analytics.alert",
    "analytics.alertsubscription",
    "analytics.customerscore",
    "analytics.scoringmodel",
    "analytics.deadletterbatch",
    "axes.accessattempt",
    "axes.accesslog",
    "axes.accessfailurelog",
    "waffle.flag",
    "flags.flagchange",
}
#: Shop staff (the Staff group) get no rights on these: logins, groups and the lockout records are
#: managed by superusers only.
SUPERUSER_ONLY = {"auth.group", "auth.user", "axes.accessattempt", "axes.accesslog", "axes.accessfailurelog"}
#: Add pages that answer 404 rather than 403 to those who may not add (a custom add view).
ADD_REFUSED = {"payments.invoice": 404}
#: Singletons whose list page goes straight to the one object's change page.
CHANGELIST_REDIRECTS = {"repairs.shopprofile"}


def admin_object_pk(world: World, label: str) -> str:
    """The admin object each model's change/delete/history pages are tried on: A's where it has
    one, else any row, else an id that does not exist."""
    a = world.a
    owned = {
        "auth.group": lambda: Group.objects.get(name="Technicians").pk,
        "auth.user": lambda: a.customer.user_id,
        "authtoken.tokenproxy": lambda: a.customer.user_id,  # the proxy is looked up by its user
        "repairs.repairticket": lambda: a.ticket.pk,
        "repairs.customer": lambda: a.customer.pk,
        "repairs.device": lambda: a.ticket.device_id,
        "repairs.ticketevent": lambda: a.ticket.events.first().pk,
        "notifications.message": lambda: a.message.pk,
        "notifications.pushdevice": lambda: a.push_device.pk,
        "notifications.quiethours": lambda: a.customer.quiet_hours.pk,
        "notifications.notificationpreference": lambda: a.customer.notification_preferences.first().pk,
        "payments.invoice": lambda: a.invoice.pk,
        "payments.payment": lambda: a.payment.pk,
        "analytics.session": lambda: a.session.pk,
        "analytics.trackeddevice": lambda: a.tracked_device.pk,
        "analytics.consentrecord": lambda: a.consent.pk,
        "analytics.customerpersonaldata": lambda: a.customer.pk,
    }
    if label in owned:
        return str(owned[label]())
    model = next(m for m in admin.site._registry if m._meta.label_lower == label)
    first = model._default_manager.order_by("pk").first()
    return str(first.pk) if first is not None else "999999"


def _admin_expect(label: str, view: str, object_exists: bool) -> dict[str, Expect]:
    """The policy: anonymous and customers are sent to the admin login; technicians get their
    models (others 403), scoped to their tickets; staff every model but the superuser-only ones,
    writes where allowed. Django's order of checks decides between 403 and "not found": the
    change and delete pages check the permission first, the history page looks the object up first."""
    writes = STAFF_WRITES.get(label, set())

    def expect(can_view: bool, can_add: bool, can_delete: bool, visible: bool) -> Expect:
        if view == "changelist":
            return (REDIRECT if label in CHANGELIST_REDIRECTS else 200) if can_view else 403
        if view == "add":
            return 200 if can_add else ADD_REFUSED.get(label, 403)
        if view == "history":
            return ADMIN_GONE if not visible else (200 if can_view else 403)
        allowed = can_delete if view == "delete" else can_view
        return 403 if not allowed else (200 if visible else ADMIN_GONE)

    def tech(assigned: bool) -> Expect:
        level = TECH_ADMIN.get(label)
        return expect(bool(level), False, False, object_exists and (assigned or label not in TECH_SCOPED))

    staff_sees = label not in SUPERUSER_ONLY
    staff = expect(
        staff_sees, staff_sees and "add" in writes, staff_sees and "delete" in writes, object_exists
    )
    return by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, tech(False), tech(True), staff)


ADMIN_VIEWS = {
    "changelist": "admin/{app}/{model}/",
    "add": "admin/{app}/{model}/add/",
    "history": "admin/{app}/{model}/<path:object_id>/history/",
    "delete": "admin/{app}/{model}/<path:object_id>/delete/",
    "change": "admin/{app}/{model}/<path:object_id>/change/",
}
#: The redirect Django adds for old-style ``admin/app/model/<id>/`` links.
ADMIN_LEGACY = "admin/{app}/{model}/<path:object_id>/"


def admin_rows(world: World | None = None) -> list[Row]:
    """One row per registered ModelAdmin and standard view (changelist/add/change/delete/history)."""
    rows = []
    for model in admin.site._registry:
        app, name = model._meta.app_label, model._meta.model_name
        label = f"{app}.{name}"
        for view, pattern in ADMIN_VIEWS.items():

            def url(w: World, app=app, name=name, view=view, label=label) -> str:
                if view in {"changelist", "add"}:
                    return f"/admin/{app}/{name}/" + ("add/" if view == "add" else "")
                return f"/admin/{app}/{name}/{admin_object_pk(w, label)}/{view}/"

            exists = True
            if world is not None and view not in {"changelist", "add"}:
                exists = admin_object_pk(world, label) != "999999"
            rows.append(
                Row(
                    pattern.format(app=app, model=name),
                    "GET",
                    url,
                    _admin_expect(label, view, exists),
                    label=f"{label} {view}",
                )
            )
    return rows


def _ct(w: World) -> int:
    from repairs.models import RepairTicket

    return ContentType.objects.get_for_model(RepairTicket).pk


ADMIN_SITE_ROWS: list[Row] = [
    Row("admin/", "GET", lambda w: "/admin/", by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 200, 200)),
    Row(
        "admin/login/",
        "GET",
        lambda w: "/admin/login/",
        by_role(200, 200, 200, ADMIN_GONE, ADMIN_GONE, ADMIN_GONE),
    ),
    Row(
        "admin/logout/",
        "GET",
        lambda w: "/admin/logout/",
        by_role(ADMIN_GONE, ADMIN_GONE, ADMIN_GONE, 405, 405, 405),
        "logout is a POST",
    ),
    Row(
        "admin/password_change/",
        "GET",
        lambda w: "/admin/password_change/",
        by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 200, 200),
    ),
    Row(
        "admin/password_change/done/",
        "GET",
        lambda w: "/admin/password_change/done/",
        by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 200, 200),
    ),
    Row(
        "admin/autocomplete/",
        "GET",
        lambda w: "/admin/autocomplete/",
        by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),
        "no parameters",
    ),
    Row(
        "admin/jsi18n/",
        "GET",
        lambda w: "/admin/jsi18n/",
        by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 200, 200),
    ),
    Row(
        "admin/r/<path:content_type_id>/<path:object_id>/",
        "GET",
        lambda w: f"/admin/r/{_ct(w)}/{w.a.ticket.pk}/",
        by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 404, REDIRECT, REDIRECT),
        "view on site: A's ticket (its tracking link)",
    ),
    Row(
        "admin/r/<path:content_type_id>/<path:object_id>/",
        "GET",
        lambda w: f"/admin/r/{_ct(w)}/{w.b.ticket.pk}/",
        by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 404, 404, REDIRECT),
        "view on site: B's ticket (its tracking link)",
    ),
    Row(
        "admin/^(?P<app_label>auth|authtoken|waffle|flags|repairs|notifications|payments|analytics|axes)/$",
        "GET",
        lambda w: "/admin/repairs/",
        by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 200, 200),
        "app index: repairs",
    ),
    Row(
        "admin/^(?P<app_label>auth|authtoken|waffle|flags|repairs|notifications|payments|analytics|axes)/$",
        "GET",
        lambda w: "/admin/payments/",
        by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 404, 404, 200),
        "app index: payments",
    ),
    Row(
        "admin/(?P<url>.*)$",
        "GET",
        lambda w: "/admin/no-such-page/",
        by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 404, 404, 404),
        "catch-all",
    ),
    # Custom admin pages.
    Row(
        "admin/auth/user/<id>/password/",
        "GET",
        lambda w: f"/admin/auth/user/{w.a.customer.user_id}/password/",
        by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),  # superusers only
        "A's login",
    ),
    Row(
        "admin/notifications/message/ticket/<str:reference>/",
        "GET",
        lambda w: f"/admin/notifications/message/ticket/{w.a.ticket.reference}/",
        by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 200),
        "A's delivery timeline",
    ),
    Row(
        "admin/notifications/message/stats/",
        "GET",
        lambda w: "/admin/notifications/message/stats/",
        by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 200),
    ),
    Row(
        "admin/notifications/messagetemplate/<int:template_id>/preview/",
        "GET",
        lambda w: (
            f"/admin/notifications/messagetemplate/{MessageTemplate.objects.order_by('pk').first().pk}/preview/"
        ),
        by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 200),
    ),
    Row(
        "admin/notifications/messagetemplate/<int:template_id>/preview/email.html",
        "GET",
        lambda w: (
            f"/admin/notifications/messagetemplate/{MessageTemplate.objects.order_by('pk').first().pk}"
            "/preview/email.html"
        ),
        by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 200),
        "the email preview frame",
    ),
    Row(
        "admin/payments/invoice/<int:object_id>/edit/",
        "GET",
        lambda w: f"/admin/payments/invoice/{w.a.invoice.pk}/edit/",
        by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 404, 404, REDIRECT),
        "A's issued invoice (only drafts are edited)",
    ),
    Row(
        "admin/payments/invoice/^(?P<object_id>\\d+)/(?P<action>issue|void|counter)/$",
        "GET",
        lambda w: f"/admin/payments/invoice/{w.a.invoice.pk}/void/",
        by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 404, 404, 200),
        "A's invoice: the void form",
    ),
    Row(
        "admin/payments/payment/<int:object_id>/refund/",
        "GET",
        lambda w: f"/admin/payments/payment/{w.a.payment.pk}/refund/",
        by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 404, 404, 200),
        "A's payment: the refund form",
    ),
    Row(
        "admin/payments/reconciliationrun/run/",
        "GET",
        lambda w: "/admin/payments/reconciliationrun/run/",
        by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 404, 404, 200),
    ),
]

# --- WebSockets --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WsRow:
    route: str
    path: Callable[[World], str]
    expect: dict[str, Expect]
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or self.route


WS_ROWS: list[WsRow] = [
    WsRow(
        "ws/repairs/<str:reference>/",
        lambda w: f"/ws/repairs/{w.a.ticket.reference}/",
        by_role(CLOSE, ACCEPT, CLOSE, CLOSE, ACCEPT, ACCEPT),
        "A's room, logged in",
    ),
    WsRow(
        "ws/repairs/<str:reference>/",
        lambda w: f"/ws/repairs/{w.a.ticket.reference}/?token={w.a.ticket.tracking_token}",
        everyone(ACCEPT),
        "A's room with A's ?token=",
    ),
    WsRow(
        "ws/repairs/<str:reference>/",
        lambda w: f"/ws/repairs/{w.a.ticket.reference}/?token={w.b.ticket.tracking_token}",
        by_role(CLOSE, ACCEPT, CLOSE, CLOSE, ACCEPT, ACCEPT),
        "A's room with B's ?token= (IDOR)",
    ),
    WsRow("ws/technician/", lambda w: "/ws/technician/", by_role(CLOSE, CLOSE, CLOSE, ACCEPT, ACCEPT, CLOSE)),
    WsRow("ws/staff/", lambda w: "/ws/staff/", by_role(CLOSE, CLOSE, CLOSE, CLOSE, CLOSE, ACCEPT)),
    WsRow("ws/dashboard/", lambda w: "/ws/dashboard/", by_role(CLOSE, CLOSE, CLOSE, CLOSE, CLOSE, ACCEPT)),
]


def http_rows(world: World | None = None) -> list[Row]:
    return [*PAGE_ROWS, *LATE_PAGE_ROWS, *API_ROWS, *LATE_API_ROWS, *ADMIN_SITE_ROWS, *admin_rows(world)]


def covered_routes() -> set[str]:
    return {row.route for row in http_rows()} | {
        ADMIN_LEGACY.format(app=m._meta.app_label, model=m._meta.model_name) for m in admin.site._registry
    }


def body_of(row: Row, world: World) -> Any:
    data = row.body(world) if row.body else None
    if row.api and data is not None:
        return json.dumps(data)
    return data


__all__ = [
    "ACCEPT",
    "ADMIN_GONE",
    "ADMIN_LOGIN",
    "ANONYMOUS",
    "CLOSE",
    "CUSTOMER_A",
    "CUSTOMER_B",
    "LOGIN",
    "REDIRECT",
    "STAFF",
    "TECH_ASSIGNED",
    "TECH_UNASSIGNED",
    "WS_ROWS",
    "Row",
    "WsRow",
    "covered_routes",
    "http_rows",
]
