"""Settings of the payments app (from the environment, with embedded defaults).

With no provider keys the site runs and the pay panel says that online payment is not set up.
Keys and secrets come only from the environment; nothing secret lives in the repository.
"""

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from ..env import env_bool, env_int, env_list, env_str  # noqa: F401

# --- Stripe (PaymentIntents + Payment Element) ---
#: Secret API key (sk_live_… / sk_test_…) and the publishable key used by Stripe.js on the pay page.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY")
#: The endpoint secret (whsec_…) of the /webhooks/stripe/ endpoint.
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
#: Seconds a signed webhook stays valid (Stripe's own default is 300).
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env_int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300)
#: Empty: Stripe's own API host. Tests point it at a loopback fake.
STRIPE_API_BASE = env_str("STRIPE_API_BASE")
STRIPE_TIMEOUT_SECONDS = env_int("STRIPE_TIMEOUT_SECONDS", 20)
#: Retries of failed requests inside the SDK (same idempotency key, so never a double charge).
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2)
#: Stripe.js, loaded only on the pay page.
STRIPE_JS_URL = env_str("STRIPE_JS_URL", "https://js.stripe.com/v3/")

# --- PayPal (Orders v2, redirect to PayPal to approve, captured by the server) ---
PAYPAL_CLIENT_ID = env_str("PAYPAL_CLIENT_ID")
PAYPAL_CLIENT_SECRET = env_str("PAYPAL_CLIENT_SECRET")
#: The id PayPal gave the /webhooks/paypal/ webhook (needed to verify its signatures).
PAYPAL_WEBHOOK_ID = env_str("PAYPAL_WEBHOOK_ID")
#: "sandbox" or "live".
PAYPAL_ENVIRONMENT = env_str("PAYPAL_ENVIRONMENT", "sandbox")
if PAYPAL_ENVIRONMENT not in ("sandbox", "live"):
    raise ImproperlyConfigured(f"PAYPAL_ENVIRONMENT must be 'sandbox' or 'live', got {PAYPAL_ENVIRONMENT!r}")
#: Empty: the environment's own API host. Tests point it at a loopback fake.
PAYPAL_API_BASE = env_str("PAYPAL_API_BASE")
PAYPAL_TIMEOUT_SECONDS = env_int("PAYPAL_TIMEOUT_SECONDS", 20)
#: Retries of 5xx/429 answers inside the SDK (PayPal-Request-Id makes POSTs safe to repeat).
PAYPAL_MAX_RETRIES = env_int("PAYPAL_MAX_RETRIES", 2)
#: A webhook whose PAYPAL-TRANSMISSION-TIME is older than this is refused (each redelivery is a
#: new transmission with a new time).
PAYPAL_WEBHOOK_TOLERANCE_SECONDS = env_int("PAYPAL_WEBHOOK_TOLERANCE_SECONDS", 900)

# --- Invoices ---
#: Tax rate in basis points (2000 = 20 % VAT) used for new invoices.
PAYMENTS_TAX_RATE_BASIS_POINTS = env_int("PAYMENTS_TAX_RATE_BASIS_POINTS", 2000)
#: Whether line prices (and quotes) already include tax, as UK consumer prices do.
PAYMENTS_PRICES_INCLUDE_TAX = env_bool("PAYMENTS_PRICES_INCLUDE_TAX", default=True)

# --- Reconciliation ---
#: Days the periodic reconciliation looks back.
PAYMENTS_RECONCILE_DAYS = env_int("PAYMENTS_RECONCILE_DAYS", 3)
PAYMENTS_RECONCILE_HOUR_UTC = env_int("PAYMENTS_RECONCILE_HOUR_UTC", 4)

#: Periodic Celery tasks of this app (merged into CELERY_BEAT_SCHEDULE).
PAYMENTS_BEAT_SCHEDULE: dict = {
    "payments-reconcile": {
        "task": "payments.tasks.reconcile_payments",
        "schedule": crontab(minute=17, hour=PAYMENTS_RECONCILE_HOUR_UTC),
    },
}
