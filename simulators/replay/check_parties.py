"""Checks of the parties in a scenario: ``vendors:`` (inline or a fixture file) and ``clients:``.

Ids and phone numbers must be unique, places must be in the gazetteer, and every id declared is
remembered even when the entry is invalid, so steps naming it get no second, misleading error.
"""

from __future__ import annotations

import re
from typing import Any

from concierge.geo import gazetteer, lookup_place
from concierge.needs import categories as known_categories
from concierge.phones import InvalidPhone, normalize_phone

from .checker import Checker, describe, is_number, suggest
from .model import ClientSpec, VendorSpec
from .scenario_files import display_path, resolve_file
from .vendor_fixtures import read_vendor_rows
from .vocabulary import CLIENT_KEYS, LANGUAGES, VENDOR_BOOLS, VENDOR_KEYS
from .yamlsource import Map, Seq


def _known_places() -> str:
    return ", ".join(p.name for p in gazetteer())


def _place_ok(c: Checker, area: Any, line: int, key: str, file: str | None = None) -> bool:
    if not c.text(area, line, key, file=file):
        return False
    if lookup_place(area) is None:
        names = [p.name for p in gazetteer()]
        c.add(line, key, f"unknown place {area!r}{suggest(area, names)} (known places: {_known_places()}); "
                         "or give lat: and lng:", file)
        return False
    return True


def _phone_ok(c: Checker, value: Any, line: int, key: str, file: str | None = None) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # YAML reads an unquoted +250788000101 as a number
    if not c.text(value, line, key, file=file):
        return None
    try:
        return normalize_phone(value)
    except InvalidPhone:
        c.add(line, key, f"{value!r} is not a phone number; expected a Rwandan number like "
                         "+250788000101, 0788 000 101 or 250788000101", file)
        return None


def _id_ok(c: Checker, value: Any, line: int, key: str, file: str | None = None) -> bool:
    if not c.text(value, line, key, file=file):
        return False
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", value):
        c.add(line, key, f"id {value!r} must be one word (letters, digits, _, -, .)", file)
        return False
    return True


def check_vendors(c: Checker, value: Any, line: int) -> tuple[tuple[VendorSpec, ...], set[str]]:
    """The valid vendors, and every id declared (so one bad field does not make steps cry "unknown")."""
    if value is None:
        return (), set()
    file = None
    if isinstance(value, str):
        resolved, tried = resolve_file(value, c.base)
        if resolved is None:
            c.add(line, "vendors", f"fixture file {value!r} not found (looked at: "
                                   f"{', '.join(display_path(t) for t in tried)}); expected a YAML or CSV vendor list")
            return (), set()
        file = display_path(resolved)
        rows, problems = read_vendor_rows(resolved, file)
        if problems:
            c.problems.extend(problems)
            return (), set()
        value = rows
    elif not isinstance(value, list):
        c.add(line, "vendors", f"expected a list of vendors or a path to a fixture file, got {describe(value)}")
        return (), set()
    out: list[VendorSpec] = []
    seen_ids: dict[str, int] = {}
    seen_phones: dict[str, tuple[str, int]] = {}
    for i, raw in enumerate(value):
        item_line = value.item_line(i) if isinstance(value, Seq) else line
        spec = _check_vendor(c, raw, item_line, f"vendors[{i}].", file)
        if not isinstance(raw, Map):
            continue
        vid = raw.get("id")
        if isinstance(vid, str):
            if vid in seen_ids:
                c.add(raw.key_line("id"), f"vendors[{i}].id", f"vendor id {vid!r} is already used at line "
                                                             f"{seen_ids[vid]}; ids must be unique", file)
                continue
            seen_ids[vid] = raw.key_line("id")
        phone = _quiet_phone(raw.get("phone"))
        if phone is not None:
            if phone in seen_phones:
                other, other_line = seen_phones[phone]
                c.add(raw.key_line("phone"), f"vendors[{i}].phone",
                      f"{phone} is also the phone of vendor {other!r} (line {other_line}); "
                      "one vendor per phone number", file)
                continue
            seen_phones[phone] = (str(vid), raw.key_line("phone"))
        if spec is not None:
            out.append(spec)
    return tuple(out), set(seen_ids)


