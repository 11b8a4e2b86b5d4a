"""Settings of the analytics app (from the environment, with embedded defaults)."""

from ..env import env_bool, env_int, env_list, env_str  # noqa: F401

#: Periodic Celery tasks of this app (merged into CELERY_BEAT_SCHEDULE).
ANALYTICS_BEAT_SCHEDULE: dict = {}
