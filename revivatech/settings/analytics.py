"""Settings of the analytics app (from the environment, with embedded defaults).

The README's Analytics section lists every variable. Nothing here is a secret: the visitor-hash salts are
random values kept in the database and rotated daily, never configured.
"""

from celery.schedules import crontab

from ..env import env_bool, env_int, env_list, env_str

#: Master switch for the tracker on customer pages (ingestion keeps answering either way).
ANALYTICS_ENABLED = env_bool("ANALYTICS_ENABLED", default=True)

# --- Where events go -----------------------------------------------------------------------------
#: ``direct``: each request stores its batch (the embedded default, SQLite or PostgreSQL);
#: ``redis``: requests append their batch to a Redis stream and a Celery beat task flushes it into
#: the database in large batches; ``auto``: ``redis`` when REDIS_URL is set, else ``direct``.
ANALYTICS_BUFFER = env_str("ANALYTICS_BUFFER", "auto")
ANALYTICS_REDIS_URL = env_str("ANALYTICS_REDIS_URL", env_str("REDIS_URL"))
ANALYTICS_STREAM_KEY = env_str(
    "ANALYTICS_STREAM_KEY", env_str("CACHE_KEY_PREFIX", "revivatech") + ":analytics:events"
)
#: How often the beat task drains the stream, and how many events go into one database transaction.
ANALYTICS_FLUSH_INTERVAL_SECONDS = env_int("ANALYTICS_FLUSH_INTERVAL_SECONDS", 5)
ANALYTICS_FLUSH_MAX_EVENTS = env_int("ANALYTICS_FLUSH_MAX_EVENTS", 20_000)

# --- Ingestion limits ------------------------------------------------------------------------------
ANALYTICS_MAX_BODY_BYTES = env_int("ANALYTICS_MAX_BODY_BYTES", 64 * 1024)
ANALYTICS_MAX_BATCH_EVENTS = env_int("ANALYTICS_MAX_BATCH_EVENTS", 100)
#: Events older than this (by the client's clock, corrected for its skew) are refused.
ANALYTICS_MAX_EVENT_AGE_HOURS = 24
#: Requests per minute to POST /api/v1/events/ per client IP (hashed) and per visitor; 0 = no limit.
ANALYTICS_RATE_LIMIT_IP_PER_MINUTE = env_int("ANALYTICS_RATE_LIMIT_IP_PER_MINUTE", 300)
ANALYTICS_RATE_LIMIT_VISITOR_PER_MINUTE = env_int("ANALYTICS_RATE_LIMIT_VISITOR_PER_MINUTE", 120)

#: Rows stay bounded whatever strangers send: per UTC day, at most this many distinct paths that are
#: not pages of the site (the first ones seen), and this many distinct values of each of utm_source,
#: utm_medium and utm_campaign; later ones are stored and counted as "(other)".
ANALYTICS_MAX_UNKNOWN_PATHS_PER_DAY = 500
ANALYTICS_MAX_UTM_VALUES_PER_DAY = 200
#: Longer UTM values are cut to this length (at most 100, the column size).
ANALYTICS_UTM_MAX_LENGTH = 100

# --- Client IP and country -------------------------------------------------------------------------
#: Proxies (IP addresses or CIDR networks) whose X-Forwarded-For is believed. Empty: REMOTE_ADDR only.
ANALYTICS_TRUSTED_PROXIES = env_list("ANALYTICS_TRUSTED_PROXIES", [])
#: Path to a MaxMind GeoIP2/GeoLite2 Country or City database (.mmdb). Empty: no GeoIP lookups.
ANALYTICS_GEOIP_DATABASE = env_str("ANALYTICS_GEOIP_DATABASE", "")
#: A request header set by a trusted proxy with the visitor's ISO country, in Django's META form
#: (``HTTP_CF_IPCOUNTRY``) or as sent (``CF-IPCountry``). Empty: never read.
ANALYTICS_COUNTRY_HEADER = env_str("ANALYTICS_COUNTRY_HEADER", "")

# --- Identity, consent and sessions ------------------------------------------------------------------
#: The site name mixed into the anonymous visitor hash (default: the host of SITE_URL).
ANALYTICS_SITE = env_str("ANALYTICS_SITE", "")
#: Version of the consent text; raising it asks everyone again.
ANALYTICS_CONSENT_VERSION = env_str("ANALYTICS_CONSENT_VERSION", "1")
ANALYTICS_CONSENT_COOKIE = env_str("ANALYTICS_CONSENT_COOKIE", "rt_consent")
ANALYTICS_DEVICE_COOKIE = env_str("ANALYTICS_DEVICE_COOKIE", "rt_did")
ANALYTICS_COOKIE_MAX_AGE_DAYS = env_int("ANALYTICS_COOKIE_MAX_AGE_DAYS", 365)
ANALYTICS_SESSION_TIMEOUT_MINUTES = env_int("ANALYTICS_SESSION_TIMEOUT_MINUTES", 30)
ANALYTICS_SESSION_MAX_HOURS = 24
#: Pages kept per session for journeys (consecutive repeats collapsed).
ANALYTICS_JOURNEY_MAX_PAGES = 50

# --- Tracker ------------------------------------------------------------------------------------------
#: Path prefixes where the tracker is never loaded (staff and machine pages).
ANALYTICS_EXCLUDED_PATHS = env_list("ANALYTICS_EXCLUDED_PATHS", ["/admin/", "/api/", "/demo/"])

