"""The people on the other end: what they send in, what their phones report, and each conversation.

An inbound message (text, a tap on a reply button or a list row, an image or a document) becomes the
fake's signed ``messages`` webhook and is handed to delivery. Every message the business sends gets
the status webhooks a phone produces: ``sent`` and ``delivered`` at once, ``read`` when the person
next writes (they read the chat before answering), or ``failed`` instead when a ``message_status``
fault is armed. The conversation log of a phone holds both directions in order, with each
webhook's delivery attempts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from concierge.phones import InvalidPhone, normalize_phone

from ..whatsapp import FakeWhatsAppCloud, SentMessage
from .delivery import Deliveries, Delivery

MEDIA_KINDS = {"image/jpeg": "image", "image/png": "image", "image/webp": "image", "application/pdf": "document"}
MAX_MEDIA = 5 * 1024 * 1024  # the Cloud API's limit for an image
MESSAGE_KEYS = {"from", "text", "button", "list", "image", "caption", "filename", "name", "reply_to"}
UNDELIVERABLE = [{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
                  "error_data": {"details": "Message Undeliverable."}}]


class BadMessage(ValueError):
    """An inbound message the simulated person cannot send; the text names the field."""


class People:
    def __init__(self, fake: FakeWhatsAppCloud, deliveries: Deliveries, *, statuses: tuple[str, ...],
                 now: Callable[[], float]):
        self.fake = fake
        self.deliveries = deliveries
        self.statuses = statuses
        self.now = now
        self.log: dict[str, list[dict[str, Any]]] = {}
        self.failing = 0  # how many of the next accepted sends fail to reach the phone
        self._outbound: dict[str, dict[str, Any]] = {}  # wamid -> its log entry
        self._inbound: dict[str, dict[str, Any]] = {}
        self._seen_sent = 0
        self._seen_reads = 0

    # --- inbound ------------------------------------------------------------------------------------
    def send(self, spec: dict[str, Any], media: tuple[bytes, str] | None = None) -> dict[str, Any]:
        """One message from a person; ``media`` is an uploaded or rendered file (bytes, MIME type)."""
        unknown = sorted(set(spec) - MESSAGE_KEYS)
        if unknown:
            raise BadMessage(f"unknown field {unknown[0]!r} (expected some of {sorted(MESSAGE_KEYS)})")
        phone = _phone(spec.get("from"))
        given = [k for k in ("text", "button", "list") if spec.get(k) is not None] + (["image"] if media else [])
        if len(given) != 1:
            raise BadMessage("a message has exactly one of text, button, list or image (a file or a render spec)")
        fields: dict[str, Any] = {"profile_name": _optional_str(spec, "name")}
        reply_to = _optional_str(spec, "reply_to")
        kind = given[0]
        if kind == "text":
            text = spec["text"]
            if not isinstance(text, str) or not text.strip():
                raise BadMessage("text: expected a non-empty string")
            fields.update(kind="text", text=text, context_wamid=reply_to)
        elif kind in ("button", "list"):
            option_id, title, carrier = self._choice(phone, kind, spec[kind])
            fields.update(kind="interactive" if kind == "button" else "list_reply", button_id=option_id,
                          button_title=title, context_wamid=reply_to or carrier)
        else:
            data, mime = media  # type: ignore[misc]
            media_kind = MEDIA_KINDS.get(mime)
            if media_kind is None:
                raise BadMessage(f"file: {mime!r} is not a type a person can send here "
                                 f"(expected one of {sorted(MEDIA_KINDS)})")
            if not data or len(data) > MAX_MEDIA:
                raise BadMessage(f"file: {len(data):,} bytes; a file must have 1 byte to 5 MB")
            media_id = self.fake.put_media(data, mime)
            fields.update(kind=media_kind, media_id=media_id, mime_type=mime, context_wamid=reply_to,
                          caption=_optional_str(spec, "caption"),
                          filename=_optional_str(spec, "filename") if media_kind == "document" else None)
        self._read_all(phone)
        hook = self.fake.message_webhook(phone, **fields)
        entry = _inbound_entry(hook.wamid, self.now(), fields)
        entry["delivery"] = self.deliveries.submit(hook, kind="message", phone=phone)
        self._inbound[hook.wamid] = entry
        self.log.setdefault(phone, []).append(entry)
        return entry

    def _choice(self, phone: str, kind: str, value: Any) -> tuple[str, str, str | None]:
        """A tap: (option id, title, wamid of the message that offered it). Given a title alone, the
        id is that of the latest option with this title sent to the phone, as WhatsApp returns it."""
        if isinstance(value, dict):
            option_id, title = value.get("id"), value.get("title")
            if not isinstance(option_id, str) or not option_id or not isinstance(title, str) or not title:
                raise BadMessage(f"{kind}: expected a title, or {{\"id\": ..., \"title\": ...}}")
            return option_id, title, None
        if not isinstance(value, str) or not value.strip():
            raise BadMessage(f"{kind}: expected a title, or {{\"id\": ..., \"title\": ...}}")
        for entry in reversed(self.log.get(phone, [])):
            options = entry.get("buttons" if kind == "button" else "rows") or ()
            for option in options:
                if entry["direction"] == "out" and option["title"].casefold() == value.casefold():
                    return option["id"], option["title"], entry["wamid"]
        offered = "reply button" if kind == "button" else "list row"
        raise BadMessage(f"{kind}: no {offered} titled {value!r} was sent to {phone}; "
                         "give {\"id\": ..., \"title\": ...} to tap one anyway")

    # --- outbound -----------------------------------------------------------------------------------
    def after_graph_call(self) -> None:
        """Log what the business sent (or marked as read) since the last call, and start the
        status webhooks of each new message."""
        new = self.fake.sent[self._seen_sent:]
        self._seen_sent = len(self.fake.sent)
        sent_hooks = {h.wamid: h for h in self.fake.drain_status_webhooks()}
        for message in new:
            entry = _outbound_entry(message)
            self._outbound[message.wamid] = entry
            self.log.setdefault(message.to, []).append(entry)
            if self.failing:
                self.failing -= 1
                self.report(message.wamid, "failed")
                continue
            if "sent" in self.statuses:
                self._status(entry, "sent", sent_hooks[message.wamid])
            if "delivered" in self.statuses:
                self.report(message.wamid, "delivered")
        for wamid in self.fake.read_marks[self._seen_reads:]:
            if wamid in self._inbound:
                self._inbound[wamid]["read_by_business"] = True
        self._seen_reads = len(self.fake.read_marks)

    def report(self, wamid: str, status: str) -> Delivery:
        """The person's phone reports ``status`` for an outbound message (a status webhook)."""
        entry = self._outbound.get(wamid)
        if entry is None:
            raise BadMessage(f"wamid: {wamid[:60]!r} is not a message the business sent")
        errors = UNDELIVERABLE if status == "failed" else None
        hook = self.fake.status_webhook(wamid, status, entry["to"], entry.get("callback_data"), errors)
        return self._status(entry, status, hook)

    def _status(self, entry: dict[str, Any], status: str, hook) -> Delivery:
        delivery = self.deliveries.submit(hook, kind=f"status:{status}", phone=entry["to"])
        entry["statuses"].append({"status": status, "delivery": delivery})
        return delivery

    def _read_all(self, phone: str) -> None:
        if "read" not in self.statuses:
            return
        for entry in self.log.get(phone, []):
            if entry["direction"] == "out" and not any(s["status"] in ("read", "failed") for s in entry["statuses"]):
                self.report(entry["wamid"], "read")

    # --- the log ------------------------------------------------------------------------------------
    def conversation(self, phone: str) -> list[dict[str, Any]]:
        return [_jsonable(e) for e in self.log.get(phone, [])]


