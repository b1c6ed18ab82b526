"""Read scenario files into ``model.Scenario``, or say everything that is wrong with them at once.

Scenario files are written by people who do not read harness code, so every problem names the
file, the line and the key, and says what was expected; one pass collects all of them (fixing one
typo at a time is the slow way to learn YAML). Nothing here raises anything but ``ScenarioInvalid``.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from concierge.flags import ALLOWLIST, FLAG_AI, FLAG_CALLING, FLAG_OCR, KNOWN_KEYS, PERCENT
from concierge.geo import gazetteer, lookup_place
from concierge.lifecycle import RequestState
from concierge.needs import categories as known_categories
from concierge.phones import InvalidPhone, normalize_phone
from concierge.policy import Caps

from .durations import DurationError, parse_duration
from .model import ClientSpec, Count, Problem, Scenario, ScenarioInvalid, Step, VendorSpec
from .yamlsource import (
    NODE_BUDGET,
    Cyclic,
    Map,
    Seq,
    collect_key_lines,
    parse_yaml,
    plain,
    read_text,
)

# --- vocabulary of the format ---------------------------------------------------------------------

TOP_KEYS = ("scenario", "description", "tags", "seed", "flags", "caps", "vendors", "clients", "steps",
            "expected_log_errors")
ACTIONS = ("client", "vendor", "redeliver", "advance", "brain_next", "call_status", "fault", "expect")
STEP_EXTRA = {"client": ("text", "image", "document", "button", "caption"), "vendor": ("text",)}
CLIENT_MESSAGES = ("text", "image", "document", "button")
VENDOR_KEYS = ("id", "name", "phone", "categories", "area", "lat", "lng", "rating",
               "avg_response_minutes", "active", "opted_out", "language", "tags", "blocked",
               "has_whatsapp")
VENDOR_BOOLS = ("active", "opted_out", "blocked", "has_whatsapp")
CLIENT_KEYS = ("id", "phone", "language", "area")
LANGUAGES = ("en", "fr", "rw")
STATES = tuple(s.value for s in RequestState)
CALL_STATUSES = ("completed", "failed", "no_answer", "busy", "ringing")
CALL_ROW_STATUSES = ("initiated", *CALL_STATUSES)
CONSENT_STATUSES = ("not_requested", "requested", "granted", "denied", "expired")
OCR_STATUSES = ("pending", "completed", "failed")
OCR_TYPES = ("medical_prescription", "general")
FAULT_KEYS = ("target", "status", "kind", "times", "retry_after")
FAULT_TARGETS = ("whatsapp_send", "media_download", "ocr", "brain", "call")
FAULT_KINDS = ("timeout", "error", "truncated", "garbage", "non_json", "wrong_shape", "exception")
MEDIA_SUFFIXES = (".png", ".jpg", ".jpeg", ".pdf")
# Mirrors simulators/render.py's spec (not imported: the loader must not need Pillow to validate).
RENDER_KINDS = ("prescription", "invoice", "product")
RENDER_KEYS = ("render", "items", "lines", "degrade", "seed", "title")
RENDER_LEVELS = ("clean", "mild", "moderate", "severe")
RENDER_ITEM_KEYS = {
    "prescription": (("drug",), ("drug", "dose", "form", "quantity", "instructions")),
    "invoice": (("name",), ("name", "quantity", "price")),
    "product": (("name",), ("name", "brand", "model", "quantity")),
}
SNAKE_CASE = re.compile(r"[a-z][a-z0-9_]*")



# --- small helpers --------------------------------------------------------------------------------


def _suggest(word: Any, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value[:60]!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    return f"a {type(value).__name__}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value








def _repo_root(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return Path.cwd()


def _resolve(raw: str, base: Path) -> tuple[Path | None, list[Path]]:
    """A file named in a scenario: its folder first, then the repository root."""
    p = Path(raw)
    candidates = [p] if p.is_absolute() else [base / p, _repo_root(base) / p]
    for c in candidates:
        try:
            if c.is_file():
                return c.resolve(), candidates
        except (OSError, ValueError):
            continue
    return None, candidates


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


# --- the checker ----------------------------------------------------------------------------------


class _Checker:
    """Validation of one file; ``add`` collects problems instead of stopping at the first."""

    def __init__(self, file: str, base: Path):
        self.file = file
        self.base = base
        self.problems: list[Problem] = []

    def add(self, line: int, key: str, message: str, file: str | None = None) -> None:
        self.problems.append(Problem(file or self.file, line, key, message))

    def unknown_keys(self, m: Map, allowed: Iterable[str], prefix: str, file: str | None = None) -> None:
        allowed = tuple(allowed)
        for key in m:
            if key not in allowed:
                self.add(m.key_line(key), f"{prefix}{key}",
                         f"unknown key {key!r}{_suggest(key, allowed)} (expected one of: {', '.join(allowed)})",
                         file)

    def text(self, value: Any, line: int, key: str, *, file: str | None = None, empty_ok: bool = False) -> bool:
        if isinstance(value, str) and (empty_ok or value.strip()):
            return True
        if isinstance(value, (bool, int, float)) and not isinstance(value, str):
            self.add(line, key, f"expected text, but YAML read {_kind(value)}; put the value in quotes "
                                f"(e.g. \"{str(value).lower() if isinstance(value, bool) else value}\")", file)
        elif isinstance(value, str):
            self.add(line, key, "expected non-empty text", file)
        else:
            self.add(line, key, f"expected text, got {_kind(value)}", file)
        return False

    def texts(self, value: Any, line: int, key: str) -> list[str] | None:
        """Text or a list of texts, as a list."""
        if isinstance(value, str):
            return [value] if self.text(value, line, key) else None
        if isinstance(value, list):
            ok = all(self.text(v, value.item_line(i) if isinstance(value, Seq) else line, f"{key}[{i}]")
                     for i, v in enumerate(value))
            if not value:
                self.add(line, key, "expected at least one text")
                return None
            return list(value) if ok else None
        self.add(line, key, f"expected text or a list of texts, got {_kind(value)}")
        return None

    def choice(self, value: Any, choices: tuple[str, ...], line: int, key: str, file: str | None = None) -> bool:
        if isinstance(value, str) and value in choices:
            return True
        self.add(line, key, f"expected one of {', '.join(choices)}; got {_kind(value)}{_suggest(value, choices)}",
                 file)
        return False

    def boolean(self, value: Any, line: int, key: str, file: str | None = None) -> bool:
        if isinstance(value, bool):
            return True
        self.add(line, key, f"expected true or false, got {_kind(value)}", file)
        return False

    def count(self, value: Any, line: int, key: str) -> bool:
        try:
            Count.parse(value)
        except ValueError as exc:
            self.add(line, key, str(exc))
            return False
        return True

    def mapping(self, value: Any, line: int, key: str, what: str, file: str | None = None) -> bool:
        if isinstance(value, Map):
            return True
        self.add(line, key, f"expected a mapping ({what}), got {_kind(value)}", file)
        return False


# --- top level ------------------------------------------------------------------------------------


def load_scenario(path: str | Path) -> Scenario:
    """The scenario in ``path``; ``ScenarioInvalid`` carries every problem found in it."""
    file = str(path)
    p = Path(path)
    text, problems = read_text(p, file)
    if text is None:
        raise ScenarioInvalid(problems)
    data, problems = parse_yaml(text, file)
    if problems and data is None:
        raise ScenarioInvalid(problems)
    if data is None:
        raise ScenarioInvalid([Problem(file, 1, "file", "the file is empty; expected a scenario mapping "
                                                        "with at least `scenario:` and `steps:`")])
    if not isinstance(data, Map):
        raise ScenarioInvalid([*problems, Problem(
            file, getattr(data, "line", 1), "file",
            f"the top level must be a mapping (scenario:, steps:, ...), got {_kind(data)}")])
    checker = _Checker(file, p.parent)
    checker.problems.extend(problems)
    try:
        scenario = _check_scenario(checker, data, file, tuple(text.splitlines()))
    except RecursionError:
        checker.add(1, "file", "the YAML nests too deeply to check; expected a scenario mapping")
        scenario = None
    except Cyclic as exc:
        checker.add(1, "file", str(exc))
        scenario = None
    except Exception as exc:  # a loader bug must still come out as a problem, not a traceback
        checker.add(1, "(loader)", f"internal error while checking this file ({type(exc).__name__}: {exc}); "
                                   "please report it with the file")
        scenario = None
    if checker.problems or scenario is None:
        # By line, so the list reads top to bottom like the file (fixture files' problems last).
        raise ScenarioInvalid(sorted(checker.problems, key=lambda q: (q.file != file, q.file, q.line)))
    return scenario


def _check_scenario(c: _Checker, data: Map, file: str, source: tuple[str, ...]) -> Scenario | None:
    c.unknown_keys(data, TOP_KEYS, "")
    sid = data.get("scenario")
    if "scenario" not in data:
        c.add(data.line, "scenario", "missing; every file needs `scenario: some_snake_case_id`")
    elif c.text(sid, data.key_line("scenario"), "scenario") and not SNAKE_CASE.fullmatch(sid):
        c.add(data.key_line("scenario"), "scenario",
              f"id {sid!r} is not snake_case; expected lower-case letters, digits and _, starting with a letter")
    description = data.get("description")
    if description is None:
        description = ""
    elif not isinstance(description, str):
        c.text(description, data.key_line("description"), "description")
    tags = _check_tags(c, data.get("tags"), data.key_line("tags"), "tags")
    errors = _check_tags(c, data.get("expected_log_errors"), data.key_line("expected_log_errors"),
                         "expected_log_errors")
    seed = data.get("seed", 0)
    if seed is None:
        seed = 0
    if not isinstance(seed, int) or isinstance(seed, bool):
        c.add(data.key_line("seed"), "seed", f"expected a whole number, got {_kind(seed)}")
    flags = _check_flags(c, data.get("flags"), data.key_line("flags"))
    caps = _check_caps(c, data.get("caps"), data.key_line("caps"))
    vendors, vendor_ids = _check_vendors(c, data.get("vendors"), data.key_line("vendors"))
    clients, client_ids = _check_clients(c, data.get("clients"), data.key_line("clients"))
    steps = _check_steps(c, data, vendor_ids, client_ids)
    if c.problems:
        return None
    return Scenario(
        id=sid, description=description.strip(), tags=tags, seed=seed, flags=flags, caps=caps,
        vendors=vendors, clients=clients, steps=steps, file=file, source_lines=source,
        expected_log_errors=errors,
    )


def _check_tags(c: _Checker, value: Any, line: int, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        c.add(line, key, f"expected a list of texts like [phase0, dedupe], got {_kind(value)}")
        return ()
    out = []
    for i, item in enumerate(value):
        item_line = value.item_line(i) if isinstance(value, Seq) else line
        if c.text(item, item_line, f"{key}[{i}]"):
            out.append(item)
    return tuple(out)


# --- flags and caps -------------------------------------------------------------------------------


def _check_flags(c: _Checker, value: Any, line: int) -> dict[str, Any]:
    if value is None:
        return {}
    if not c.mapping(value, line, "flags", f"flag names to values: {', '.join(KNOWN_KEYS)}"):
        return {}
    c.unknown_keys(value, KNOWN_KEYS, "flags.")
    for name in (FLAG_AI, FLAG_OCR, FLAG_CALLING):
        if name not in value:
            continue
        v = value[name]
        if not (isinstance(v, bool) or (isinstance(v, str) and v.strip().lower() in ("true", "false"))):
            c.add(value.key_line(name), f"flags.{name}",
                  f"expected true or false, got {_kind(v)} (production reads anything else as false, "
                  "so a typo would silently switch the feature off)")
    if ALLOWLIST in value:
        _check_allowlist(c, value[ALLOWLIST], value.key_line(ALLOWLIST))
    if PERCENT in value and value[PERCENT] is not None:
        v = value[PERCENT]
        try:
            pct = float(v) if not isinstance(v, bool) and isinstance(v, (int, float, str)) else None
        except ValueError:
            pct = None
        if pct is None or not 0 <= pct <= 100:
            c.add(value.key_line(PERCENT), f"flags.{PERCENT}", f"expected a number from 0 to 100, got {_kind(v)}")
    return {k: plain(v, [NODE_BUDGET]) for k, v in value.items() if k in KNOWN_KEYS}


def _check_allowlist(c: _Checker, value: Any, line: int) -> None:
    key = f"flags.{ALLOWLIST}"
    if value is None:
        return
    if isinstance(value, str):
        items = [(x.strip(), line) for x in value.split(",") if x.strip()]
    elif isinstance(value, list):
        items = [(x, value.item_line(i) if isinstance(value, Seq) else line) for i, x in enumerate(value)]
    else:
        c.add(line, key, f"expected comma-separated phone numbers or a list of them, got {_kind(value)}")
        return
    for item, item_line in items:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            c.add(item_line, key, f"expected a phone number, got {_kind(item)}")
            continue
        try:
            normalize_phone(str(item))
        except InvalidPhone:
            c.add(item_line, key, f"{str(item)!r} is not a phone number; expected E.164 like +250780000001")


def _check_caps(c: _Checker, value: Any, line: int) -> dict[str, Any]:
    if value is None:
        return {}
    if not c.mapping(value, line, "caps", "cap names to numbers, e.g. {max_vendors_per_request: 10}"):
        return {}
    defaults = Caps()
    names = Caps.names()
    c.unknown_keys(value, names, "caps.")
    out: dict[str, Any] = {}
    for name in names:
        if name not in value:
            continue
        v, key_line, key = value[name], value.key_line(name), f"caps.{name}"
        if isinstance(getattr(defaults, name), int):
            if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
                out[name] = v
            else:
                c.add(key_line, key, f"expected a whole number >= 0, got {_kind(v)}")
        elif name.endswith("_s") and isinstance(v, str):
            try:
                out[name] = parse_duration(v)
            except DurationError as exc:
                c.add(key_line, key, str(exc))
        elif _is_number(v) and v >= 0 and v != float("inf"):
            out[name] = float(v)
        else:
            unit = " (seconds, or a duration like 2m)" if name.endswith("_s") else ""
            c.add(key_line, key, f"expected a number >= 0{unit}, got {_kind(v)}")
    return out


# --- vendors and clients --------------------------------------------------------------------------


def _known_places() -> str:
    return ", ".join(p.name for p in gazetteer())


def _place_ok(c: _Checker, area: Any, line: int, key: str, file: str | None = None) -> bool:
    if not c.text(area, line, key, file=file):
        return False
    if lookup_place(area) is None:
        names = [p.name for p in gazetteer()]
        c.add(line, key, f"unknown place {area!r}{_suggest(area, names)} (known places: {_known_places()}); "
                         "or give lat: and lng:", file)
        return False
    return True


def _phone_ok(c: _Checker, value: Any, line: int, key: str, file: str | None = None) -> str | None:
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


def _id_ok(c: _Checker, value: Any, line: int, key: str, file: str | None = None) -> bool:
    if not c.text(value, line, key, file=file):
        return False
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", value):
        c.add(line, key, f"id {value!r} must be one word (letters, digits, _, -, .)", file)
        return False
    return True


def _check_vendors(c: _Checker, value: Any, line: int) -> tuple[tuple[VendorSpec, ...], set[str]]:
    """The valid vendors, and every id declared (so one bad field does not make steps cry "unknown")."""
    if value is None:
        return (), set()
    file = None
    if isinstance(value, str):
        resolved, tried = _resolve(value, c.base)
        if resolved is None:
            c.add(line, "vendors", f"fixture file {value!r} not found (looked at: "
                                   f"{', '.join(_display(t) for t in tried)}); expected a YAML or CSV vendor list")
            return (), set()
        file = _display(resolved)
        rows, problems = _read_vendor_rows(resolved, file)
        if problems:
            c.problems.extend(problems)
            return (), set()
        value = rows
    elif not isinstance(value, list):
        c.add(line, "vendors", f"expected a list of vendors or a path to a fixture file, got {_kind(value)}")
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


def _check_vendor(c: _Checker, raw: Any, line: int, prefix: str, file: str | None) -> VendorSpec | None:
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
                  f"unknown category {cat!r}{_suggest(cat, known)} (known: {', '.join(known)})", file)
    tags = _list_of_words(c, raw.get("tags"), kl("tags"), f"{prefix}tags", file) if raw.get("tags") else ()
    lat, lng = raw.get("lat"), raw.get("lng")
    for key, v, limit in (("lat", lat, 90), ("lng", lng, 180)):
        if v is not None and not (_is_number(v) and -limit <= v <= limit):
            c.add(kl(key), f"{prefix}{key}", f"expected a number from -{limit} to {limit}, got {_kind(v)}", file)
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
    if "rating" in raw and not (_is_number(raw["rating"]) and 0 <= raw["rating"] <= 5):
        c.add(kl("rating"), f"{prefix}rating", f"expected a number from 0 to 5, got {_kind(raw['rating'])}", file)
    minutes = raw.get("avg_response_minutes", 30.0)
    if not (_is_number(minutes) and 0 <= minutes < float("inf")):
        c.add(kl("avg_response_minutes"), f"{prefix}avg_response_minutes",
              f"expected a number of minutes >= 0, got {_kind(minutes)}", file)
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


def _list_of_words(c: _Checker, value: Any, line: int, key: str, file: str | None) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in re.split(r"[;,|]", value) if v.strip()]
    if not isinstance(value, list) or not value:
        c.add(line, key, f"expected a non-empty list like [pharmacy], got {_kind(value)}", file)
        return ()
    ok = [v for v in value if c.text(v, line, key, file=file)]
    return tuple(ok) if len(ok) == len(value) else ()


def _check_clients(c: _Checker, value: Any, line: int) -> tuple[tuple[ClientSpec, ...], set[str]]:
    if value is None:
        return (), set()
    if not isinstance(value, list):
        c.add(line, "clients", f"expected a list of clients like - {{id: alice, phone: \"+250780000001\"}}, "
                               f"got {_kind(value)}")
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


# --- steps ----------------------------------------------------------------------------------------


class _StepContext:
    def __init__(self, vendor_ids: set[str], client_ids: set[str], step_ids: dict[str, tuple[int, int, str]]):
        self.vendor_ids = vendor_ids
        self.client_ids = client_ids
        self.step_ids = step_ids  # id -> (index, line, kind)
        self.messages_before = 0  # client/vendor steps seen so far


def _check_steps(c: _Checker, data: Map, vendor_ids: set[str], client_ids: set[str]) -> tuple[Step, ...]:
    steps = data.get("steps")
    line = data.key_line("steps")
    if "steps" not in data:
        c.add(data.line, "steps", "missing; a scenario needs `steps:` with at least one step")
        return ()
    if not isinstance(steps, list) or not steps:
        c.add(line, "steps", f"expected a non-empty list of steps, got {_kind(steps)}")
        return ()
    ids: dict[str, tuple[int, int, str]] = {}
    for i, raw in enumerate(steps, 1):
        if isinstance(raw, Map) and "id" in raw and isinstance(raw["id"], str):
            kinds = [k for k in raw if k in ACTIONS]
            sid = raw["id"]
            if sid in ids:
                c.add(raw.key_line("id"), f"step {i} id",
                      f"step id {sid!r} is already used by step {ids[sid][0]} (line {ids[sid][1]})")
            elif sid == "last":
                c.add(raw.key_line("id"), f"step {i} id", "'last' is reserved (redeliver: last); choose another id")
            else:
                ids[sid] = (i, raw.key_line("id"), kinds[0] if len(kinds) == 1 else "?")
    ctx = _StepContext(vendor_ids, client_ids, ids)
    out = []
    for i, raw in enumerate(steps, 1):
        item_line = steps.item_line(i - 1) if isinstance(steps, Seq) else line
        step = _check_step(c, raw, i, item_line, ctx)
        if step is not None:
            out.append(step)
    return tuple(out)


def _check_step(c: _Checker, raw: Any, index: int, line: int, ctx: _StepContext) -> Step | None:
    where = f"step {index}"
    if not isinstance(raw, Map):
        hint = ""
        if isinstance(raw, str) and raw.split(" ", 1)[0] in ACTIONS:
            word, _, rest = raw.partition(" ")
            hint = f"; did you mean `{word}: {rest.strip()}` (a colon after the action)?"
        c.add(line, where, f"each step must be a mapping with one action key ({', '.join(ACTIONS)}), "
                           f"got {_kind(raw)}{hint}")
        return None
    first_line = min(raw.key_lines.values(), default=raw.line)
    before = len(c.problems)
    actions = [k for k in raw if k in ACTIONS]
    if not actions:
        extras = sorted({k for extra in STEP_EXTRA.values() for k in extra})
        for key in raw:
            if key not in ("id", "note", *extras):
                c.add(raw.key_line(key), f"{where} {key}",
                      f"unknown step key {key!r}{_suggest(key, ACTIONS)} (actions: {', '.join(ACTIONS)})")
        c.add(first_line, where, f"no action key; a step needs exactly one of: {', '.join(ACTIONS)}")
        return None
    if len(actions) > 1:
        c.add(raw.key_line(actions[1]), f"{where} {actions[1]}",
              f"two action keys {actions[0]!r} and {actions[1]!r} in one step; split them into two steps")
        return None
    kind = actions[0]
    allowed = (kind, "id", "note", *STEP_EXTRA.get(kind, ()))
    for key in raw:
        if key not in allowed:
            c.add(raw.key_line(key), f"{where} {key}",
                  f"unknown key {key!r} for a {kind} step{_suggest(key, allowed)} (expected: {', '.join(allowed)})")
    sid, note = raw.get("id"), raw.get("note")
    if "id" in raw:
        c.text(sid, raw.key_line("id"), f"{where} id")
    if "note" in raw and note is not None:
        c.text(note, raw.key_line("note"), f"{where} note", empty_ok=True)
    extra: dict[str, Any] = {}
    _STEP_CHECKS[kind](c, raw, where, ctx, extra)
    if kind in ("client", "vendor"):
        ctx.messages_before += 1
    if len(c.problems) > before:
        return None
    budget = [NODE_BUDGET]
    try:
        args = {k: plain(v, budget) for k, v in raw.items() if k not in ("id", "note")}
    except Cyclic as exc:
        c.add(raw.key_line(kind), f"{where} {kind}", str(exc))
        return None
    args.update(extra)
    key_lines: dict[str, int] = {}
    collect_key_lines(raw, "", key_lines, [NODE_BUDGET])
    return Step(index=index, line=first_line, kind=kind, args=args, id=sid, note=note, key_lines=key_lines)


def _party(c: _Checker, value: Any, line: int, key: str, known: set[str], what: str) -> bool:
    if not isinstance(value, str):
        c.add(line, key, f"expected a {what} id, got {_kind(value)}")
        return False
    if value not in known:
        defined = ", ".join(sorted(known)) or f"none (add a `{what}s:` list)"
        c.add(line, key, f"unknown {what} {value!r} (defined {what}s: {defined}){_suggest(value, sorted(known))}")
        return False
    return True


def _step_client(c: _Checker, raw: Map, where: str, ctx: _StepContext, extra: dict[str, Any]) -> None:
    _party(c, raw["client"], raw.key_line("client"), f"{where} client", ctx.client_ids, "client")
    given = [k for k in CLIENT_MESSAGES if k in raw]
    if not given:
        c.add(raw.key_line("client"), f"{where} client",
              f"a client step needs one of {', '.join(CLIENT_MESSAGES)} (what the client sends)")
        return
    if len(given) > 1:
        c.add(raw.key_line(given[1]), f"{where} {given[1]}",
              f"a client step sends one message: {given[0]!r} and {given[1]!r} are both given; split them")
        return
    kind = given[0]
    line = raw.key_line(kind)
    if kind in ("text", "button"):
        c.text(raw[kind], line, f"{where} {kind}")
        if "caption" in raw:
            c.add(raw.key_line("caption"), f"{where} caption", "caption goes with image: or document:, not " + kind)
    else:
        if "caption" in raw and raw["caption"] is not None:
            c.text(raw["caption"], raw.key_line("caption"), f"{where} caption", empty_ok=True)
        _media(c, raw[kind], line, f"{where} {kind}", extra)


def _media(c: _Checker, value: Any, line: int, key: str, extra: dict[str, Any]) -> None:
    if isinstance(value, Map):
        _render_spec(c, value, key)
        return
    if not isinstance(value, str) or not value.strip():
        c.add(line, key, f"expected a fixture path (PNG/JPEG/PDF) or a render spec like "
                         f"{{render: prescription, items: [...]}}, got {_kind(value)}")
        return
    resolved, tried = _resolve(value, c.base)
    if resolved is None:
        c.add(line, key, f"file {value!r} not found (looked at: {', '.join(_display(t) for t in tried)})")
    elif resolved.suffix.lower() not in MEDIA_SUFFIXES:
        c.add(line, key, f"{value!r} is not a PNG, JPEG or PDF file (expected one of {', '.join(MEDIA_SUFFIXES)})")
    else:
        extra["path"] = str(resolved)


def _render_spec(c: _Checker, spec: Map, key: str) -> None:
    kl = spec.key_line
    c.unknown_keys(spec, RENDER_KEYS, f"{key}.")
    kind = spec.get("render")
    if "render" not in spec:
        c.add(spec.line, f"{key}.render", f"missing; expected render: one of {', '.join(RENDER_KINDS)}")
    else:
        c.choice(kind, RENDER_KINDS, kl("render"), f"{key}.render")
    if "degrade" in spec:
        c.choice(spec["degrade"], RENDER_LEVELS, kl("degrade"), f"{key}.degrade")
    if "seed" in spec and (not isinstance(spec["seed"], int) or isinstance(spec["seed"], bool)):
        c.add(kl("seed"), f"{key}.seed", f"expected a whole number, got {_kind(spec['seed'])}")
    if "title" in spec:
        c.text(spec["title"], kl("title"), f"{key}.title")
    items, lines = spec.get("items"), spec.get("lines")
    if lines is not None and not (isinstance(lines, list) and all(
            isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in lines)):
        c.add(kl("lines"), f"{key}.lines", f"expected a list of text lines, got {_kind(lines)}")
    if items is not None:
        if not isinstance(items, list):
            c.add(kl("items"), f"{key}.items", f"expected a list of item mappings, got {_kind(items)}")
        elif kind in RENDER_ITEM_KEYS:
            required, allowed = RENDER_ITEM_KEYS[kind]
            for i, item in enumerate(items):
                item_key, item_line = f"{key}.items[{i}]", items.item_line(i) if isinstance(items, Seq) else kl("items")
                if not c.mapping(item, item_line, item_key, ", ".join(allowed)):
                    continue
                for k in required:
                    if k not in item:
                        c.add(item.line, f"{item_key}.{k}", f"missing; a {kind} item needs {k}")
                c.unknown_keys(item, allowed, f"{item_key}.")
    if kind in RENDER_ITEM_KEYS and not items and not lines:
        c.add(spec.line, key, "a render spec needs items: [...] or lines: [...]")


def _step_vendor(c: _Checker, raw: Map, where: str, ctx: _StepContext, extra: dict[str, Any]) -> None:
    _party(c, raw["vendor"], raw.key_line("vendor"), f"{where} vendor", ctx.vendor_ids, "vendor")
    if "text" not in raw:
        c.add(raw.key_line("vendor"), f"{where} text", "missing; a vendor step needs text: (the vendor's reply)")
    else:
        c.text(raw["text"], raw.key_line("text"), f"{where} text")


def _step_redeliver(c: _Checker, raw: Map, where: str, ctx: _StepContext, extra: dict[str, Any]) -> None:
    target, line, key = raw["redeliver"], raw.key_line("redeliver"), f"{where} redeliver"
    if not isinstance(target, str):
        c.add(line, key, f"expected `last` or the id of an earlier client/vendor step, got {_kind(target)}")
    elif target == "last":
        if ctx.messages_before == 0:
            c.add(line, key, "`redeliver: last` needs an earlier client or vendor step to redeliver")
    elif target not in ctx.step_ids:
        known = [k for k, (_, _, kind) in ctx.step_ids.items() if kind in ("client", "vendor")]
        c.add(line, key, f"no step has id {target!r}{_suggest(target, known)}; expected `last` or one of: "
                         f"{', '.join(known) or 'none (add id: to a client or vendor step)'}")
    else:
        index, id_line, kind = ctx.step_ids[target]
        this = int(where.split()[1])
        if index >= this:
            c.add(line, key, f"step id {target!r} is defined later (line {id_line}); redeliver replays an "
                             "earlier message")
        elif kind not in ("client", "vendor"):
            c.add(line, key, f"step {target!r} (line {id_line}) is a `{kind}:` step; only client and vendor "
                             "messages can be redelivered")


def _step_advance(c: _Checker, raw: Map, where: str, ctx: _StepContext, extra: dict[str, Any]) -> None:
    try:
        extra["seconds"] = parse_duration(raw["advance"])
    except DurationError as exc:
        c.add(raw.key_line("advance"), f"{where} advance", str(exc))


def _step_brain_next(c: _Checker, raw: Map, where: str, ctx: _StepContext, extra: dict[str, Any]) -> None:
    """Raw brain output, deliberately not validated: broken outputs are what these steps test."""


def _step_call_status(c: _Checker, raw: Map, where: str, ctx: _StepContext, extra: dict[str, Any]) -> None:
    c.choice(raw["call_status"], CALL_STATUSES, raw.key_line("call_status"), f"{where} call_status")


def _step_fault(c: _Checker, raw: Map, where: str, ctx: _StepContext, extra: dict[str, Any]) -> None:
    spec, key = raw["fault"], f"{where} fault"
    if not c.mapping(spec, raw.key_line("fault"), key, "{target: whatsapp_send, status: 500, times: 2}"):
        return
    kl = spec.key_line
    c.unknown_keys(spec, FAULT_KEYS, f"{key}.")
    if "target" not in spec:
        c.add(spec.line, f"{key}.target", f"missing; expected one of {', '.join(FAULT_TARGETS)}")
    else:
        c.choice(spec["target"], FAULT_TARGETS, kl("target"), f"{key}.target")
    status = spec.get("status")
    if status is not None and not (isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599):
        c.add(kl("status"), f"{key}.status", f"expected an HTTP status code (100..599), got {_kind(status)}")
    if spec.get("kind") is not None:
        c.choice(spec["kind"], FAULT_KINDS, kl("kind"), f"{key}.kind")
    times = spec.get("times", 1)
    if not (isinstance(times, int) and not isinstance(times, bool) and times >= 1):
        c.add(kl("times"), f"{key}.times", f"expected a whole number >= 1, got {_kind(times)}")
    retry = spec.get("retry_after")
    if retry is not None and not (_is_number(retry) and 0 <= retry < float("inf")):
        c.add(kl("retry_after"), f"{key}.retry_after", f"expected seconds (a number >= 0), got {_kind(retry)}")
    extra["fault"] = {**plain(spec, [NODE_BUDGET]), "times": times}


# --- expect ---------------------------------------------------------------------------------------

# Leaf kinds of expectation values.
COUNT, BOOL, TEXTS, TEXT_LIST, VENDOR, VENDORS, STATE, STATE_LIST, CLIENT = (
    "count", "bool", "texts", "text_list", "vendor", "vendors", "state", "state_list", "client")

EXPECT: dict[str, Any] = {
    "state": STATE,
    "states": STATE_LIST,
    "outreach": {"count": COUNT, "batches": COUNT, "vendors": VENDORS, "not_vendors": VENDORS},
    "vendor_received": {"vendor": VENDOR, "count": COUNT, "contains": TEXTS, "not_contains": TEXTS},
    "client_received": {"count": COUNT, "contains": TEXTS, "last_contains": TEXTS, "not_contains": TEXTS},
    "shortlist": {"size": COUNT, "order": VENDORS, "includes": VENDORS, "excludes": VENDORS},
    "brain": {"calls": COUNT, "rejected": COUNT, "kill_switch": BOOL},
    "ocr": {"jobs": COUNT, "status": OCR_STATUSES, "type": OCR_TYPES, "drugs": TEXT_LIST, "uncertain": BOOL},
    "calls": {"count": COUNT, "last_status": CALL_ROW_STATUSES},
    "consent": CONSENT_STATUSES,
    "vendor_opted_out": VENDORS,
    "handled_by": ("ai", "coded"),
    "injection": {"flagged": COUNT},
    "audit": {"event": "text", "count": COUNT},
    "ledger": {"inbound": COUNT},
    "client": CLIENT,
}
EXPECT_REQUIRED = {"vendor_received": ("vendor",), "audit": ("event",)}


def _step_expect(c: _Checker, raw: Map, where: str, ctx: _StepContext, extra: dict[str, Any]) -> None:
    spec, key = raw["expect"], f"{where} expect"
    if not c.mapping(spec, raw.key_line("expect"), key, f"what to check: {', '.join(EXPECT)}"):
        return
    if not spec:
        c.add(spec.line, key, f"nothing to check; expected at least one of: {', '.join(EXPECT)}")
    c.unknown_keys(spec, EXPECT, f"{key}.")
    normalized: dict[str, Any] = {}
    for name in spec:  # the author's order: the runner reports mismatches in this order
        if name not in EXPECT:
            continue
        rule = EXPECT[name]
        value, line, path = spec[name], spec.key_line(name), f"{key}.{name}"
        if isinstance(rule, dict):
            if not c.mapping(value, line, path, ", ".join(rule)):
                continue
            c.unknown_keys(value, rule, f"{path}.")
            for req in EXPECT_REQUIRED.get(name, ()):
                if req not in value:
                    c.add(value.line, f"{path}.{req}", f"missing; {name} needs {req}:")
            if not value:
                c.add(value.line, path, f"nothing to check; expected some of: {', '.join(rule)}")
            sub = {}
            for sub_name, sub_rule in rule.items():
                if sub_name in value:
                    sub[sub_name] = _leaf(c, value[sub_name], sub_rule, value.key_line(sub_name),
                                          f"{path}.{sub_name}", ctx)
            normalized[name] = {**plain(value, [NODE_BUDGET]), **sub}
        else:
            normalized[name] = _leaf(c, value, rule, line, path, ctx)
    extra["expect"] = normalized


def _leaf(c: _Checker, value: Any, rule: Any, line: int, key: str, ctx: _StepContext) -> Any:
    """Check one expectation value; returns it normalized (a single id or text becomes a list)."""
    if isinstance(rule, tuple):
        c.choice(value, rule, line, key)
    elif rule == COUNT:
        c.count(value, line, key)
    elif rule == BOOL:
        c.boolean(value, line, key)
    elif rule == "text":
        c.text(value, line, key)
    elif rule == TEXTS:
        c.texts(value, line, key)
    elif rule == TEXT_LIST:
        return c.texts(value, line, key) or value
    elif rule == STATE:
        c.choice(value, STATES, line, key)
    elif rule == STATE_LIST:
        if not isinstance(value, list) or not value:
            c.add(line, key, f"expected a list of states like [collecting_requirements, handed_off], got {_kind(value)}")
        else:
            for i, s in enumerate(value):
                c.choice(s, STATES, value.item_line(i) if isinstance(value, Seq) else line, f"{key}[{i}]")
    elif rule == VENDOR:
        _party(c, value, line, key, ctx.vendor_ids, "vendor")
    elif rule == CLIENT:
        _party(c, value, line, key, ctx.client_ids, "client")
    elif rule == VENDORS:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            c.add(line, key, f"expected a list of vendor ids, got {_kind(value)}")
            return value
        for i, v in enumerate(items):
            item_line = items.item_line(i) if isinstance(items, Seq) else line
            _party(c, v, item_line, f"{key}[{i}]" if items is value else key, ctx.vendor_ids, "vendor")
        return list(items)
    return plain(value, [NODE_BUDGET])


_STEP_CHECKS = {
    "client": _step_client, "vendor": _step_vendor, "redeliver": _step_redeliver, "advance": _step_advance,
    "brain_next": _step_brain_next, "call_status": _step_call_status, "fault": _step_fault,
    "expect": _step_expect,
}


# --- vendor fixtures ------------------------------------------------------------------------------

_CSV_FLOATS = ("lat", "lng", "rating", "avg_response_minutes")
_CSV_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _read_vendor_rows(path: Path, file: str) -> tuple[list[Map], list[Problem]]:
    text, problems = read_text(path, file)
    if text is None:
        return [], problems
    if path.suffix.lower() == ".csv":
        return _csv_rows(text, file)
    data, problems = parse_yaml(text, file)
    if isinstance(data, Map) and isinstance(data.get("vendors"), list):
        data = data["vendors"]  # {vendors: [...]} is accepted too, as simulators/vendors.py does
    if data is None and not problems:
        problems = [Problem(file, 1, "vendors", "the fixture is empty; expected a list of vendor mappings")]
    elif data is not None and not isinstance(data, list):
        problems.append(Problem(file, getattr(data, "line", 1), "vendors",
                                f"expected a list of vendor mappings, got {_kind(data)}"))
    return (data if isinstance(data, list) else []), problems


def _csv_rows(text: str, file: str) -> tuple[list[Map], list[Problem]]:
    problems: list[Problem] = []
    rows: list[Map] = []
    try:
        reader = csv.DictReader(io.StringIO(text))
        header = reader.fieldnames
        if not header:
            return [], [Problem(file, 1, "vendors", "the CSV has no header row; expected id,name,phone,categories,...")]
        for row in reader:
            line = reader.line_num
            m = Map()
            m.line, m.key_lines = line, {}
            for key, value in row.items():
                if key is None:
                    problems.append(Problem(file, line, "vendors", "the row has more cells than the header"))
                    continue
                if value is None or not str(value).strip():
                    continue  # an empty cell is a missing value, so defaults apply
                key, value = key.strip(), value.strip()
                if key in _CSV_FLOATS:
                    try:
                        value = float(value)
                    except ValueError:
                        pass  # left as text: the vendor check reports "expected a number"
                elif key in VENDOR_BOOLS:
                    value = _CSV_BOOLS.get(value.lower(), value)
                m[key], m.key_lines[key] = value, line
            rows.append(m)
    except csv.Error as exc:
        problems.append(Problem(file, 1, "vendors", f"cannot read the CSV: {exc}"))
    seq = Seq(rows)
    seq.line, seq.item_lines = 1, [r.line for r in rows]
    return seq, problems


def load_vendor_fixture(path: str | Path) -> list[dict[str, Any]]:
    """A YAML list or a CSV file (header row) of vendor mappings, as plain dicts.

    Only the file's shape is checked here (readable, a list); each vendor is checked when a scenario
    uses the fixture. Raises ``ScenarioInvalid``.
    """
    p = Path(path)
    rows, problems = _read_vendor_rows(p, str(path))
    if problems:
        raise ScenarioInvalid(problems)
    try:
        return [plain(r, [NODE_BUDGET]) for r in rows]
    except (Cyclic, RecursionError) as exc:
        raise ScenarioInvalid([Problem(str(path), 1, "vendors", str(exc) or "the fixture nests too deeply")]) from None


# --- discovery ------------------------------------------------------------------------------------


def discover(paths: list[str]) -> list[Path]:
    """Scenario files named or found (``*.yaml``/``*.yml`` at any depth), sorted, each once."""
    found: set[Path] = set()
    problems: list[Problem] = []
    for raw in paths:
        p = Path(raw)
        try:
            if p.is_dir():
                for f in p.rglob("*"):
                    rel = f.relative_to(p).parts
                    if f.suffix in (".yaml", ".yml") and f.is_file() and not any(s.startswith(".") for s in rel):
                        found.add(f)
            elif p.is_file():
                found.add(p)
            else:
                problems.append(Problem(str(raw), 0, "path", "no such file or folder"))
        except (OSError, ValueError) as exc:
            problems.append(Problem(str(raw), 0, "path", f"cannot read: {exc}"))
    if problems:
        raise ScenarioInvalid(problems)
    return sorted(found, key=lambda f: str(f))
