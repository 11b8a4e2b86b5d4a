"""Release years of common device models, so a device's age can be estimated from its model name.

The repairs app stores brand and model but no purchase date. A device is at least as old as its
model's release (looked up here by the longest matching name) and at least as old as the first time
the shop saw it (``Device.created_at``); the larger of the two is used.
"""

from __future__ import annotations

from datetime import datetime

#: (kind, brand, model, release year). The simulator draws its devices from this list.
CATALOGUE: list[tuple[str, str, str, int]] = [
    ("phone", "Apple", "iPhone 8", 2017),
    ("phone", "Apple", "iPhone X", 2017),
    ("phone", "Apple", "iPhone 11", 2019),
    ("phone", "Apple", "iPhone 12", 2020),
    ("phone", "Apple", "iPhone 13", 2021),
    ("phone", "Apple", "iPhone 14", 2022),
    ("phone", "Apple", "iPhone 15", 2023),
    ("phone", "Apple", "iPhone 16", 2024),
    ("phone", "Samsung", "Galaxy S10", 2019),
    ("phone", "Samsung", "Galaxy S21", 2021),
    ("phone", "Samsung", "Galaxy S23", 2023),
    ("phone", "Samsung", "Galaxy A52", 2021),
    ("phone", "Google", "Pixel 4a", 2020),
    ("phone", "Google", "Pixel 7", 2022),
    ("phone", "Google", "Pixel 8", 2023),
    ("laptop", "Apple", "MacBook Air 2017", 2017),
    ("laptop", "Apple", "MacBook Pro 2019", 2019),
    ("laptop", "Apple", "MacBook Air M1", 2020),
    ("laptop", "Apple", "MacBook Air M2", 2022),
    ("laptop", "Dell", "XPS 13 9360", 2017),
    ("laptop", "Dell", "XPS 13 9310", 2020),
    ("laptop", "Lenovo", "ThinkPad T480", 2018),
    ("laptop", "Lenovo", "ThinkPad X1 Carbon Gen 9", 2021),
    ("laptop", "HP", "Pavilion 15", 2019),
    ("tablet", "Apple", "iPad 7th gen", 2019),
    ("tablet", "Apple", "iPad Air 4", 2020),
    ("tablet", "Samsung", "Galaxy Tab S7", 2020),
    ("console", "Sony", "PlayStation 4", 2013),
    ("console", "Sony", "PlayStation 5", 2020),
    ("console", "Nintendo", "Switch", 2017),
    ("console", "Microsoft", "Xbox Series X", 2020),
    ("desktop", "Apple", "iMac 2017", 2017),
    ("desktop", "Dell", "OptiPlex 7070", 2019),
]

_BY_NAME: list[tuple[str, int]] = sorted(
    ((f"{brand} {model}".lower(), year) for _, brand, model, year in CATALOGUE),
    key=lambda item: -len(item[0]),
)
_MODEL_ONLY: list[tuple[str, int]] = sorted(
    ((model.lower(), year) for _, _, model, year in CATALOGUE), key=lambda item: -len(item[0])
)


def release_year(brand: str, model: str) -> int | None:
    """The release year of a model (``"Apple", "iPhone 11 Pro"`` → 2019), or None if unknown."""
    text = f"{brand} {model}".lower()
    for name, year in _BY_NAME:
        if name in text:
            return year
    model_text = model.lower()
    for name, year in _MODEL_ONLY:
        if name in model_text:
            return year
    return None


def device_age_years(brand: str, model: str, first_seen: datetime, as_of: datetime) -> float:
    """Estimated age at ``as_of``: the older of "since release (mid-year)" and "since first seen"."""
    seen = max(0.0, (as_of - first_seen).total_seconds() / (365.25 * 86400))
    year = release_year(brand, model)
    if year is None:
        return seen
    released = as_of.year + (as_of.timetuple().tm_yday / 365.25) - (year + 0.5)
    return max(seen, released, 0.0)
