"""The vendor directory of the simulated world: fixtures in, one vendor per normalized phone."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from concierge.geo import lookup_place
from concierge.phones import normalize_phone
from concierge.ports import Vendor


class DuplicateVendorPhone(ValueError):
    pass


def vendor_from_mapping(raw: dict[str, Any]) -> Vendor:
    area = raw.get("area")
    lat, lng = raw.get("lat"), raw.get("lng")
    if area and (lat is None or lng is None):
        place = lookup_place(str(area))
        if place is not None:
            lat, lng = place.lat, place.lng
    cats = raw.get("categories") or []
    if isinstance(cats, str):
        cats = [c.strip() for c in cats.replace(";", ",").split(",") if c.strip()]
    tags = raw.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.replace(";", ",").split(",") if t.strip()]
    return Vendor(
        id=str(raw["id"]),
        name=str(raw["name"]),
        phone=normalize_phone(str(raw["phone"])),
        categories=tuple(cats),
        lat=None if lat is None else float(lat),
        lng=None if lng is None else float(lng),
        area=str(area) if area else None,
        rating=float(raw.get("rating", 0.0) or 0.0),
        avg_response_minutes=float(raw.get("avg_response_minutes", 30.0) or 30.0),
        active=bool(raw.get("active", True)),
        opted_out=bool(raw.get("opted_out", False)),
        blocked=bool(raw.get("blocked", False)),
        has_whatsapp=bool(raw.get("has_whatsapp", True)),
        language=str(raw.get("language", "en") or "en"),
        tags=tuple(tags),
    )


class StaticDirectory:
    """Implements ``concierge.ports.VendorDirectory`` over a fixed list of vendors."""

    def __init__(self, vendors: Iterable[Vendor]):
        self._by_id: dict[str, Vendor] = {}
        self._by_phone: dict[str, Vendor] = {}
        for vendor in vendors:
            if vendor.phone in self._by_phone:
                other = self._by_phone[vendor.phone]
                raise DuplicateVendorPhone(
                    f"vendors {other.id!r} and {vendor.id!r} share the phone number {vendor.phone}"
                )
            self._by_id[vendor.id] = vendor
            self._by_phone[vendor.phone] = vendor

    def all_vendors(self) -> list[Vendor]:
        return list(self._by_id.values())

    def by_id(self, vendor_id: str) -> Vendor | None:
        return self._by_id.get(vendor_id)

    def by_phone(self, phone_e164: str) -> Vendor | None:
        return self._by_phone.get(phone_e164)


def load_vendor_fixtures(folder: str | Path) -> list[Vendor]:
    """Every ``*.yaml`` in a folder: a list of vendor mappings (or ``{vendors: [...]}``)."""
    out: list[Vendor] = []
    for path in sorted(Path(folder).glob("*.yaml")):
        out.extend(load_vendor_file(path))
    return out


def load_vendor_file(path: str | Path) -> list[Vendor]:
    """One vendor fixture file: a list of vendor mappings (or ``{vendors: [...]}``)."""
    data = yaml.safe_load(Path(path).read_text("utf-8")) or []
    if isinstance(data, dict):
        data = data.get("vendors", [])
    return [vendor_from_mapping(item) for item in data]
