"""Settings of the notifications app (from the environment, with embedded defaults).

Without any provider keys the site still runs: email goes to files in EMAIL_FILE_PATH (var/mail/), and SMS and
push are "not configured" (those channels are skipped, with the reason recorded on the message).
The README's Notifications section lists every variable.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from ..env import env_bool, env_int, env_list, env_str
from .base import REDIS_URL, SHOP_NAME, SITE_URL, VAR_DIR


def _env_float(name: str, default: float) -> float:
    raw = env_str(name)
    if not raw.strip():
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from exc


# --- Email: Django's SMTP backend (Gmail too), SendGrid, Amazon SES (anymail), files, console -----
#: The sender of every email: DEFAULT_FROM_EMAIL (NOTIFICATIONS_FROM_EMAIL, its older name, still
#: works). The @localhost default is for development only: with DJANGO_PRODUCTION=1 the system
#: check notifications.E004 refuses to start (migrate, check, runserver) until it is a real address.
NOTIFICATIONS_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or env_str(
    "NOTIFICATIONS_FROM_EMAIL", f"{SHOP_NAME} <no-reply@localhost>"
)
NOTIFICATIONS_REPLY_TO = env_str("NOTIFICATIONS_REPLY_TO", "")

# Django's own SMTP settings (also used by Django itself, e.g. error mails to admins).
# Gmail: EMAIL_HOST=smtp.gmail.com EMAIL_PORT=587 EMAIL_USE_TLS=1 and an app password.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=bool(EMAIL_HOST) and EMAIL_PORT == 587)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=EMAIL_PORT == 465)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
#: Without EMAIL_HOST (development) every email, the site's and Django's own, is written to a file
#: here (one .log file per message) instead of flooding the terminal with raw email source.
EMAIL_FILE_PATH = Path(env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail")))
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.filebased.EmailBackend"
)
DEFAULT_FROM_EMAIL = NOTIFICATIONS_FROM_EMAIL
SERVER_EMAIL = env_str("SERVER_EMAIL", NOTIFICATIONS_FROM_EMAIL)

SENDGRID_API_KEY = env_str("SENDGRID_API_KEY", "")
SENDGRID_API_BASE_URL = env_str("SENDGRID_API_BASE_URL", "https://api.sendgrid.com")
#: The "Signed Event Webhook" verification key from SendGrid (base64 DER, as shown by SendGrid).
SENDGRID_WEBHOOK_PUBLIC_KEY = env_str("SENDGRID_WEBHOOK_PUBLIC_KEY", "")

#: Amazon SES through django-anymail (boto3 reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY itself).
AMAZON_SES_REGION = env_str("AMAZON_SES_REGION", "")
AMAZON_SES_ENDPOINT_URL = env_str("AMAZON_SES_ENDPOINT_URL", "")
AMAZON_SES_CONFIGURATION_SET = env_str("AMAZON_SES_CONFIGURATION_SET", "")
#: "user:password" that the SNS subscription URL carries (anymail's WEBHOOK_SECRET).
AMAZON_SES_WEBHOOK_SECRET = env_str("AMAZON_SES_WEBHOOK_SECRET", "")

# --- SMS: Twilio ------------------------------------------------------------------------------------
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER", "")
TWILIO_MESSAGING_SERVICE_SID = env_str("TWILIO_MESSAGING_SERVICE_SID", "")
TWILIO_API_BASE_URL = env_str("TWILIO_API_BASE_URL", "https://api.twilio.com")
#: Numbers written without a country code (07700 900123) get this one (UK by default).
NOTIFICATIONS_SMS_DEFAULT_COUNTRY_CODE = env_str("NOTIFICATIONS_SMS_DEFAULT_COUNTRY_CODE", "44")

# --- Push: Firebase Cloud Messaging (firebase-admin) ------------------------------------------------
#: The service-account JSON itself, or a path to it.
FCM_SERVICE_ACCOUNT_JSON = env_str("FCM_SERVICE_ACCOUNT_JSON", "")
FCM_SERVICE_ACCOUNT_FILE = env_str("FCM_SERVICE_ACCOUNT_FILE", "")
FCM_PROJECT_ID = env_str("FCM_PROJECT_ID", "")
FCM_API_BASE_URL = env_str("FCM_API_BASE_URL", "https://fcm.googleapis.com")


def _default_providers() -> dict[str, list[str]]:
    email: list[str] = []
    if SENDGRID_API_KEY:
        email.append("sendgrid")
    if AMAZON_SES_REGION:
        email.append("ses")
    if EMAIL_HOST:
        email.append("smtp")
    if not email:
        email.append("file")
    sms = ["twilio"] if TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN else []
    push = ["fcm"] if FCM_SERVICE_ACCOUNT_JSON or FCM_SERVICE_ACCOUNT_FILE else []
    return {"email": email, "sms": sms, "push": push}


_DEFAULTS = _default_providers()
#: Providers per channel, in failover order: when one is down the next takes over.
NOTIFICATIONS_PROVIDERS: dict[str, list[str]] = {
    "email": env_list("NOTIFICATIONS_EMAIL_PROVIDERS", _DEFAULTS["email"]),
    "sms": env_list("NOTIFICATIONS_SMS_PROVIDERS", _DEFAULTS["sms"]),
    "push": env_list("NOTIFICATIONS_PUSH_PROVIDERS", _DEFAULTS["push"]),
}
#: Every SDK call has this timeout (seconds); the SendGrid and Twilio clients have none by default.
NOTIFICATIONS_PROVIDER_TIMEOUT = _env_float("NOTIFICATIONS_PROVIDER_TIMEOUT", 10.0)
#: How long a provider that failed (5xx, timeout, refused) is skipped in favour of the next one.
NOTIFICATIONS_PROVIDER_COOLDOWN_SECONDS = 30

# --- Outbox and workers -----------------------------------------------------------------------------
NOTIFICATIONS_MAX_ATTEMPTS = env_int("NOTIFICATIONS_MAX_ATTEMPTS", 6)
#: Contact details typed into the public booking form are unconfirmed until the customer confirms
#: them (link in the booking email) or brings the device in: no texts until then, and emails to
#: them capped per address and in total over any 24 hours.
NOTIFICATIONS_UNCONFIRMED_PER_ADDRESS_DAILY = env_int("NOTIFICATIONS_UNCONFIRMED_PER_ADDRESS_DAILY", 3)
NOTIFICATIONS_UNCONFIRMED_DAILY_BUDGET = env_int("NOTIFICATIONS_UNCONFIRMED_DAILY_BUDGET", 200)
#: Backoff: base * 2**(attempt-1), capped, with jitter (half fixed, half random).
NOTIFICATIONS_RETRY_BASE_SECONDS = _env_float("NOTIFICATIONS_RETRY_BASE_SECONDS", 30.0)
NOTIFICATIONS_RETRY_MAX_SECONDS = _env_float("NOTIFICATIONS_RETRY_MAX_SECONDS", 3600.0)
#: A worker owns the rows it claimed for this long; after that the sweeper takes them back.
NOTIFICATIONS_LEASE_SECONDS = env_int("NOTIFICATIONS_LEASE_SECONDS", 120)
NOTIFICATIONS_BATCH_SIZE = env_int("NOTIFICATIONS_BATCH_SIZE", 50)
#: How often Celery beat runs the sweeper (re-enqueue due rows, recover expired leases).
NOTIFICATIONS_SWEEP_SECONDS = env_int("NOTIFICATIONS_SWEEP_SECONDS", 15)
#: A due row whose task was published this long ago and is still queued is published again.
NOTIFICATIONS_REENQUEUE_AFTER_SECONDS = env_int("NOTIFICATIONS_REENQUEUE_AFTER_SECONDS", 60)
#: Retries due within this many seconds also get a Celery countdown (far below the Redis
#: visibility timeout); longer waits live only in the row's not_before, swept by beat.
NOTIFICATIONS_MAX_COUNTDOWN_SECONDS = 60

# --- Rate limits ------------------------------------------------------------------------------------
#: "channel:provider=N/s,N/m,N/h,N/d;…", enforced across all workers (Redis sliding windows).
#: A provider without an entry is not limited; "channel:*" limits a whole channel.
NOTIFICATIONS_RATE_LIMITS_SPEC = env_str(
    "NOTIFICATIONS_RATE_LIMITS",
    "email:sendgrid=100/s;email:ses=14/s,50000/d;email:smtp=5/s,2000/d;sms:twilio=10/s,10000/d;push:fcm=500/s",
)
#: Per-second limits are paced (one send every 1/N s); this share of N may go ahead of the pace.
NOTIFICATIONS_RATE_BURST = _env_float("NOTIFICATIONS_RATE_BURST", 0.05)
#: A worker waits inline for a token when it comes within this many seconds; longer, the message
#: is deferred (not_before) and the worker moves on.
NOTIFICATIONS_MAX_INLINE_WAIT_SECONDS = _env_float("NOTIFICATIONS_MAX_INLINE_WAIT_SECONDS", 1.0)
NOTIFICATIONS_REDIS_URL = env_str("NOTIFICATIONS_REDIS_URL", REDIS_URL)
NOTIFICATIONS_REDIS_PREFIX = env_str("NOTIFICATIONS_REDIS_PREFIX", "revivatech:notifications")

# --- Quiet hours --------------------------------------------------------------------------------
#: The default window in the customer's time zone ("HH:MM-HH:MM"); customers may change theirs.
NOTIFICATIONS_QUIET_HOURS = env_str("NOTIFICATIONS_QUIET_HOURS", "21:00-08:00")
#: Channels that wait for the end of quiet hours (urgent messages never wait).
NOTIFICATIONS_QUIET_HOURS_CHANNELS = env_list("NOTIFICATIONS_QUIET_HOURS_CHANNELS", ["sms", "push"])

# --- Tracking and webhooks ----------------------------------------------------------------------
#: The public origin of this site, used for tracking links and to check Twilio signatures
#: (Twilio signs the exact URL it called).
NOTIFICATIONS_PUBLIC_URL = env_str("NOTIFICATIONS_PUBLIC_URL", SITE_URL).rstrip("/")
#: How long the signed "choose which messages you get" link in an email keeps working.
NOTIFICATIONS_PREFERENCES_LINK_MAX_AGE_DAYS = env_int("NOTIFICATIONS_PREFERENCES_LINK_MAX_AGE_DAYS", 365)
NOTIFICATIONS_TRACK_OPENS = env_bool("NOTIFICATIONS_TRACK_OPENS", default=True)
NOTIFICATIONS_TRACK_CLICKS = env_bool("NOTIFICATIONS_TRACK_CLICKS", default=True)
#: Signed webhooks older than this are refused (replays); duplicates are dropped by event id.
NOTIFICATIONS_WEBHOOK_TOLERANCE_SECONDS = env_int("NOTIFICATIONS_WEBHOOK_TOLERANCE_SECONDS", 600)


#: Periodic Celery tasks of this app (merged into CELERY_BEAT_SCHEDULE).
NOTIFICATIONS_BEAT_SCHEDULE: dict = {
    "notifications-sweep-outbox": {
        "task": "notifications.sweep",
        "schedule": float(NOTIFICATIONS_SWEEP_SECONDS),
        # on the urgent queue (see revivatech/celery.py), so a bulk backlog never delays it
        "options": {"queue": "notifications.urgent", "expires": float(NOTIFICATIONS_SWEEP_SECONDS)},
    },
}
