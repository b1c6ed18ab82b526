"""FakeWhatsAppCloud: Meta's WhatsApp Cloud API as the concierge sees it, on the real wire format.

Graph API routes are served through ``httpx.MockTransport`` (nothing is patched globally): sending
text and reply-button messages, reading a media object and downloading its bytes. Inbound traffic is
produced as signed webhooks. Faults (429, 5xx, timeouts that lose the response of a message that was
delivered, broken media) are injected per target. See docs/whatsapp.md.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx
import phonenumbers

from concierge.json_text import json_writer, read_json
from concierge.phones import InvalidPhone, normalize_phone, wa_digits

from . import httpx_json

GRAPH_HOST = "graph.facebook.com"
MEDIA_HOST = "lookaside.fbsbx.com"
FAULT_TARGETS = ("whatsapp_send", "media_download")
_FAULT_KINDS = {"whatsapp_send": ("timeout",), "media_download": ("timeout", "truncated")}
_VERSION = r"v\d+\.\d+"
_SEND_PATH = re.compile(rf"/({_VERSION})/([^/]+)/messages/?")
_NODE_PATH = re.compile(rf"/({_VERSION})/([^/]+)/?")
# json.dumps(value, separators=(",", ":")): the same text (concierge/json_text.py), written faster.
_ASCII_JSON = json_writer()
MAX_TEXT = 4096  # Cloud API limit for a text body
MAX_INTERACTIVE_BODY = 1024
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_CALLBACK_DATA = 512
MAX_LIST_ROWS = 10  # all sections together
MAX_LIST_SECTIONS = 10
MAX_ROW_TITLE = 24
MAX_ROW_ID = 200
MAX_ROW_DESCRIPTION = 72


@dataclass(frozen=True)
class SentMessage:
    """One message Meta accepted (and therefore delivers)."""

    to: str  # E.164
    type: str  # "text" | "interactive"
    text: str
    wamid: str
    at: float
    buttons: tuple[tuple[str, str], ...] = ()
    callback_data: str | None = None  # biz_opaque_callback_data: the sender's idempotency key
    context_wamid: str | None = None
    rows: tuple[tuple[str, str], ...] = ()  # an interactive list's rows (id, title), all sections
    list_button: str | None = None  # the label of the button that opens the list


@dataclass(frozen=True)
class SignedWebhook:
    body: bytes
    headers: dict[str, str]
    wamid: str


@dataclass
class _Fault:
    status: int | None
    kind: str | None
    remaining: int
    retry_after: float | None
    delivered_on_timeout: bool


@dataclass
class _Media:
    data: bytes
    mime_type: str
    sha256: str


@dataclass
class _Payload:
    """What a valid send request asks for, before it is accepted."""

    to: str
    type: str
    text: str
    buttons: tuple[tuple[str, str], ...] = ()
    callback_data: str | None = None
    context_wamid: str | None = None
    to_input: str = ""  # "to" as the request wrote it, echoed in the response's contacts
    rows: tuple[tuple[str, str], ...] = ()
    list_button: str | None = None


@dataclass(frozen=True)
class _ReadMark:
    """A mark-as-read request (``{"status": "read", "message_id": ...}``), not a message."""

    message_id: str


class _BadRequest(Exception):
    def __init__(self, code: int, message: str, details: str):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


class FakeWhatsAppCloud:
    def __init__(
        self,
        *,
        phone_number_id: str,
        access_token: str,
        app_secret: str,
        now: Callable[[], float],
        display_phone: str = "+250788999000",
        api_version: str = "v21.0",
        waba_id: str = "102290129340398",
        seed: int = 0,
        media_base_url: str = f"https://{MEDIA_HOST}",
    ):
        self.phone_number_id = str(phone_number_id)
        self.access_token = access_token
        self.app_secret = app_secret
        self.display_phone = normalize_phone(display_phone)
        self.api_version = api_version
        self.waba_id = str(waba_id)
        self.seed = seed
        self.now = now
        # Where media objects say their bytes are: Meta's CDN, or a served emulator's own address.
        self.media_base_url = media_base_url.rstrip("/")
        self.sent: list[SentMessage] = []
        self.requests: list[httpx.Request] = []  # every request that reached the fake, for inspection
        self._rng = random.Random(seed)
        self._counter = 0
        self._faults: dict[str, list[_Fault]] = {t: [] for t in FAULT_TARGETS}
        self._media: dict[str, _Media] = {}
        self._pending_status: list[SentMessage] = []
        self._inbound: set[str] = set()  # wamids of inbound messages: what may be marked as read
        self.read_marks: list[str] = []  # inbound wamids the business marked as read, in order
        self._frame: tuple[tuple[str, str, str], str, str] | None = None  # see _envelope
        self._macs: tuple[str, hmac.HMAC, hmac.HMAC] | None = None  # see _mac

    # --- wiring -----------------------------------------------------------------------------------
    def client(self) -> httpx.Client:
        return httpx.Client(base_url=f"https://{GRAPH_HOST}", transport=httpx.MockTransport(self.handle))

    def direct_client(self) -> httpx.Client:
        """``client()`` without httpx's per-request client machinery (``simulators/direct_http.py``):
        the same requests and responses, for the simulated world's many sends."""
        from .direct_http import DirectClient

        return DirectClient(base_url=f"https://{GRAPH_HOST}", transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        """The MockTransport handler: first matching route wins, anything else is a 404."""
        self.requests.append(request)
        path, host, method = request.url.path, request.url.host, request.method
        if host == GRAPH_HOST:
            if method == "POST" and (m := _SEND_PATH.fullmatch(path)):
                return self._send(request, m.group(2))
            if method == "GET" and (m := _NODE_PATH.fullmatch(path)):
                return self._node(request, m.group(2))
        if host == MEDIA_HOST and method == "GET" and path.startswith("/whatsapp_business/attachments"):
            return self._download(request)
        return _graph_error(404, 2500, f"Unknown path components: {path}", kind="OAuthException")

    # --- faults -----------------------------------------------------------------------------------
    def inject_fault(
        self,
        target: str,
        *,
        status: int | None = None,
        kind: str | None = None,
        times: int = 1,
        retry_after: float | None = None,
        delivered_on_timeout: bool = True,
    ) -> None:
        """The next ``times`` calls to ``target`` fail with ``status`` or ``kind``.

        ``kind="timeout"`` on ``whatsapp_send`` raises ``httpx.ReadTimeout``; with
        ``delivered_on_timeout`` the message was accepted and recorded first (only the response was
        lost). On ``media_download``, status faults answer the media lookup, ``timeout`` and
        ``truncated`` hit the byte download.
        """
        if target not in FAULT_TARGETS:
            raise ValueError(f"unknown fault target {target!r}; expected one of {FAULT_TARGETS}")
        if (status is None) == (kind is None):
            raise ValueError("a fault has exactly one of status= or kind=")
        if kind is not None and kind not in _FAULT_KINDS[target]:
            raise ValueError(f"{target} faults of kind {kind!r} are not simulated")
        if status is not None and not 400 <= status <= 599:
            raise ValueError(f"fault status must be 4xx or 5xx, got {status}")
        if times < 1:
            raise ValueError("times must be >= 1")
        self._faults[target].append(_Fault(status, kind, times, retry_after, delivered_on_timeout))

    def clear_faults(self) -> None:
        """Disarm every fault not yet used up."""
        for queue in self._faults.values():
            queue.clear()

    def _take_fault(self, target: str, *, kinds: tuple[str | None, ...]) -> _Fault | None:
        queue = self._faults[target]
        if not queue:
            return None
        fault = queue[0]
        if fault.kind not in kinds:
            return None
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.pop(0)
        return fault

    # --- sending ----------------------------------------------------------------------------------
    def deliveries(self, callback_data: str) -> int:
        """How many times a message carrying this idempotency key reached its recipient."""
        return sum(1 for m in self.sent if m.callback_data == callback_data)

    def _send(self, request: httpx.Request, phone_number_id: str) -> httpx.Response:
        if not self._authorized(request):
            return _invalid_token()
        if phone_number_id != self.phone_number_id:
            return _graph_error(
                400, 100, f"Unsupported post request. Object with ID '{phone_number_id}' does not "
                "exist, cannot be loaded due to missing permissions, or does not support this operation",
                subcode=33,
            )
        fault = self._take_fault("whatsapp_send", kinds=(None, "timeout"))
        if fault is not None and fault.status is not None:
            return _status_fault(fault)
        try:
            payload = _read_send(request)
        except _BadRequest as exc:
            return _graph_error(400, exc.code, exc.message, details=exc.details)
        if isinstance(payload, _ReadMark):
            return self._mark_read(payload.message_id)
        if fault is not None and not fault.delivered_on_timeout:
            raise httpx.ReadTimeout("simulated timeout before Meta accepted the message", request=request)
        message = self._accept(payload)
        if fault is not None:
            raise httpx.ReadTimeout("simulated timeout: delivered, response lost", request=request)
        return httpx_json.response(200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": payload.to_input, "wa_id": wa_digits(message.to)}],
            "messages": [{"id": message.wamid, "message_status": "accepted"}],
        })

    def _accept(self, payload: _Payload) -> SentMessage:
        message = SentMessage(
            to=payload.to, type=payload.type, text=payload.text, wamid=self._wamid(payload.to, "out"),
            at=self.now(), buttons=payload.buttons, callback_data=payload.callback_data,
            context_wamid=payload.context_wamid, rows=payload.rows, list_button=payload.list_button,
        )
        self.sent.append(message)
        self._pending_status.append(message)
        return message

    def forget_received(self) -> None:
        """Forget which inbound wamids were sent and marked as read: they grow with every message of
        a long simulation whose concierge never marks messages as read (a later mark of a forgotten
        wamid would be refused)."""
        self._inbound.clear()
        self.read_marks.clear()

    def _mark_read(self, message_id: str) -> httpx.Response:
        if message_id not in self._inbound:
            return _graph_error(400, 100, "(#100) Invalid parameter",
                                details=f"message_id {message_id[:60]!r} is not a message this number received")
        self.read_marks.append(message_id)
        return httpx_json.response(200, {"success": True})

    # --- media ------------------------------------------------------------------------------------
    def put_media(self, data: bytes, mime: str) -> str:
        """Store inbound media (what a user attached); returns its Graph media id."""
        media_id = str(self._rng.randrange(10**15, 10**16))
        self._media[media_id] = _Media(bytes(data), mime, hashlib.sha256(data).hexdigest())
        return media_id

    def stored_media(self, media_id: str) -> tuple[bytes, str] | None:
        """The bytes and MIME type of media a user attached (for reports), or None."""
        media = self._media.get(media_id)
        return (media.data, media.mime_type) if media else None

    def _node(self, request: httpx.Request, node_id: str) -> httpx.Response:
        if not self._authorized(request):
            return _invalid_token()
        if node_id == self.phone_number_id:
            return httpx_json.response(200, {
                "verified_name": "Concierge (sim)", "display_phone_number": wa_digits(self.display_phone),
                "id": self.phone_number_id, "quality_rating": "GREEN",
            })
        fault = self._take_fault("media_download", kinds=(None,))
        if fault is not None:
            return _status_fault(fault)
        media = self._media.get(node_id)
        if media is None:
            return _graph_error(
                400, 100, f"Unsupported get request. Object with ID '{node_id}' does not exist, "
                "cannot be loaded due to missing permissions, or does not support this operation",
                subcode=33,
            )
        url = (
            f"{self.media_base_url}/whatsapp_business/attachments/?mid={node_id}&ext={int(self.now())}"
            f"&hash={hashlib.sha256(node_id.encode()).hexdigest()[:24]}"
        )
        return httpx_json.response(200, {
            "messaging_product": "whatsapp", "url": url, "mime_type": media.mime_type,
            "sha256": media.sha256, "file_size": len(media.data), "id": node_id,
        })

    def _download(self, request: httpx.Request) -> httpx.Response:
        if not self._authorized(request):
            return _invalid_token()
        media_id = (parse_qs(request.url.query.decode()).get("mid") or [""])[0]
        media = self._media.get(media_id)
        if media is None:
            return httpx.Response(404, text="Not Found")
        fault = self._take_fault("media_download", kinds=("timeout", "truncated"))
        if fault is not None and fault.kind == "timeout":
            raise httpx.ReadTimeout("simulated media download timeout", request=request)
        data = media.data[: len(media.data) // 2] if fault is not None else media.data
        return httpx.Response(200, content=data, headers={"Content-Type": media.mime_type})

    # --- webhooks ---------------------------------------------------------------------------------
    def message_webhook(
        self,
        from_phone: str,
        *,
        kind: str = "text",
        text: str | None = None,
        media_id: str | None = None,
        mime_type: str | None = None,
        caption: str | None = None,
        filename: str | None = None,
        button_id: str | None = None,
        button_title: str | None = None,
        context_wamid: str | None = None,
        profile_name: str | None = None,
        wamid: str | None = None,
        reply_type: str = "button_reply",
    ) -> SignedWebhook:
        """A signed ``messages`` webhook for one inbound message, as Meta would POST it."""
        phone = normalize_phone(from_phone)
        digits = wa_digits(phone)
        wamid = wamid or self._wamid(phone, "in")
        self._inbound.add(wamid)
        message: dict[str, Any] = {
            "from": digits, "from_user_id": self._bsuid(phone), "id": wamid,
            "timestamp": self._timestamp(), "type": kind,
        }
        if context_wamid:
            message["context"] = {"from": wa_digits(self.display_phone), "id": context_wamid}
        if kind == "text":
            message["text"] = {"body": text or ""}
        elif kind in ("image", "document", "audio", "video", "sticker"):
            message[kind] = self._media_object(kind, media_id, mime_type, caption, filename)
        elif kind == "button":
            message["button"] = {"payload": button_id or "", "text": button_title or text or ""}
        elif kind in ("interactive", "list_reply"):
            # A tap on a reply button (button_reply) or on a row of a list message (list_reply);
            # the emulator names a list tap by its kind, scenarios by ``reply_type``.
            reply = "list_reply" if kind == "list_reply" else reply_type
            message["type"] = "interactive"
            message["interactive"] = {
                "type": reply, reply: {"id": button_id or "", "title": button_title or text or ""},
            }
        elif kind == "location":
            message["location"] = {"latitude": -1.9441, "longitude": 30.0619}
        elif kind == "reaction":
            message["reaction"] = {"message_id": context_wamid or "", "emoji": text or "\U0001f44d"}
        elif kind == "unsupported":
            message["errors"] = [{
                "code": 131051, "title": "Message type unknown",
                "message": "Message type unknown", "error_data": {"details": "Message type is not currently supported"},
            }]
        profile: dict[str, str] = {"name": profile_name} if profile_name else {}
        contact = {"profile": profile, "wa_id": digits, "user_id": self._bsuid(phone)}
        value = {"contacts": [contact], "messages": [message]}
        return self._signed(value, wamid)

    def status_webhook(
        self,
        wamid: str,
        status: str,
        recipient: str,
        callback_data: str | None = None,
        errors: list[dict] | None = None,
    ) -> SignedWebhook:
        """A signed status webhook (sent / delivered / read / failed) for an outbound message."""
        phone = normalize_phone(recipient)
        digits = wa_digits(phone)
        entry: dict[str, Any] = {
            "id": wamid, "status": status, "timestamp": self._timestamp(),
            "recipient_id": digits, "recipient_user_id": self._bsuid(phone),
        }
        if callback_data is not None:
            entry["biz_opaque_callback_data"] = callback_data
        if status == "failed":
            entry["errors"] = errors or [{
                "code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
                "error_data": {"details": "Message Undeliverable."},
            }]
        elif errors:
            entry["errors"] = errors
        value: dict[str, Any] = {"statuses": [entry]}
        if status != "failed":  # Meta leaves the contacts array out of failed statuses
            value["contacts"] = [{"wa_id": digits, "user_id": self._bsuid(phone)}]
        return self._signed(value, wamid)

    def drain_status_webhooks(self) -> list[SignedWebhook]:
        """A "sent" status webhook for every message accepted since the last drain."""
        pending, self._pending_status = self._pending_status, []
        return [self.status_webhook(m.wamid, "sent", m.to, m.callback_data) for m in pending]

    def sign(self, body: bytes) -> str:
        return "sha256=" + self._mac(body, 1)

    def _signed(self, value: dict[str, Any], wamid: str) -> SignedWebhook:
        # Meta signs the ASCII-escaped JSON it sends; any byte change breaks the signature.
        if "messaging_product" in value or "metadata" in value:  # would replace the envelope's own
            body = _ASCII_JSON(self._payload(value)).encode("ascii")
        else:
            head, tail = self._envelope()
            fields = _ASCII_JSON(value)[1:-1]
            body = (head + ("," + fields if fields else "") + tail).encode("ascii")
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": self.sign(body),
            "X-Hub-Signature": "sha1=" + self._mac(body, 2),
        }
        return SignedWebhook(body=body, headers=headers, wamid=wamid)

    def _payload(self, value: dict[str, Any]) -> dict[str, Any]:
        """A webhook's whole payload around the ``value`` of its one change."""
        value = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": wa_digits(self.display_phone),
                "phone_number_id": self.phone_number_id,
            },
            **value,
        }
        return {
            "object": "whatsapp_business_account",
            "entry": [{"id": self.waba_id, "changes": [{"value": value, "field": "messages"}]}],
        }

    def _envelope(self) -> tuple[str, str]:
        """The JSON text of ``_payload`` before and after the value's own fields: the same for every
        webhook of this number, so each webhook encodes only its fields (compact JSON nests: the
        bytes are those of encoding the whole payload)."""
        identity = (self.waba_id, self.display_phone, self.phone_number_id)
        if self._frame is None or self._frame[0] != identity:
            text = _ASCII_JSON(self._payload({}))
            tail = '},"field":"messages"}]}]}'
            if not text.endswith(tail):
                raise AssertionError(f"unexpected webhook envelope {text!r}")
            self._frame = (identity, text[: -len(tail)], tail)
        return self._frame[1], self._frame[2]

    def _mac(self, body: bytes, which: int) -> str:
        """HMAC of ``body`` with the app secret: SHA-256 (1) or SHA-1 (2), from HMACs keyed once (a
        copy skips hashing the key's pads again)."""
        if self._macs is None or self._macs[0] != self.app_secret:
            key = self.app_secret.encode()
            self._macs = (self.app_secret, hmac.new(key, digestmod=hashlib.sha256),
                          hmac.new(key, digestmod=hashlib.sha1))
        mac = self._macs[which].copy()
        mac.update(body)
        return mac.hexdigest()

    def _media_object(
        self, kind: str, media_id: str | None, mime_type: str | None, caption: str | None,
        filename: str | None,
    ) -> dict[str, Any]:
        # A media webhook without a stored object points at nothing: its download fails like Meta's.
        media_id = media_id or str(self._rng.randrange(10**15, 10**16))
        stored = self._media.get(media_id)
        default_mime = {"image": "image/jpeg", "document": "application/pdf", "audio": "audio/ogg",
                        "video": "video/mp4", "sticker": "image/webp"}[kind]
        obj: dict[str, Any] = {
            "id": media_id,
            "mime_type": mime_type or (stored.mime_type if stored else default_mime),
            "sha256": stored.sha256 if stored else hashlib.sha256(media_id.encode()).hexdigest(),
        }
        if caption is not None and kind in ("image", "video", "document"):
            obj["caption"] = caption
        if kind == "document":
            obj["filename"] = filename or "document.pdf"
        return obj

    # --- identifiers ------------------------------------------------------------------------------
    def _wamid(self, phone: str, direction: str) -> str:
        self._counter += 1
        raw = f"HBg{wa_digits(phone)}FQIA{direction}{self.seed:08X}{self._counter:012X}"
        return "wamid." + base64.b64encode(raw.encode("ascii")).decode("ascii")

    def _bsuid(self, phone: str) -> str:
        """A business-scoped user id like Meta's ("RW.1234..."), stable per (WABA, phone)."""
        return _bsuid(self.waba_id, phone)

    def _timestamp(self) -> str:
        return str(int(self.now()))

    def _authorized(self, request: httpx.Request) -> bool:
        return hmac.compare_digest(_authorization(request.headers), f"Bearer {self.access_token}".encode())


