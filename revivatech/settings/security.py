"""Security settings: Content-Security-Policy and other headers, login lockout (django-axes),
rate limits, request size limits. Every value from the environment with a safe default; the README's
"Reliability and security" section lists them.

Imported last by ``settings/__init__.py`` (it reads ``PRODUCTION`` and ``PHOTO_MAX_UPLOAD_BYTES``).
"""

from datetime import timedelta

from csp.constants import NONE, SELF

from ..env import env_bool, env_int, env_list, env_str
from .base import PHOTO_MAX_UPLOAD_BYTES, PRODUCTION

# --- Content-Security-Policy (django-csp 4) ---
#: Where browsers post violation reports (logged by revivatech.security.views.csp_report).
SECURITY_CSP_REPORT_URI = env_str("CSP_REPORT_URI", "/csp-report/")
SECURITY_CSP_REPORT_MAX_BYTES = 16 * 1024
#: The site-wide policy: nothing inline, nothing third-party. Views widen it narrowly
#: (revivatech.security.csp.pay_page_csp for Stripe; the ReDoc page for its run-time styles).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        # ws(s)://<this host> is added per request by SiteCSPMiddleware.
        "connect-src": [SELF],
        "manifest-src": [SELF],
        "worker-src": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "object-src": [NONE],
        **({"report-uri": SECURITY_CSP_REPORT_URI} if SECURITY_CSP_REPORT_URI else {}),
        **({"upgrade-insecure-requests": True} if PRODUCTION else {}),
    },
}
#: Set CSP_REPORT_ONLY=1 to roll a policy change out as Content-Security-Policy-Report-Only first.
if env_bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = CONTENT_SECURITY_POLICY
    CONTENT_SECURITY_POLICY = None

# --- Other headers (Django's SecurityMiddleware sends most; see base.py for HSTS/SSL/cookies) ---
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = env_str("DJANGO_REFERRER_POLICY", "strict-origin-when-cross-origin")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
PERMISSIONS_POLICY = env_str(
    "PERMISSIONS_POLICY",
    "camera=(), microphone=(), geolocation=(), usb=(), serial=(), midi=(), "
    "magnetometer=(), gyroscope=(), accelerometer=(), display-capture=(), "
    'payment=(self "https://js.stripe.com")',
)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# CSRF_COOKIE_HTTPONLY stays False: the consent banner's script (analytics/consent.js) reads the
# token from the cookie, as Django's docs describe; the cookie is still Secure and SameSite=Lax.

# --- Login brute force: django-axes (site login, admin login, API token endpoint) ---
AXES_ENABLED = env_bool("AXES_ENABLED", default=True)
#: Failures allowed per (username, client IP) before the lockout.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
#: Failures allowed per client IP over all usernames (password spraying) within the cool-off;
#: higher than the per-user limit, since an office or the shop's counter share one address. 0: off.
AXES_IP_FAILURE_LIMIT = env_int("AXES_IP_FAILURE_LIMIT", 30)
AXES_HANDLER = "revivatech.security.axes_handler.LoginLockoutHandler"
AXES_RESET_ON_SUCCESS = True
#: No record of successful logins (personal data with no use here); failures expire with the cool-off.
AXES_DISABLE_ACCESS_LOG = True
AXES_USE_ATTEMPT_EXPIRATION = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "revivatech.security.views.lockout_response"
AXES_CLIENT_IP_CALLABLE = "revivatech.security.ratelimit.client_ip_of"
AXES_VERBOSE = False

# --- Rate limits (DRF throttles in revivatech.security.ratelimit; "N/second|minute|hour|day") ---
SECURITY_RATE_LIMITS = {
    # Booking a repair: the page form (and any future booking API), per client IP and per user.
    "booking_ip": env_str("RATE_LIMIT_BOOKING_IP", "10/hour"),
    "booking_user": env_str("RATE_LIMIT_BOOKING_USER", "5/hour"),
    # Every API write (POST/PUT/PATCH/DELETE), per client IP and per signed-in user (token).
    "api_write_ip": env_str("RATE_LIMIT_API_WRITE_IP", "120/minute"),
    "api_write_user": env_str("RATE_LIMIT_API_WRITE_USER", "60/minute"),
}
#: Usernames these limits never apply to (comma-separated; empty, the default, exempts nobody). For a
#: benchmark's own throw-away account on its own server (``benchmarks/realtime_latency.py`` lists its
#: ``bench-staff``), never for people: everyone else stays limited, on the same IP too.
RATE_LIMIT_EXEMPT_USERNAMES = frozenset(env_list("RATE_LIMIT_EXEMPT_USERNAMES", []))
# Event ingestion keeps its own limits (ANALYTICS_RATE_LIMIT_*: per hashed IP and per visitor,
# one pipelined Redis round trip per batch, 429 + Retry-After), see settings/analytics.py.

# --- Request and upload sizes ---
#: Largest request body accepted at all (413 before the body is read); covers the photo upload.
REQUEST_MAX_BODY_BYTES = env_int("REQUEST_MAX_BODY_BYTES", PHOTO_MAX_UPLOAD_BYTES + 1024 * 1024)
#: Non-file form or JSON data held in memory (Django refuses more with a 400).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int("DATA_UPLOAD_MAX_NUMBER_FIELDS", 1000)
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("DATA_UPLOAD_MAX_NUMBER_FILES", 20)

#: django-axes checks every login (site, admin, API token) before Django's own backend.
AUTHENTICATION_BACKENDS = [
    "revivatech.security.backends.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
