"""Settings, read from the environment, split by concern (``base`` for the project, one module
per app that needs its own). Every module has embedded defaults; the README lists every variable."""

from .analytics import *  # noqa: F403
from .analytics import ANALYTICS_BEAT_SCHEDULE as _ANALYTICS_BEAT
from .base import *  # noqa: F403
from .base import CELERY_BEAT_SCHEDULE as _BASE_BEAT
from .dashboard import *  # noqa: F403
from .notifications import *  # noqa: F403
from .notifications import NOTIFICATIONS_BEAT_SCHEDULE as _NOTIFICATIONS_BEAT
from .payments import *  # noqa: F403
from .payments import PAYMENTS_BEAT_SCHEDULE as _PAYMENTS_BEAT
from .readyby import *  # noqa: F403
from .readyby import READY_BY_BEAT_SCHEDULE as _READY_BY_BEAT
from .reliability import *  # noqa: F403

CELERY_BEAT_SCHEDULE = {
    **_BASE_BEAT,
    **_NOTIFICATIONS_BEAT,
    **_PAYMENTS_BEAT,
    **_ANALYTICS_BEAT,
    **_READY_BY_BEAT,
}

# Observability last: its LOGGING replaces any earlier one; its middleware goes first (request id).
from .observability import *  # noqa: E402, F403
from .observability import OBSERVABILITY_APPS as _OBSERVABILITY_APPS  # noqa: E402
from .observability import OBSERVABILITY_MIDDLEWARE as _OBSERVABILITY_MIDDLEWARE  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, *_OBSERVABILITY_APPS]  # noqa: F405
MIDDLEWARE = [*_OBSERVABILITY_MIDDLEWARE, *MIDDLEWARE]  # noqa: F405

# Security last: it reads base settings; then every logging handler masks personal data.
from revivatech.security.logging import with_pii_filter as _with_pii_filter  # noqa: E402

from .security import *  # noqa: E402, F403

LOGGING = _with_pii_filter(LOGGING)  # noqa: F405  (keep this the last LOGGING assignment)