def _authorization(headers: httpx.Headers) -> bytes:
    """``headers.get("Authorization", "").encode()``: one ASCII value (every request the concierge
    sends) is its raw bytes, without httpx first decoding every header to choose their encoding."""
    found = [value for key, value in headers.raw if key.lower() == b"authorization"]
    if not found or (len(found) == 1 and found[0].isascii()):
        return found[0] if found else b""
    return headers.get("Authorization", "").encode()


# --- request validation, as the Cloud API does it --------------------------------------------------


def _read_send(request: httpx.Request) -> _Payload | _ReadMark:
    try:
        body = read_json(request.content or b"null")
    except ValueError:
        raise _BadRequest(100, "(#100) Invalid parameter", "request body is not JSON") from None
    if not isinstance(body, dict):
        raise _BadRequest(100, "(#100) Invalid parameter", "request body must be a JSON object")
    if body.get("messaging_product") != "whatsapp":
        raise _BadRequest(100, "(#100) The parameter messaging_product is required.",
                          "messaging_product must be 'whatsapp'")
    if body.get("status") == "read":
        message_id = body.get("message_id")
        if not isinstance(message_id, str) or not message_id:
            raise _BadRequest(100, "(#100) The parameter message_id is required.", "message_id is required")
        return _ReadMark(message_id)
    to = body.get("to")
    if not isinstance(to, str) or not to:
        raise _BadRequest(100, "(#100) The parameter to is required.", "to is required")
    try:
        to_e164 = normalize_phone("+" + to if to.isascii() and to.isdigit() else to)
    except InvalidPhone:
        raise _BadRequest(100, "(#100) Invalid parameter", f"to: not a phone number: {to!r}") from None
    callback = body.get("biz_opaque_callback_data")
    if callback is not None and (not isinstance(callback, str) or len(callback) > MAX_CALLBACK_DATA):
        raise _BadRequest(100, "(#100) Invalid parameter",
                          f"biz_opaque_callback_data must be a string of at most {MAX_CALLBACK_DATA} characters")
    context = body.get("context")
    context_wamid = context.get("message_id") if isinstance(context, dict) else None
    context_wamid = context_wamid if isinstance(context_wamid, str) else None
    kind = body.get("type", "text")
    if kind == "text":
        text_obj = body.get("text")
        text = text_obj.get("body") if isinstance(text_obj, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise _BadRequest(100, "(#100) The parameter text['body'] is required.", "text.body is required")
        if len(text) > MAX_TEXT:
            raise _BadRequest(100, "(#100) Param text['body'] must be at most 4096 characters long.",
                              f"text.body has {len(text)} characters")
        return _Payload(to_e164, "text", text, (), callback, context_wamid, to)
    if kind == "interactive":
        interactive = body.get("interactive")
        if isinstance(interactive, dict) and interactive.get("type") == "list":
            text, button, rows = _read_list(interactive)
            return _Payload(to_e164, "interactive", text, (), callback, context_wamid, to, rows, button)
        text, buttons = _read_interactive(interactive)
        return _Payload(to_e164, "interactive", text, buttons, callback, context_wamid, to)
    raise _BadRequest(100, "(#100) Invalid parameter", f"type {kind!r} is not simulated (text, interactive)")


def _interactive_body(interactive: dict) -> str:
    body = interactive.get("body")
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_INTERACTIVE_BODY:
        raise _BadRequest(131009, "(#131009) Parameter value is not valid",
                          f"interactive.body.text must have 1..{MAX_INTERACTIVE_BODY} characters")
    return text


def _invalid(details: str) -> _BadRequest:
    return _BadRequest(131009, "(#131009) Parameter value is not valid", details)


def _read_list(interactive: dict) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """An interactive list: a button that opens 1..10 sections holding 1..10 rows in all."""
    text = _interactive_body(interactive)
    action = interactive.get("action")
    action = action if isinstance(action, dict) else {}
    button = action.get("button")
    if not isinstance(button, str) or not button.strip() or len(button) > MAX_BUTTON_TITLE:
        raise _invalid(f"interactive.action.button must have 1..{MAX_BUTTON_TITLE} characters")
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_LIST_SECTIONS:
        raise _invalid(f"interactive.action.sections must hold 1..{MAX_LIST_SECTIONS} sections")
    rows: list[tuple[str, str]] = []
    for s, section in enumerate(sections):
        section = section if isinstance(section, dict) else {}
        title = section.get("title")
        if len(sections) > 1 and (not isinstance(title, str) or not title.strip()):
            raise _invalid(f"sections[{s}].title is required when a list has several sections")
        if title is not None and (not isinstance(title, str) or len(title) > MAX_ROW_TITLE):
            raise _invalid(f"sections[{s}].title must have at most {MAX_ROW_TITLE} characters")
        section_rows = section.get("rows")
        if not isinstance(section_rows, list) or not section_rows:
            raise _invalid(f"sections[{s}].rows must hold at least one row")
        for r, row in enumerate(section_rows):
            row = row if isinstance(row, dict) else {}
            rid, rtitle, desc = row.get("id"), row.get("title"), row.get("description")
            where = f"sections[{s}].rows[{r}]"
            if not isinstance(rid, str) or not rid or len(rid) > MAX_ROW_ID:
                raise _invalid(f"{where}.id must have 1..{MAX_ROW_ID} characters")
            if not isinstance(rtitle, str) or not rtitle.strip() or len(rtitle) > MAX_ROW_TITLE:
                raise _invalid(f"{where}.title must have 1..{MAX_ROW_TITLE} characters")
            if desc is not None and (not isinstance(desc, str) or len(desc) > MAX_ROW_DESCRIPTION):
                raise _invalid(f"{where}.description must have at most {MAX_ROW_DESCRIPTION} characters")
            rows.append((rid, rtitle))
    if len(rows) > MAX_LIST_ROWS:
        raise _invalid(f"a list holds at most {MAX_LIST_ROWS} rows in all sections, got {len(rows)}")
    if len({rid for rid, _ in rows}) != len(rows):
        raise _invalid("row ids must be unique")
    return text, button, tuple(rows)


def _read_interactive(interactive: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    if not isinstance(interactive, dict) or interactive.get("type") != "button":
        raise _BadRequest(131009, "(#131009) Parameter value is not valid",
                          "interactive.type must be 'button' (reply buttons) or 'list'")
    text = _interactive_body(interactive)
    action = interactive.get("action")
    raw_buttons = action.get("buttons") if isinstance(action, dict) else None
    if not isinstance(raw_buttons, list) or not 1 <= len(raw_buttons) <= 3:
        raise _BadRequest(131009, "(#131009) Parameter value is not valid",
                          "interactive.action.buttons must hold 1..3 reply buttons")
    buttons: list[tuple[str, str]] = []
    for i, button in enumerate(raw_buttons):
        reply = button.get("reply") if isinstance(button, dict) and button.get("type") == "reply" else None
        bid = reply.get("id") if isinstance(reply, dict) else None
        title = reply.get("title") if isinstance(reply, dict) else None
        if not isinstance(bid, str) or not bid or len(bid) > MAX_BUTTON_ID:
            raise _BadRequest(131009, "(#131009) Parameter value is not valid", f"buttons[{i}].reply.id invalid")
        if not isinstance(title, str) or not title.strip() or len(title) > MAX_BUTTON_TITLE:
            raise _BadRequest(131009, "(#131009) Parameter value is not valid",
                              f"buttons[{i}].reply.title must have 1..{MAX_BUTTON_TITLE} characters")
        buttons.append((bid, title))
    if len({b for b, _ in buttons}) != len(buttons) or len({t for _, t in buttons}) != len(buttons):
        raise _BadRequest(131009, "(#131009) Parameter value is not valid", "button ids and titles must be unique")
    return text, tuple(buttons)


@functools.lru_cache(maxsize=2048)  # pure: every webhook names its phone up to twice, parsing is costly
def _bsuid(waba_id: str, phone: str) -> str:
    region = phonenumbers.region_code_for_number(phonenumbers.parse(phone)) or "ZZ"
    digest = hashlib.sha256(f"{waba_id}:{phone}".encode()).hexdigest()
    return f"{region}.{int(digest[:16], 16)}"


def _status_fault(fault: _Fault) -> httpx.Response:
    status = fault.status or 500
    headers: dict[str, str] = {}
    if status == 429 or fault.retry_after is not None:
        headers["Retry-After"] = _seconds(fault.retry_after if fault.retry_after is not None else 1.0)
    if status == 429:
        return _graph_error(429, 130429, "(#130429) Rate limit hit", headers=headers,
                            details="Cloud API message throughput has been reached.")
    if status == 503:
        return _graph_error(503, 2, "(#2) Service temporarily unavailable", headers=headers,
                            kind="OAuthException")
    if status >= 500:
        return _graph_error(status, 131000, "(#131000) Something went wrong", headers=headers,
                            details="Something went wrong. Please retry.")
    if status == 401:
        return _invalid_token()
    if status == 404:
        return _graph_error(404, 100, "(#100) Object not found", subcode=33)
    return _graph_error(status, 100, "(#100) Invalid parameter", headers=headers)


def _invalid_token() -> httpx.Response:
    return _graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")


def _graph_error(
    status: int, code: int, message: str, *, details: str | None = None, subcode: int | None = None,
    headers: dict[str, str] | None = None, kind: str = "OAuthException",
) -> httpx.Response:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    # A fixed trace id: real ones are random, and a simulated run must be reproducible.
    error["fbtrace_id"] = "Asim" + hashlib.sha256(f"{status}:{code}:{message}".encode()).hexdigest()[:20]
    return httpx_json.response(status, {"error": error}, headers)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


__all__ = ["FAULT_TARGETS", "FakeWhatsAppCloud", "SentMessage", "SignedWebhook"]
