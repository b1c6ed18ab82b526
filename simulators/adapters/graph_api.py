"""GraphApiTransport: ``concierge.ports.Transport`` over Meta's Graph API (Cloud API) with httpx.

Sends never raise for HTTP trouble: every attempt becomes a ``SendOutcome`` the concierge can act on
(sent / retry / failed). The idempotency key travels as ``biz_opaque_callback_data`` so that Meta's
status webhooks name the outbound row even when our call timed out after Meta accepted it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

from concierge.errors import MediaUnavailable
from concierge.json_text import read_json
from concierge.ports import SendOutcome

MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
# Meta answers some throttling with HTTP 400 and one of these codes: they are worth a retry too.
_RATE_LIMIT_CODES = frozenset({4, 80007, 130429, 131056})


class GraphApiTransport:
    def __init__(
        self,
        client: httpx.Client,
        *,
        phone_number_id: str,
        access_token: str,
        api_version: str = "v21.0",
    ):
        self.client = client
        self.phone_number_id = str(phone_number_id)
        self.api_version = api_version
        self._auth = {"Authorization": f"Bearer {access_token}"}
        self._send_url: tuple[httpx.URL, httpx.URL] | None = None  # (client base URL, send URL)

    # --- Transport ------------------------------------------------------------------------------
    def send_text(self, to: str, text: str, *, idempotency_key: str) -> SendOutcome:
        return self._send(to, idempotency_key, {
            "type": "text", "text": {"preview_url": False, "body": text},
        })

    def send_buttons(
        self, to: str, text: str, buttons: Sequence[Sequence[str]], *, idempotency_key: str
    ) -> SendOutcome:
        pairs = [tuple(b) for b in buttons]
        if not 1 <= len(pairs) <= MAX_BUTTONS or any(len(p) != 2 for p in pairs):
            # Dropping options silently could hide the one the client needs: refuse instead.
            return SendOutcome("failed", error=f"reply buttons: 1..{MAX_BUTTONS} (id, title) pairs required")
        reply_buttons = [
            {"type": "reply", "reply": {"id": str(bid)[:MAX_BUTTON_ID], "title": _title(str(title))}}
            for bid, title in pairs
        ]
        return self._send(to, idempotency_key, {
            "type": "interactive",
            "interactive": {"type": "button", "body": {"text": text}, "action": {"buttons": reply_buttons}},
        })

    # Responses are read with read_json(response.content): Response.json() is json.loads of the
    # same bytes, and read_json gives the same value or exception, faster.
    def download_media(self, media_id: str) -> bytes:
        if not media_id:
            raise MediaUnavailable("media id is empty")
        where = f"media {media_id[:40]!r}"
        meta = self._get(f"/{self.api_version}/{quote(media_id, safe='')}", where)
        try:
            info = read_json(meta.content)
            url, expected_sha = info["url"], info.get("sha256")
            size = info.get("file_size")
        except (ValueError, KeyError, TypeError):
            raise MediaUnavailable(f"{where}: unreadable media object") from None
        if not isinstance(url, str) or not (url.startswith("https://") or self._same_origin(url)):
            # The access token must never travel to a non-TLS or made-up address; plain http only
            # to the very origin the sends already go to (a Graph API emulator on loopback).
            raise MediaUnavailable(f"{where}: media url is not https")
        data = self._get(url, where).content
        if isinstance(size, int) and size != len(data):
            raise MediaUnavailable(f"{where}: truncated ({len(data)} of {size} bytes)")
        if isinstance(expected_sha, str) and hashlib.sha256(data).hexdigest() != expected_sha.lower():
            raise MediaUnavailable(f"{where}: sha256 mismatch")
        return data

    # --- plumbing -------------------------------------------------------------------------------
    def _same_origin(self, url: str) -> bool:
        base = self.client.base_url
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL:
            return False
        return bool(base.host) and (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)

    def _send(self, to: str, idempotency_key: str, message: dict[str, Any]) -> SendOutcome:
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": str(to).lstrip("+"),
            **message,
            "biz_opaque_callback_data": idempotency_key,
        }
        try:
            response = self.client.post(self._messages_url(), json=body, headers=self._auth)
        except httpx.TimeoutException:
            # Meta may have accepted it: the retry carries the same key, and the "sent" status
            # webhook for that key tells the concierge not to send it again.
            return SendOutcome("retry", error="timeout")
        except httpx.HTTPError as exc:
            return SendOutcome("retry", error=f"transport: {type(exc).__name__}")
        return _outcome(response)

    def _messages_url(self) -> httpx.URL:
        """The send endpoint, merged with the client's base URL by httpx itself, once per base URL
        (a relative path would be parsed and merged again on every send)."""
        base = self.client.base_url
        if self._send_url is None or self._send_url[0] is not base:
            path = f"/{self.api_version}/{self.phone_number_id}/messages"
            self._send_url = (base, self.client.build_request("POST", path).url)
        return self._send_url[1]

    def _get(self, url: str, where: str) -> httpx.Response:
        try:
            response = self.client.get(url, headers=self._auth)
        except httpx.TimeoutException:
            raise MediaUnavailable(f"{where}: timeout") from None
        except httpx.HTTPError as exc:
            raise MediaUnavailable(f"{where}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise MediaUnavailable(f"{where}: http {response.status_code}{_error_suffix(response)}")
        return response


def _outcome(response: httpx.Response) -> SendOutcome:
    status = response.status_code
    if status == 200:
        try:
            wamid = read_json(response.content)["messages"][0]["id"]
        except (ValueError, KeyError, IndexError, TypeError):
            # Accepted, but we cannot read the id: the status webhook will still carry our key.
            return SendOutcome("sent", http_status=200, error="response without a message id")
        return SendOutcome("sent", wamid=str(wamid), http_status=200)
    code, message = _graph_error(response)
    error = f"http {status}" + (f" [{code}] {message}" if code is not None else "")
    if status == 429 or status >= 500 or (400 <= status < 500 and code in _RATE_LIMIT_CODES):
        return SendOutcome("retry", http_status=status, retry_after_s=_retry_after(response), error=error)
    return SendOutcome("failed", http_status=status, error=error)


def _graph_error(response: httpx.Response) -> tuple[int | None, str]:
    try:
        error = read_json(response.content)["error"]
        code = error.get("code")
        return (code if isinstance(code, int) else None), str(error.get("message", ""))[:200]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, ""


def _error_suffix(response: httpx.Response) -> str:
    code, message = _graph_error(response)
    return f" [{code}] {message}" if code is not None else ""


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        return None  # an HTTP-date: leave the backoff to the concierge
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _title(title: str) -> str:
    return title if len(title) <= MAX_BUTTON_TITLE else title[: MAX_BUTTON_TITLE - 1] + "…"
