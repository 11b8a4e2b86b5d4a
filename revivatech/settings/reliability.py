"""Settings of the reliability work (issue #9: fault suite): how the site behaves when a dependency
is briefly down. The README's "Reliability and security" section describes them."""

from __future__ import annotations

from ..env import env_int, env_str
from .base import DATABASES

#: How often each web process checks Redis while it has ticket sockets; after an outage (or a
#: restart) its sockets replay what they missed from the database (repairs/resync.py). 0 disables.
REALTIME_RESYNC_CHECK_SECONDS = float(env_str("REALTIME_RESYNC_CHECK_SECONDS", "1") or 0)

#: Seconds a new PostgreSQL connection may take before the request fails (503): an unreachable
#: database must not hold a request (or /readyz) for the operating system's TCP timeout.
DATABASE_CONNECT_TIMEOUT = env_int("DATABASE_CONNECT_TIMEOUT", 5)
if DATABASES["default"]["ENGINE"].endswith("postgresql") and DATABASE_CONNECT_TIMEOUT > 0:
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT)

#: Under ASGI (uvicorn) every request runs in its own context, so Django's persistent connections
#: (DATABASE_CONN_MAX_AGE > 0) are never reused and pile up until PostgreSQL refuses new clients
#: (found by ``make bench-load``: 503s under load). Set this to use psycopg's connection pool instead
#: (per process, at most this many connections); it needs DATABASE_CONN_MAX_AGE=0.
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 0)
if DATABASES["default"]["ENGINE"].endswith("postgresql") and DATABASE_POOL_MAX_SIZE > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_MAX_SIZE,
        # a request waits this long for a free connection, then fails (503)
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 5),
    }