def _quiet_phone(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    try:
        return normalize_phone(str(value))
    except InvalidPhone:
        return None


def _check_vendor(c: Checker, raw: Any, line: int, prefix: str, file: str | None) -> VendorSpec | None:
    if not c.mapping(raw, line, prefix.rstrip("."), "id, name, phone, categories, area", file):
        return None
    before = len(c.problems)
    kl = raw.key_line
    c.unknown_keys(raw, VENDOR_KEYS, prefix, file)
    for key in ("id", "name", "phone", "categories"):
        if key not in raw:
            c.add(raw.line, f"{prefix}{key}", "missing; a vendor needs id, name, phone and categories", file)
    vid = raw.get("id")
    if "id" in raw:
        _id_ok(c, vid, kl("id"), f"{prefix}id", file)
    if "name" in raw:
        c.text(raw["name"], kl("name"), f"{prefix}name", file=file)
    phone = _phone_ok(c, raw["phone"], kl("phone"), f"{prefix}phone", file) if "phone" in raw else None
    cats = _list_of_words(c, raw.get("categories"), kl("categories"), f"{prefix}categories", file) \
        if "categories" in raw else ()
    known = known_categories()
    for cat in cats:
        if cat not in known:
            c.add(kl("categories"), f"{prefix}categories",
                  f"unknown category {cat!r}{suggest(cat, known)} (known: {', '.join(known)})", file)
    tags = _list_of_words(c, raw.get("tags"), kl("tags"), f"{prefix}tags", file) if raw.get("tags") else ()
    lat, lng = raw.get("lat"), raw.get("lng")
    for key, v, limit in (("lat", lat, 90), ("lng", lng, 180)):
        if v is not None and not (is_number(v) and -limit <= v <= limit):
            c.add(kl(key), f"{prefix}{key}", f"expected a number from -{limit} to {limit}, got {describe(v)}", file)
    if (lat is None) != (lng is None):
        c.add(raw.line, f"{prefix}{'lng' if lng is None else 'lat'}", "lat and lng go together; give both", file)
    area = raw.get("area")
    if area is not None:
        if lat is None or lng is None:
            if _place_ok(c, area, kl("area"), f"{prefix}area", file):
                place = lookup_place(area)
                lat, lng = place.lat, place.lng
        else:
            c.text(area, kl("area"), f"{prefix}area", file=file)
    if "rating" in raw and not (is_number(raw["rating"]) and 0 <= raw["rating"] <= 5):
        c.add(kl("rating"), f"{prefix}rating", f"expected a number from 0 to 5, got {describe(raw['rating'])}", file)
    minutes = raw.get("avg_response_minutes", 30.0)
    if not (is_number(minutes) and 0 <= minutes < float("inf")):
        c.add(kl("avg_response_minutes"), f"{prefix}avg_response_minutes",
              f"expected a number of minutes >= 0, got {describe(minutes)}", file)
    for key in VENDOR_BOOLS:
        if key in raw:
            c.boolean(raw[key], kl(key), f"{prefix}{key}", file)
    if "language" in raw:
        c.choice(raw["language"], LANGUAGES, kl("language"), f"{prefix}language", file)
    if len(c.problems) > before:
        return None
    return VendorSpec(
        id=vid, name=raw["name"], phone=phone, categories=cats, area=area,
        lat=None if lat is None else float(lat), lng=None if lng is None else float(lng),
        rating=float(raw.get("rating", 0.0)), avg_response_minutes=float(minutes),
        active=raw.get("active", True), opted_out=raw.get("opted_out", False),
        language=raw.get("language", "en"), tags=tags, line=raw.line,
        blocked=raw.get("blocked", False), has_whatsapp=raw.get("has_whatsapp", True), file=file or c.file,
    )


def _list_of_words(c: Checker, value: Any, line: int, key: str, file: str | None) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in re.split(r"[;,|]", value) if v.strip()]
    if not isinstance(value, list) or not value:
        c.add(line, key, f"expected a non-empty list like [pharmacy], got {describe(value)}", file)
        return ()
    ok = [v for v in value if c.text(v, line, key, file=file)]
    return tuple(ok) if len(ok) == len(value) else ()


def check_clients(c: Checker, value: Any, line: int) -> tuple[tuple[ClientSpec, ...], set[str]]:
    if value is None:
        return (), set()
    if not isinstance(value, list):
        c.add(line, "clients", f"expected a list of clients like - {{id: alice, phone: \"+250780000001\"}}, "
                               f"got {describe(value)}")
        return (), set()
    out: list[ClientSpec] = []
    seen: dict[str, int] = {}
    phones: dict[str, str] = {}
    for i, raw in enumerate(value):
        prefix, item_line = f"clients[{i}].", value.item_line(i) if isinstance(value, Seq) else line
        if not c.mapping(raw, item_line, prefix.rstrip("."), "id, phone, language, area"):
            continue
        before = len(c.problems)
        c.unknown_keys(raw, CLIENT_KEYS, prefix)
        for key in ("id", "phone"):
            if key not in raw:
                c.add(raw.line, f"{prefix}{key}", "missing; a client needs id and phone")
        cid = raw.get("id")
        if "id" in raw and _id_ok(c, cid, raw.key_line("id"), f"{prefix}id"):
            if cid in seen:
                c.add(raw.key_line("id"), f"{prefix}id",
                      f"client id {cid!r} is already used at line {seen[cid]}; ids must be unique")
            else:
                seen[cid] = raw.key_line("id")
        phone = _phone_ok(c, raw["phone"], raw.key_line("phone"), f"{prefix}phone") if "phone" in raw else None
        if phone and phone in phones:
            c.add(raw.key_line("phone"), f"{prefix}phone",
                  f"{phone} is also the phone of client {phones[phone]!r}; one client per phone number")
        if "language" in raw:
            c.choice(raw["language"], LANGUAGES, raw.key_line("language"), f"{prefix}language")
        if raw.get("area") is not None:
            _place_ok(c, raw["area"], raw.key_line("area"), f"{prefix}area")
        if len(c.problems) > before:
            continue
        phones[phone] = cid
        out.append(ClientSpec(id=cid, phone=phone, language=raw.get("language", "en"),
                              area=raw.get("area"), line=raw.line))
    return tuple(out), set(seen)
