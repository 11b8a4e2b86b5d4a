"""Settings, read from the environment, split by concern (``base`` for the project, one module
per app that needs its own). Every module has embedded defaults; the README lists every variable."""

from .analytics import *  # noqa: F403
from .analytics import ANALYTICS_BEAT_SCHEDULE as _ANALYTICS_BEAT
from .base import *  # noqa: F403
from .base import CELERY_BEAT_SCHEDULE as _BASE_BEAT
from .notifications import *  # noqa: F403
from .notifications import NOTIFICATIONS_BEAT_SCHEDULE as _NOTIFICATIONS_BEAT
from .payments import *  # noqa: F403
from .payments import PAYMENTS_BEAT_SCHEDULE as _PAYMENTS_BEAT

CELERY_BEAT_SCHEDULE = {**_BASE_BEAT, **_NOTIFICATIONS_BEAT, **_PAYMENTS_BEAT, **_ANALYTICS_BEAT}
