"""What a request says about its sender: client IP (trusted proxies only), browser / OS / device
type from the user agent, bots, and country (GeoIP2 database, else a trusted proxy header).

Everything here is in-process and cached; nothing touches the database. The IP is used for the
visitor hash, the rate-limit key and the country lookup, and is never stored.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ua_parser
from django.conf import settings

# The client IP is project plumbing (rate limits and request logs need it too): it lives in the
# kernel and is re-exported here for analytics' callers.
from revivatech.request_info import client_ip  # noqa: F401

from ..models import DeviceType

logger = logging.getLogger(__name__)

#: Automated clients: crawlers, link previewers, monitors, headless and scripted browsers, HTTP
#: libraries. Real browsers all send a ``Mozilla/5.0`` (or old ``Opera/``) user agent.
BOT_PATTERN = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|archiver|headless|lighthouse|pagespeed|phantomjs|selenium|"
    r"puppeteer|playwright|python|curl/|wget/|httpclient|okhttp|go-http|java/|libwww|scrapy|axios|"
    r"node-fetch|facebookexternalhit|embedly|preview|monitor|uptime|pingdom|validator|feedfetcher|"
    r"mediapartners|adsbot|ia_archiver|bingpreview",
    re.IGNORECASE,
)
DESKTOP_OS = {"Windows", "Mac OS X", "macOS", "Linux", "Ubuntu", "Chrome OS", "ChromeOS", "Fedora", "Debian"}
UNKNOWN_COUNTRIES = {"XX", "ZZ", "T1", "A1", "A2", "O1", "EU", "AP"}
MAX_USER_AGENT = 512


@dataclass(frozen=True)
class UserAgentInfo:
    browser: str
    os: str
    device_type: str
    is_bot: bool


@lru_cache(maxsize=4096)
def parse_user_agent(user_agent: str) -> UserAgentInfo:
    """Browser and OS families (ua-parser), a device type and whether it is a bot. Cached, since a
    site sees few distinct user agents and each batch carries one."""
    user_agent = user_agent[:MAX_USER_AGENT]
    lowered = user_agent.lower()
    looks_like_browser = "mozilla/" in lowered or lowered.startswith("opera/")
    if not looks_like_browser or BOT_PATTERN.search(user_agent):
        return UserAgentInfo(browser="", os="", device_type=DeviceType.OTHER, is_bot=True)
    result = ua_parser.parse(user_agent)
    browser = (result.user_agent.family if result.user_agent else "Other")[:40]
    os_family = (result.os.family if result.os else "Other")[:40]
    device_family = result.device.family if result.device else ""
    if device_family == "Spider":
        return UserAgentInfo(browser=browser, os=os_family, device_type=DeviceType.OTHER, is_bot=True)
    tablet_words = ("ipad", "tablet", "kindle", "silk/")
    if any(word in lowered for word in tablet_words) or ("android" in lowered and "mobile" not in lowered):
        device_type = DeviceType.TABLET
    elif "mobi" in lowered or "iphone" in lowered or "ipod" in lowered or "windows phone" in lowered:
        device_type = DeviceType.MOBILE
    elif os_family in DESKTOP_OS:
        device_type = DeviceType.DESKTOP
    else:
        device_type = DeviceType.OTHER
    return UserAgentInfo(browser=browser, os=os_family, device_type=device_type, is_bot=False)


_geoip_lock = threading.Lock()
_geoip_readers: dict[str, Any] = {}


def _geoip_reader(path: str):
    """One memory-mapped reader per database path and process; ``None`` when it cannot be opened."""
    if path in _geoip_readers:
        return _geoip_readers[path]
    with _geoip_lock:
        if path not in _geoip_readers:
            try:
                import geoip2.database

                _geoip_readers[path] = geoip2.database.Reader(path)
            except (OSError, ValueError) as exc:
                logger.warning("ANALYTICS_GEOIP_DATABASE %s cannot be read (%s); no GeoIP lookups", path, exc)
                _geoip_readers[path] = None
    return _geoip_readers[path]


def _geoip_country(path: str, ip: str) -> str:
    reader = _geoip_reader(path)
    if reader is None or not ip:
        return ""
    try:
        database_type = reader.metadata().database_type
        model = reader.city(ip) if "City" in database_type else reader.country(ip)
    except Exception:  # address not found, malformed address, unsupported database type
        return ""
    return model.country.iso_code or ""


def _header_key(name: str) -> str:
    """``CF-IPCountry`` → ``HTTP_CF_IPCOUNTRY``; META-style names are kept."""
    name = name.strip()
    if name.upper().startswith("HTTP_"):
        return name.upper()
    return "HTTP_" + name.upper().replace("-", "_")


def _valid_country(code: str) -> str:
    code = code.strip().upper()
    if len(code) == 2 and code.isascii() and code.isalpha() and code not in UNKNOWN_COUNTRIES:
        return code
    return ""


def country_for(ip: str, meta: dict[str, Any]) -> str:
    """ISO 3166 country of the client: the GeoIP2 database when configured; otherwise (or when it
    has no answer) the trusted proxy's header when ANALYTICS_COUNTRY_HEADER names one; else ``""``."""
    if settings.ANALYTICS_GEOIP_DATABASE:
        country = _valid_country(_geoip_country(settings.ANALYTICS_GEOIP_DATABASE, ip))
        if country:
            return country
    if settings.ANALYTICS_COUNTRY_HEADER:
        return _valid_country(str(meta.get(_header_key(settings.ANALYTICS_COUNTRY_HEADER), "")))
    return ""


def forget_geoip_readers() -> None:
    """Close the cached readers (tests that switch databases; after replacing the file)."""
    with _geoip_lock:
        for reader in _geoip_readers.values():
            if reader is not None:
                reader.close()
        _geoip_readers.clear()


def asks_not_to_be_tracked(meta: dict[str, Any]) -> bool:
    """Do Not Track (``DNT: 1``) or Global Privacy Control (``Sec-GPC: 1``)."""
    return meta.get("HTTP_DNT") == "1" or meta.get("HTTP_SEC_GPC") == "1"
