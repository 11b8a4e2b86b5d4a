"""Settings, read from the environment (revivatech/env.py, the one reader), split by concern:
``base`` for the project, one module per area. Every module has embedded defaults;
docs/settings-reference.md lists every variable.

The modules define disjoint names and none changes another's values, so the order of the imports
below does not matter (tests/project/test_settings_composition.py checks both). The only settings
built from several modules are composed here, explicitly.
"""

from .analytics import *  # noqa: F403
from .analytics import ANALYTICS_BEAT_SCHEDULE
from .base import *  # noqa: F403
from .base import CELERY_BEAT_SCHEDULE as PROJECT_BEAT_SCHEDULE
from .base import INSTALLED_APPS as PROJECT_APPS
from .base import MIDDLEWARE as PROJECT_MIDDLEWARE
from .dashboard import *  # noqa: F403
from .notifications import *  # noqa: F403
from .notifications import NOTIFICATIONS_BEAT_SCHEDULE
from .observability import *  # noqa: F403
from .observability import OBSERVABILITY_APPS, OBSERVABILITY_MIDDLEWARE
from .payments import *  # noqa: F403
from .payments import PAYMENTS_BEAT_SCHEDULE
from .readyby import *  # noqa: F403
from .readyby import READY_BY_BEAT_SCHEDULE
from .reliability import *  # noqa: F403
from .security import *  # noqa: F403

INSTALLED_APPS = [*PROJECT_APPS, *OBSERVABILITY_APPS]
# The request id first: every response, redirects and errors included, carries X-Request-ID.
MIDDLEWARE = [*OBSERVABILITY_MIDDLEWARE, *PROJECT_MIDDLEWARE]
CELERY_BEAT_SCHEDULE = {
    **PROJECT_BEAT_SCHEDULE,
    **NOTIFICATIONS_BEAT_SCHEDULE,
    **PAYMENTS_BEAT_SCHEDULE,
    **ANALYTICS_BEAT_SCHEDULE,
    **READY_BY_BEAT_SCHEDULE,
}
