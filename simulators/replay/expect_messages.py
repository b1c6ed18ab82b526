"""Message checks by position, type, buttons, list rows, pattern and count; and the brain's context pack.

The messages are what the WhatsApp fake delivered (ground truth, in order), not the ledger's record
of what the concierge meant to send.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from concierge.phones import mask_phones_in

from .expectations import Mismatch, Observer, _check_count, _text_checks
from .model import Count

BASE_TEXT_KEYS = ("contains", "not_contains", "last_contains")


def message_type(msg: Any) -> str:
    if msg.type == "interactive":
        return "list" if getattr(msg, "rows", ()) else "buttons"
    return msg.type


def _sent(obs: Observer, phone: str | None) -> list[Any]:
    return [m for m in obs.world.whatsapp.sent if phone is None or m.to == phone]


def _describe(msg: Any) -> str:
    return f"{message_type(msg)} {msg.text[:120]!r}"


def check_messages(prefix: str, msgs: list[Any], value: dict[str, Any]) -> list[Mismatch]:
    out: list[Mismatch] = []
    if "count" in value:
        out += _check_count(f"{prefix}.count", value["count"], len(msgs))
    chosen, one = msgs, msgs[-1] if msgs else None
    if "nth" in value:
        n = int(value["nth"])
        index = n - 1 if n > 0 else len(msgs) + n
        if not 0 <= index < len(msgs):
            return out + [(f"{prefix}.nth", f"expected a message #{n}, but only {len(msgs)} were received")]
        one = msgs[index]
        chosen = [one]
    texts = [m.text or "" for m in chosen]
    out += _text_checks(prefix, texts, {k: value[k] for k in BASE_TEXT_KEYS if k in value})
    for pattern in value.get("matches") or []:
        if not any(re.search(pattern, t) for t in texts):
            out.append((f"{prefix}.matches", f"expected a message matching /{pattern}/; "
                                             f"{'got ' + repr(texts[-1][:160]) if texts else 'no message received'}"))
    for text, count in (value.get("count_of") or {}).items():
        found = sum(t.count(text) for t in texts)
        if not Count.parse(count).matches(found):
            out.append((f"{prefix}.count_of", f"expected {Count.parse(count)} occurrence(s) of {text!r}, got {found}"))
    if one is None:
        for key in ("type", "buttons", "rows"):
            if key in value:
                out.append((f"{prefix}.{key}", "no message received"))
        return out
    where = f"message #{msgs.index(one) + 1}" if "nth" in value else "the last message"
    if "type" in value and message_type(one) != value["type"]:
        out.append((f"{prefix}.type", f"expected {where} to be {value['type']}, got {_describe(one)}"))
    for key, offered in (("buttons", [t for _, t in one.buttons]),
                         ("rows", [t for _, t in getattr(one, "rows", ())])):
        if key in value:
            wanted = [w.casefold() for w in value[key]]
            missing = [w for w, f in zip(value[key], wanted, strict=True) if f not in [o.casefold() for o in offered]]
            if missing:
                out.append((f"{prefix}.{key}", f"expected {where} to offer {missing}; it offers {offered or 'none'} "
                                               f"({_describe(one)})"))
    return out


def check_client_received(obs: Observer, client: str, value: dict[str, Any]) -> list[Mismatch]:
    return check_messages("client_received", _sent(obs, obs.client_phones[client]), value)


def check_vendor_received(obs: Observer, client: str, value: dict[str, Any]) -> list[Mismatch]:
    return check_messages("vendor_received", _sent(obs, obs.vendor_phones[value["vendor"]]), value)


def check_sent(obs: Observer, client: str, value: dict[str, Any]) -> list[Mismatch]:
    to = value.get("to")
    phone = None if to is None else obs.client_phones.get(to) or obs.vendor_phones.get(to)
    return check_messages("sent", _sent(obs, phone), value)


def check_context_pack(obs: Observer, client: str, value: dict[str, Any]) -> list[Mismatch]:
    packs = getattr(obs.world.brain, "packs", [])
    if not packs:
        return [("context_pack", "the brain was never given a context pack")]
    pack = packs[-1]
    out: list[Mismatch] = []
    for key in value.get("has") or []:
        if key not in pack:
            out.append(("context_pack.has", f"expected key {key!r} in the last context pack; keys: {sorted(pack)}"))
    for key in value.get("lacks") or []:
        if key in pack:
            out.append(("context_pack.lacks", f"expected no key {key!r} in the last context pack"))
    for key in ("event", "state"):
        if key in value and pack.get(key) != value[key]:
            out.append((f"context_pack.{key}", f"expected {value[key]}, got {pack.get(key)}"))
    if "redacted" in value:
        text = json.dumps(pack, ensure_ascii=False, default=str)
        phones = sorted(set(obs.client_phones.values()) | set(obs.vendor_phones.values()))
        leaked = [p for p in phones if p in text or p.lstrip("+") in text] or (
            ["a phone number"] if mask_phones_in(text) != text else [])
        if bool(value["redacted"]) != (not leaked):
            out.append(("context_pack.redacted", f"expected the pack {'redacted' if value['redacted'] else 'unredacted'}"
                                                 f"; {'found ' + ', '.join(leaked) if leaked else 'no phone number in it'}"))
    return out


def check_db_rows(obs: Observer, client: str, value: dict[str, Any]) -> list[Mismatch]:
    from .ledger_tables import ledger_tables

    table, where = value["table"], dict(value.get("where") or {})
    unknown = [col for col in where if col not in ledger_tables()[table]]
    if unknown:
        return [("db_rows.where", f"table {table} has no column {unknown[0]!r} (columns: "
                                  f"{', '.join(ledger_tables()[table])})")]
    return _check_count("db_rows.count", value["count"], obs.world.ledger.count_rows(table, **where))


AUTHORING_CHECKS: dict[str, Callable[[Observer, str, Any], list[Mismatch]]] = {
    "client_received": check_client_received,
    "vendor_received": check_vendor_received,
    "sent": check_sent,
    "context_pack": check_context_pack,
    "db_rows": check_db_rows,
}