def _inbound_entry(wamid: str, at: float, fields: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"direction": "in", "wamid": wamid, "at": at}
    kind = fields.pop("kind")
    entry["type"] = "interactive" if kind == "list_reply" else kind
    if entry["type"] == "interactive":
        entry["reply"] = "list_reply" if kind == "list_reply" else "button_reply"
    entry.update({k: v for k, v in fields.items() if v is not None})
    return entry


def _outbound_entry(m: SentMessage) -> dict[str, Any]:
    entry: dict[str, Any] = {"direction": "out", "wamid": m.wamid, "to": m.to, "at": m.at, "type": m.type,
                             "text": m.text, "statuses": []}
    if m.buttons:
        entry["buttons"] = [{"id": i, "title": t} for i, t in m.buttons]
    if m.rows:
        entry["rows"] = [{"id": i, "title": t} for i, t in m.rows]
        entry["list_button"] = m.list_button
    if m.callback_data is not None:
        entry["callback_data"] = m.callback_data
    if m.context_wamid:
        entry["context_wamid"] = m.context_wamid
    return entry


def _jsonable(entry: dict[str, Any]) -> dict[str, Any]:
    out = dict(entry)
    if isinstance(out.get("delivery"), Delivery):
        out["delivery"] = out["delivery"].to_json()
    if "statuses" in out:
        out["statuses"] = [{"status": s["status"], **s["delivery"].to_json()} for s in out["statuses"]]
    return out


def _phone(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadMessage("from: a phone number is required, e.g. +250788000101")
    try:
        return normalize_phone(value)
    except InvalidPhone:
        raise BadMessage(f"from: not a phone number: {value[:40]!r}") from None


def _optional_str(spec: dict[str, Any], key: str) -> str | None:
    value = spec.get(key)
    if value is not None and not isinstance(value, str):
        raise BadMessage(f"{key}: expected a string, got {type(value).__name__}")
    return value
