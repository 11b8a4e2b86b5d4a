"""Settings of the live staff dashboard (analytics/dashboard/), from the environment."""

from ..env import env_int, env_str

#: The "visitors now" window, in seconds (rounded to whole minutes of the live counters).
DASHBOARD_LIVE_WINDOW_SECONDS = env_int("DASHBOARD_LIVE_WINDOW_SECONDS", 300)
#: Prefix of the live counters' Redis keys (HyperLogLog per minute for visitors, counters for views).
DASHBOARD_LIVE_KEY_PREFIX = env_str(
    "DASHBOARD_LIVE_KEY_PREFIX", env_str("CACHE_KEY_PREFIX", "revivatech") + ":dashboard:live"
)
#: Seconds an open dashboard waits after a "tick" before recomputing (ticks in between coalesce).
DASHBOARD_TICK_DELAY_MS = 1500
#: An open dashboard also refreshes this often without any tick (visitors now decays on its own).
DASHBOARD_REFRESH_SECONDS = env_int("DASHBOARD_REFRESH_SECONDS", 30)
