"""Meta's WhatsApp Cloud API webhooks: verify the signature, then read the body into domain facts.

Nothing unsigned is parsed. A signed body that is not the Cloud API shape raises ``WebhookMalformed``
naming the JSON path at fault; message types we do not act on still parse (kind ``unsupported`` or
``unknown``) so that the sender can be answered. See docs/whatsapp.md for the wire format.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from .errors import SignatureInvalid, WebhookMalformed
from .json_text import read_json
from .phones import InvalidPhone, normalize_phone

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE_RE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_ASCII_DIGITS = re.compile(r"[0-9]+")

MEDIA_KINDS = ("image", "document", "audio", "video", "sticker")
# Types Meta documents that we read no content from; anything else is "unknown".
_CONTENTLESS_KINDS = ("location", "reaction", "contacts", "system")


@dataclass(frozen=True)
class InboundMessage:
    wamid: str
    from_phone: str  # E.164 with '+'
    timestamp: int
    kind: str
    text: str | None = None
    media_id: str | None = None
    mime_type: str | None = None
    caption: str | None = None
    filename: str | None = None
    button_id: str | None = None
    context_wamid: str | None = None
    profile_name: str | None = None


@dataclass(frozen=True)
class StatusUpdate:
    wamid: str
    status: str
    recipient: str  # E.164 when Meta gave a phone number, else the raw id (BSUID, group id)
    timestamp: int
    callback_data: str | None = None
    errors: tuple[dict, ...] = ()


def verify_signature(raw_body: bytes, signature_header: str | None, app_secret: str) -> None:
    """Raise ``SignatureInvalid("missing"|"malformed"|"mismatch"|"no_secret")`` unless Meta signed it."""
    if not app_secret:
        # Without a secret every signature would "verify" against the empty key: refuse instead.
        raise SignatureInvalid("no_secret")
    if signature_header is None or (isinstance(signature_header, str) and not signature_header.strip()):
        raise SignatureInvalid("missing")
    if not isinstance(signature_header, str):
        raise SignatureInvalid("malformed")
    match = _SIGNATURE_RE.fullmatch(signature_header.strip())
    if match is None:
        raise SignatureInvalid("malformed")
    expected = hmac.new(app_secret.encode("utf-8"), _as_bytes(raw_body), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match.group(1).lower()):
        raise SignatureInvalid("mismatch")


def parse_webhook(
    raw_body: bytes, signature_header: str | None, app_secret: str
) -> list[InboundMessage | StatusUpdate]:
    """Every message and status in one signed webhook delivery, in payload order."""
    verify_signature(raw_body, signature_header, app_secret)
    try:
        payload = read_json(_as_bytes(raw_body))  # json.loads' value or exception, faster
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise WebhookMalformed(f"body: not JSON ({type(exc).__name__})") from None
    root = _obj(payload, "body")
    if root.get("object") != "whatsapp_business_account":
        raise WebhookMalformed("body.object: expected 'whatsapp_business_account'")
    out: list[InboundMessage | StatusUpdate] = []
    for i, entry in enumerate(_list(root, "entry", "body", required=True)):
        entry_path = f"entry[{i}]"
        entry = _obj(entry, entry_path)
        for j, change in enumerate(_list(entry, "changes", entry_path, required=True)):
            path = f"{entry_path}.changes[{j}]"
            change = _obj(change, path)
            field = _str(change, "field", path, required=True)
            if field != "messages":
                continue  # other subscribed fields (templates, account updates) are not ours to read
            value = _obj(_get(change, "value", path), f"{path}.value")
            out.extend(_read_value(value, f"{path}.value"))
    return out


# --- the "messages" field ------------------------------------------------------------------------


def _read_value(value: dict, path: str) -> list[InboundMessage | StatusUpdate]:
    contacts = [_obj(c, f"{path}.contacts[{k}]") for k, c in enumerate(_list(value, "contacts", path))]
    out: list[InboundMessage | StatusUpdate] = []
    for k, raw in enumerate(_list(value, "messages", path)):
        msg_path = f"{path}.messages[{k}]"
        out.append(_read_message(_obj(raw, msg_path), contacts, msg_path, f"{path}.contacts"))
    for k, raw in enumerate(_list(value, "statuses", path)):
        out.append(_read_status(_obj(raw, f"{path}.statuses[{k}]"), f"{path}.statuses[{k}]"))
    return out


def _read_message(msg: dict, contacts: list[dict], path: str, contacts_path: str) -> InboundMessage:
    wamid = _str(msg, "id", path, required=True, non_empty=True)
    kind = _str(msg, "type", path, required=True)
    timestamp = _timestamp(msg, path)
    sender = _str(msg, "from", path)
    contact = _contact_for(sender, contacts, contacts_path)
    if sender is None and contact is not None:
        sender = _str(contact, "wa_id", f"{contacts_path}[0]")
    if not sender:
        # A username-only user (BSUID, no phone) cannot be answered by phone: not ours to read.
        raise WebhookMalformed(f"{path}: missing 'from'")
    from_phone = _phone(sender, f"{path}.from")
    profile_name = None
    if contact is not None and isinstance(contact.get("profile"), dict):
        name = contact["profile"].get("name")
        profile_name = name if isinstance(name, str) and name else None
    context_wamid = None
    if "context" in msg:
        context = _obj(msg["context"], f"{path}.context")
        context_wamid = _str(context, "id", f"{path}.context")

    fields: dict[str, Any] = {}
    if kind == "text":
        body = _obj(_get(msg, "text", path), f"{path}.text")
        fields["text"] = _str(body, "body", f"{path}.text", required=True)
    elif kind in MEDIA_KINDS:
        media_path = f"{path}.{kind}"
        media = _obj(_get(msg, kind, path), media_path)
        fields["media_id"] = _str(media, "id", media_path, required=True, non_empty=True)
        fields["mime_type"] = _str(media, "mime_type", media_path)
        fields["caption"] = _str(media, "caption", media_path)
        fields["filename"] = _str(media, "filename", media_path)
    elif kind == "button":
        button = _obj(_get(msg, "button", path), f"{path}.button")
        fields["text"] = _str(button, "text", f"{path}.button")
        fields["button_id"] = _str(button, "payload", f"{path}.button")
    elif kind == "interactive":
        fields.update(_read_interactive(_obj(_get(msg, "interactive", path), f"{path}.interactive"),
                                        f"{path}.interactive"))
    elif kind != "unsupported" and kind not in _CONTENTLESS_KINDS:
        kind = "unknown"
    return InboundMessage(
        wamid=wamid, from_phone=from_phone, timestamp=timestamp, kind=kind,
        context_wamid=context_wamid, profile_name=profile_name, **fields,
    )


def _read_interactive(interactive: dict, path: str) -> dict[str, Any]:
    sub = _str(interactive, "type", path, required=True)
    if sub in ("button_reply", "list_reply"):
        reply = _obj(_get(interactive, sub, path), f"{path}.{sub}")
        return {
            "button_id": _str(reply, "id", f"{path}.{sub}", required=True),
            "text": _str(reply, "title", f"{path}.{sub}"),
        }
    return {}  # flows (nfm_reply) and future subtypes: the kind alone tells the concierge


def _read_status(status: dict, path: str) -> StatusUpdate:
    wamid = _str(status, "id", path, required=True, non_empty=True)
    state = _str(status, "status", path, required=True, non_empty=True)
    timestamp = _timestamp(status, path)
    recipient = _str(status, "recipient_id", path) or _str(status, "recipient_user_id", path)
    if not recipient:
        raise WebhookMalformed(f"{path}: missing 'recipient_id'")
    if _ASCII_DIGITS.fullmatch(recipient):
        try:
            recipient = normalize_phone("+" + recipient)
        except InvalidPhone:
            pass  # a group id or an unusual number: kept as Meta sent it
    errors = tuple(
        _obj(e, f"{path}.errors[{k}]") for k, e in enumerate(_list(status, "errors", path))
    )
    return StatusUpdate(
        wamid=wamid, status=state, recipient=recipient, timestamp=timestamp,
        callback_data=_str(status, "biz_opaque_callback_data", path), errors=errors,
    )


def _contact_for(sender: str | None, contacts: list[dict], path: str) -> dict | None:
    for k, contact in enumerate(contacts):
        wa_id = _str(contact, "wa_id", f"{path}[{k}]")
        if sender is not None and wa_id == sender:
            return contact
    return contacts[0] if len(contacts) == 1 else None


# --- small readers that name the path of what is wrong -------------------------------------------


def _as_bytes(raw_body: Any) -> bytes:
    if isinstance(raw_body, (bytes, bytearray, memoryview)):
        return bytes(raw_body)
    if isinstance(raw_body, str):
        return raw_body.encode("utf-8", "surrogatepass")
    raise WebhookMalformed(f"body: expected bytes, got {type(raw_body).__name__}")


def _obj(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise WebhookMalformed(f"{path}: expected an object, got {_json_type(value)}")
    return value


def _get(obj: dict, key: str, path: str) -> Any:
    if key not in obj:
        raise WebhookMalformed(f"{path}: missing '{key}'")
    return obj[key]


def _list(obj: dict, key: str, path: str, *, required: bool = False) -> list:
    if key not in obj:
        if required:
            raise WebhookMalformed(f"{path}: missing '{key}'")
        return []
    value = obj[key]
    if not isinstance(value, list):
        raise WebhookMalformed(f"{path}.{key}: expected an array, got {_json_type(value)}")
    return value


def _str(obj: dict, key: str, path: str, *, required: bool = False, non_empty: bool = False) -> str | None:
    if key not in obj or obj[key] is None:
        if required:
            raise WebhookMalformed(f"{path}: missing '{key}'")
        return None
    value = obj[key]
    if not isinstance(value, str):
        raise WebhookMalformed(f"{path}.{key}: expected a string, got {_json_type(value)}")
    if non_empty and not value:
        raise WebhookMalformed(f"{path}.{key}: empty")
    return value


def _timestamp(obj: dict, path: str) -> int:
    value = _get(obj, "timestamp", path)
    # Meta sends Unix seconds as a string of digits; a bare integer is accepted as well.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and _ASCII_DIGITS.fullmatch(value) and len(value) <= 18:
        return int(value)
    raise WebhookMalformed(f"{path}.timestamp: expected Unix seconds, got {_json_type(value)}")


def _phone(raw: str, path: str) -> str:
    # wa_ids are international numbers without '+': "250788000101", "16505551234".
    text = "+" + raw if _ASCII_DIGITS.fullmatch(raw) else raw
    try:
        return normalize_phone(text)
    except InvalidPhone:
        raise WebhookMalformed(f"{path}: not a phone number") from None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
