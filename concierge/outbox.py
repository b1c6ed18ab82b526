"""Sending through the outbox: once per idempotency key, retried with backoff on the
virtual clock, settled by Meta's status callbacks.

A service object the request desk holds (``concierge.desk``). A message whose fate was open settles
its request through the ``settled`` table the orchestrator fills (purpose -> the state it settles
and the handler), so the outbox knows no concern above it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .ledger import Ledger, RequestRow
from .lifecycle import MAY_MESSAGE_VENDOR, RequestState, may_message_client
from .phones import mask_phone, mask_phones_in
from .policy import Caps
from .ports import Timer

if TYPE_CHECKING:  # pragma: no cover
    from .desk import Ports

S = RequestState
log = logging.getLogger("concierge")


class Outbox:
    def __init__(self, ledger: Ledger, ports: Ports, caps: Caps):
        self.ledger = ledger
        self.ports = ports
        self.caps = caps
        self.busy: set[str] = set()  # requests whose batch or closeout is being sent right now
        # purpose -> (the state whose delivery the message settles, what then moves the request on)
        self.settled: dict[str, tuple[RequestState, Callable[[str, float], None]]] = {}

    def send(
        self, *, request_id: str | None, to: str, party: str, purpose: str, text: str, key: str,
        now: float, vendor_id: str | None = None, buttons: list[tuple[str, str]] | None = None,
    ) -> str:
        """Send once per idempotency key: 'sent', 'queued' (retrying), 'failed' or 'suppressed'."""
        if not self.ledger.insert_outbound(key, request_id, to, party, purpose, text, now, buttons):
            existing = self.ledger.get_outbound(key)
            self.ledger.audit("message.duplicate_suppressed", now, request_id, idem_key=key)
            if existing is None:
                return "suppressed"
            # A row still 'pending' (a retry is due, e.g. after a restart) is, to the caller, queued.
            return "queued" if existing["status"] == "pending" else existing["status"]
        self.ledger.audit(
            "message.queued", now, request_id, party=party, purpose=purpose, to=mask_phone(to),
            idem_key=key,
        )
        return self.attempt(key, now, vendor_id=vendor_id, buttons=buttons)

    def attempt(
        self, key: str, now: float, *, vendor_id: str | None = None,
        buttons: list[tuple[str, str]] | None = None,
    ) -> str:
        row = self.ledger.get_outbound(key)
        assert row is not None
        attempts = row["attempts"] + 1
        self.ledger.update_outbound(key, attempts=attempts)
        self.ledger.checkpoint()  # the world sees a send: what led to it must survive a crash
        if buttons:
            outcome = self.ports.transport.send_buttons(row["to_phone"], row["text"], buttons, idempotency_key=key)
        else:
            outcome = self.ports.transport.send_text(row["to_phone"], row["text"], idempotency_key=key)
        if outcome.status == "sent":
            self.mark_sent(self.ledger.get_outbound(key) or row, outcome.wamid, now)
            return "sent"
        if outcome.status == "retry" and attempts < self.caps.send_attempts_max:
            delay = outcome.retry_after_s or self.caps.send_backoff_s * (2 ** (attempts - 1))
            self.ledger.update_outbound(key, last_error=outcome.error or f"http {outcome.http_status}")
            self.ledger.audit(
                "message.retry_scheduled", now, row["request_id"], idem_key=key, attempt=attempts,
                delay_s=delay, http_status=outcome.http_status,
            )
            self.ports.scheduler.schedule(
                Timer("retry_send", row["request_id"], now + delay,
                      {"key": key, "vendor_id": vendor_id, "buttons": buttons})
            )
            return "queued"
        self.ledger.update_outbound(key, status="failed", last_error=outcome.error or f"http {outcome.http_status}")
        self.ledger.audit(
            "message.failed", now, row["request_id"], idem_key=key, attempts=attempts,
            http_status=outcome.http_status,
        )
        log.warning("send failed for good after %d attempt(s): %s", attempts, row["purpose"])
        if row["party"] == "vendor" and row["purpose"] == "outreach" and row["request_id"]:
            vendor = self.vendor_for_phone(row["to_phone"])
            if vendor:
                self.ledger.set_outreach_status(row["request_id"], vendor, "failed", now)
        self._delivery_settled(row, now)
        return "failed"

    def vendor_for_phone(self, phone: str) -> str | None:
        v = self.ports.directory.by_phone(phone)
        return v.id if v else None

    def mark_sent(self, row: dict[str, Any], wamid: str | None, now: float) -> None:
        if row["status"] == "sent":
            return
        self.ledger.update_outbound(row["idem_key"], status="sent", wamid=wamid, sent_at=now)
        vendor_id = self.vendor_for_phone(row["to_phone"]) if row["party"] == "vendor" else None
        self.ledger.add_transcript(
            row["request_id"], "out", row["party"], row["to_phone"], row["text"], now,
            vendor_id=vendor_id, wamid=wamid,
        )
        self.ledger.audit(
            "message.sent", now, row["request_id"], party=row["party"], purpose=row["purpose"],
            to=mask_phone(row["to_phone"]), wamid=wamid, idem_key=row["idem_key"],
        )
        if row["party"] == "vendor" and row["purpose"] == "outreach" and row["request_id"] and vendor_id:
            self.ledger.set_outreach_status(row["request_id"], vendor_id, "sent", now, wamid=wamid)
        self._delivery_settled(row, now)

    def _delivery_settled(self, row: dict[str, Any], now: float) -> None:
        """A message whose fate was open (sent on a retry, or failed for good) moves its request on:
        a batch counts as out once one of its messages is, a shortlist once all its parts are."""
        request_id = row["request_id"]
        if not request_id or request_id in self.busy:
            return  # the batch or closeout that sent it is still running and will decide itself
        state = S(self._state(request_id))
        settles = self.settled.get(row["purpose"])
        if settles is not None and state is settles[0]:
            settles[1](request_id, now)

    def _state(self, request_id: str) -> str:
        row = self.ledger.get_request(request_id)
        assert row is not None, request_id
        return row.state

    def retry(self, timer: Timer, now: float) -> None:
        """The ``retry_send`` timer: the next attempt, unless the world changed meanwhile."""
        key = timer.payload["key"]
        row = self.ledger.get_outbound(key)
        if row is None or row["status"] != "pending":
            return
        if row["party"] == "vendor" and row["purpose"] == "outreach" and row["request_id"]:
            if S(self._state(row["request_id"])) not in MAY_MESSAGE_VENDOR:
                self.ledger.update_outbound(key, status="failed", last_error="request ended")
                return
        # Between two attempts the world may have changed: a vendor opted out, a client said STOP.
        if row["party"] == "vendor" and row["purpose"] != "stop_confirmation":
            vendor_id = self.vendor_for_phone(row["to_phone"])
            if vendor_id and self.ledger.vendor_status(vendor_id)["opted_out"]:
                self.ledger.update_outbound(key, status="failed", last_error="vendor opted out")
                self.ledger.audit("message.blocked_opted_out", now, row["request_id"], vendor_id=vendor_id)
                return
        if row["party"] == "client" and row["request_id"]:
            if not may_message_client(self._state(row["request_id"]), row["purpose"]):
                self.ledger.update_outbound(key, status="failed", last_error="request ended")
                return
        self.attempt(key, now, vendor_id=timer.payload.get("vendor_id"), buttons=timer.payload.get("buttons"))

    @staticmethod
    def client_key(request: RequestRow, text: str, suffix: str = "") -> str:
        """The domain's outbound key (docs/domain.md): request, recipient and a hash of the content."""
        digest = hashlib.sha256(text[:4096].encode("utf-8")).hexdigest()[:16]
        return f"request:{request.id}:to:{request.client_phone}:hash:{digest}{suffix}"

    def send_vendor(self, request_id: str | None, vendor_id: str, text: str, key: str, purpose: str,
                    now: float) -> str:
        vendor = self.ports.directory.by_id(vendor_id)
        if vendor is None:
            return "failed"
        if vendor.opted_out or self.ledger.vendor_status(vendor_id)["opted_out"]:
            if purpose != "stop_confirmation":
                self.ledger.audit("message.blocked_opted_out", now, request_id, vendor_id=vendor_id)
                return "suppressed"
        return self.send(request_id=request_id, to=vendor.phone, party="vendor", purpose=purpose,
                         text=mask_phones_in(text), key=key, now=now, vendor_id=vendor_id)