# --- Storage ------------------------------------------------------------------------------------------
#: Monthly event partitions (PostgreSQL) older than this many months are dropped; 0 keeps everything.
ANALYTICS_EVENT_RETENTION_MONTHS = env_int("ANALYTICS_EVENT_RETENTION_MONTHS", 13)
#: Longest date range a funnel or journey query may cover.
ANALYTICS_MAX_REPORT_DAYS = env_int("ANALYTICS_MAX_REPORT_DAYS", 366)

# --- Monitoring: anomaly alerts (analytics/monitoring, docs/monitoring.md) ------------------------
#: How long the summed web-vital histograms of whole past days stay cached (0: never cached).
ANALYTICS_VITALS_CLOSED_DAYS_CACHE_SECONDS = 3600
#: |z-score| at or above which an hour is anomalous (robust z against the same hour of the week);
#: a low-traffic shop may choose a lower one for conversion-type signals, accepting more noise.
ANALYTICS_ALERT_Z = float(env_str("ANALYTICS_ALERT_Z", "3.5"))
#: Same-hour-of-week slots of the previous weeks the baseline uses, and how many must exist.
ANALYTICS_ALERT_BASELINE_WEEKS = 6
ANALYTICS_ALERT_MIN_BASELINE_WEEKS = 3
#: Smallest relative change (percent) worth an alert, however significant statistically.
ANALYTICS_ALERT_MIN_CHANGE_PCT = 25
#: Minimum volumes (per hour, for the hour's expected or observed value) below which nothing alerts.
ANALYTICS_ALERT_MIN_PAGEVIEWS = 50
ANALYTICS_ALERT_MIN_SESSIONS = 30
ANALYTICS_ALERT_MIN_PAYMENTS = 5
#: The current hour is judged (counts scaled to the elapsed part) once this many minutes have passed;
#: before that, the last complete hour is.
ANALYTICS_ALERT_PARTIAL_HOUR_MINUTES = 20
#: Sessions convert after they start: the conversion rate of an hour is judged this long after it ends.
ANALYTICS_ALERT_CONVERSION_SETTLE_MINUTES = 30
#: An alert resolves after its metric has been normal this long.
ANALYTICS_ALERT_RESOLVE_AFTER_MINUTES = 60
#: How often the beat task looks for anomalies (seconds).
ANALYTICS_ALERT_INTERVAL_SECONDS = env_int("ANALYTICS_ALERT_INTERVAL_SECONDS", 300)

# --- Customer scoring (docs/scoring.md) -----------------------------------------------------
#: Label window h (days): train on features at now−2h (labels to now−h), test on now−h (labels to now).
SCORING_WINDOW_DAYS = 180
#: Customers with a repair needed before each cut-off to train at all.
SCORING_MIN_TRAINING_CUSTOMERS = 50
SCORING_RANDOM_SEED = 7
#: Churn probability from which a customer is "at risk" (and gets a win-back action).
SCORING_AT_RISK_CHURN = env_int("SCORING_AT_RISK_CHURN_PERCENT", 60) / 100
#: 12-month value (minor units) that earns the full "value" score; half of it marks "high value".
SCORING_HIGH_VALUE_MINOR = env_int("SCORING_HIGH_VALUE_MINOR", 40_000)
#: Weekly training (Monday 03:30 UTC) and daily scoring (04:30 UTC); cron fields, UTC.
SCORING_TRAIN_CRON = env_str("SCORING_TRAIN_CRON", "30 3 * * 1")
SCORING_SCORE_CRON = env_str("SCORING_SCORE_CRON", "30 4 * * *")


def _cron(expression: str) -> crontab:
    minute, hour, day_of_month, month_of_year, day_of_week = expression.split()
    return crontab(minute, hour, day_of_week, day_of_month, month_of_year)


#: Periodic Celery tasks of this app (merged into CELERY_BEAT_SCHEDULE).
ANALYTICS_BEAT_SCHEDULE: dict = {
    "analytics-train-scoring-models": {
        "task": "analytics.scoring.tasks.train_scoring_models",
        "schedule": _cron(SCORING_TRAIN_CRON),
    },
    "analytics-score-customers": {
        "task": "analytics.scoring.tasks.score_customers",
        "schedule": _cron(SCORING_SCORE_CRON),
    },
    "analytics-flush-events": {
        "task": "analytics.tasks.flush_events",
        "schedule": float(max(1, ANALYTICS_FLUSH_INTERVAL_SECONDS)),
        "options": {"expires": max(1, ANALYTICS_FLUSH_INTERVAL_SECONDS) * 2},
    },
    "analytics-rotate-salts": {
        "task": "analytics.tasks.rotate_salts",
        "schedule": crontab(minute=0, hour=0),  # UTC midnight (CELERY_TIMEZONE)
    },
    "analytics-maintain-storage": {
        "task": "analytics.tasks.maintain_storage",
        "schedule": crontab(minute=15, hour=0),
    },
    "analytics-detect-anomalies": {
        "task": "analytics.monitoring.tasks.detect_anomalies",
        "schedule": float(max(60, ANALYTICS_ALERT_INTERVAL_SECONDS)),
        "options": {"expires": max(60, ANALYTICS_ALERT_INTERVAL_SECONDS)},
    },
}
