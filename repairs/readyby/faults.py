"""Keyword categories of the reported problem: a few explainable words beat raw text on the
hundreds of repairs a shop has, and staff can read why an estimate is long."""

from __future__ import annotations

import re

#: Category → words that reveal it (lower-case stems, matched at word starts). First match wins, so the
#: slow, uncertain faults come first ("water damage, screen cracked" is a water-damage repair).
FAULT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "water": ("water", "liquid", "spill", "wet", "drop in", "coffee", "juice", "rain", "corros"),
    "motherboard": (
        "motherboard",
        "logic board",
        "board",
        "no power",
        "dead",
        "won't turn on",
        "wont turn on",
        "not turning on",
        "short",
        "gpu",
        "reball",
    ),
    "data": ("data", "recover", "backup", "photos back", "files", "deleted"),
    "screen": (
        "screen",
        "display",
        "lcd",
        "oled",
        "crack",
        "glass",
        "touch",
        "digitizer",
        "lines on",
        "backlight",
        "hdmi",
    ),
    "battery": (
        "battery",
        "batteries",
        "swollen",
        "drain",
        "charge",
        "charging",
        "charger",
        "port",
        "power jack",
        "usb-c",
        "lightning",
    ),
    "keyboard": ("keyboard", "key ", "keys", "trackpad", "touchpad", "button", "hinge", "case", "housing"),
    "audio": ("speaker", "microphone", "mic", "audio", "sound", "earpiece", "headphone"),
    "camera": ("camera", "lens", "face id", "faceid"),
    "software": (
        "software",
        "virus",
        "slow",
        "update",
        "boot",
        "password",
        "os ",
        "windows",
        "macos",
        "reinstall",
        "install",
        "crash",
        "freez",
        "setup",
        "set up",
    ),
    "cooling": ("fan", "overheat", "hot", "noise", "noisy", "thermal", "dust"),
    "storage": ("ssd", "hard drive", "hdd", "storage", "disk", "upgrade", "ram", "memory"),
    "drift": ("drift", "joystick", "joy-con", "controller", "disc", "disk drive"),
}
OTHER = "other"
CATEGORIES: tuple[str, ...] = (*FAULT_KEYWORDS, OTHER)

_PATTERNS = {
    category: re.compile("|".join(r"\b" + re.escape(word) for word in words))
    for category, words in FAULT_KEYWORDS.items()
}


def fault_category(text: str) -> str:
    """The category of a problem description (``"other"`` when no keyword matches)."""
    lowered = " ".join((text or "").lower().split()) + " "
    for category, pattern in _PATTERNS.items():
        if pattern.search(lowered):
            return category
    return OTHER
