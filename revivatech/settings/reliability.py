"""Settings of the reliability work (issue #9: fault suite): how the site behaves when a dependency
is briefly down. The README's "Reliability and security" section describes them."""

from __future__ import annotations

from ..env import env_str

#: How often each web process checks Redis while it has ticket sockets; after an outage (or a
#: restart) its sockets replay what they missed from the database (repairs/resync.py). 0 disables.
REALTIME_RESYNC_CHECK_SECONDS = float(env_str("REALTIME_RESYNC_CHECK_SECONDS", "1") or 0)
