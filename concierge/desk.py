"""The request desk: the request-level services every concern of the concierge works through.

A request's row (``request``, ``update``), its state (``fire`` a lifecycle trigger; ``move`` for the
one contract that names a destination), the client's current request, the idle close, its language
and requirements, and the way out to the world: the ports, the settings, the audited tools and the
outbox. The concerns (outreach, closeout, the request's clock, OCR, calling, the brain loop) are
written against this desk, never against the orchestrator (``concierge.engine``) above them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import lifecycle
from .errors import IllegalTransition
from .flags import Flags
from .ledger import Ledger, RequestRow
from .lifecycle import ENDED_STATES, RequestState
from .needs import Requirements, extract_requirements
from .outbox import Outbox
from .policy import Caps
from .ports import (
    Brain,
    CallProvider,
    ClientProfiles,
    OcrEngine,
    Scheduler,
    Timer,
    Transport,
    VendorDirectory,
)
from .safety import sanitize_need

if TYPE_CHECKING:  # pragma: no cover
    from .tools import Toolbox

S = RequestState
log = logging.getLogger("concierge")


@dataclass
class Ports:
    transport: Transport
    directory: VendorDirectory
    brain: Brain
    scheduler: Scheduler
    ocr: OcrEngine | None = None
    calls: CallProvider | None = None
    clients: ClientProfiles | None = None


@dataclass
class Settings:
    flags: Flags = field(default_factory=Flags)
    caps: Caps = field(default_factory=Caps)
    app_secret: str = "app-secret"
    call_secret: str = "call-secret"  # signs the calling provider's status callbacks


def requirements_from(data: dict[str, Any]) -> Requirements:
    return Requirements.from_dict(data)


class RequestDesk:
    """One per concierge. ``tools`` is attached once the orchestrator has built the tool table
    (the tools' bodies use this desk, and the desk sends client messages through them)."""

    tools: Toolbox

    def __init__(self, ledger: Ledger, ports: Ports, settings: Settings):
        self.ledger = ledger
        self.ports = ports
        self.settings = settings
        self.caps = settings.caps
        self.flags = settings.flags
        self.outbox = Outbox(ledger, ports, settings.caps)
        # What entering a state sets off: lifecycle.ON_ENTER names it, this table runs it.
        self._on_enter = {"arm_idle_close": self.arm_idle_close}

    # -- the request's row ---------------------------------------------------------------------
    def request(self, request_id: str) -> RequestRow:
        row = self.ledger.get_request(request_id)
        assert row is not None, request_id
        return row

    def update(self, request_id: str, now: float, **changes: Any) -> dict[str, Any]:
        """The request's data with ``changes`` applied, written with ``now`` as its time. A write
        that would change nothing (the row was last written at ``now`` and every change is a value
        the data already holds, see ``_holds``) is not made: the row would be written as it is."""
        row = self.request(request_id)
        return self._write(row, row.data, now, changes)

    def update_row(self, request: RequestRow, now: float, **changes: Any) -> dict[str, Any]:
        """``update``, from the request's row the caller read in this handling with nothing written
        to the request since (a row's data is decoded on each read). The caller's row is left as it
        was read, as ``update`` leaves it."""
        return self._write(request, dict(request.data), now, changes)

    def _write(self, row: RequestRow, data: dict[str, Any], now: float, changes: dict[str, Any]) -> dict[str, Any]:
        if row.updated_at == now and all(_holds(data, key, value) for key, value in changes.items()):
            return data
        data.update(changes)
        self.ledger.save_request_data(row.id, data, now)
        return data

    def active_request(self, phone: str) -> RequestRow | None:
        row = self.ledger.latest_request(phone)
        if row is None or S(row.state) in ENDED_STATES:
            return None
        return row

    def live(self, request_id: str | None) -> RequestRow | None:
        """The request while it has not ended (a timer's request may have ended meanwhile)."""
        if request_id is None:
            return None
        request = self.ledger.get_request(request_id)
        if request is None or S(request.state) in ENDED_STATES:
            return None
        return request

    @staticmethod
    def lang(request: RequestRow) -> str:
        return request.data.get("language", "en")

    # -- the request's state -------------------------------------------------------------------
    def fire(self, request_id: str, trigger: str, now: float, detail: str | None = None) -> bool:
        """Fire a lifecycle trigger; refuse and audit what the table does not allow. The audit's
        reason is the detail when there is one (why), else the trigger's name."""
        row = self.request(request_id)
        dest = lifecycle.destination(trigger)
        if row.state == dest.value:
            return True
        reason = trigger if detail is None else detail
        try:
            lifecycle.fire(row.state, trigger, request_id)
        except IllegalTransition as exc:
            self._refused(row, dest, reason, exc, now)
            return False
        self.ledger.set_state(request_id, row.state, dest.value, now, reason)
        self.ledger.audit("state.changed", now, request_id, source=row.state, dest=dest.value, reason=reason)
        for effect in lifecycle.ON_ENTER.get(dest, ()):
            self._on_enter[effect](request_id, now)
        return True

    def move(self, request_id: str, dest: RequestState, now: float, reason: str) -> bool:
        """The ``update_request_state`` tool's contract names a destination: fire the trigger of
        that edge (an edge the table lacks is refused and audited like any other)."""
        row = self.request(request_id)
        if row.state == dest.value:
            return True
        trigger = lifecycle.trigger_between(row.state, dest)
        if trigger is None:
            self._refused(row, dest, reason, IllegalTransition(request_id, row.state, dest.value), now)
            return False
        return self.fire(request_id, trigger, now, detail=reason)

    def _refused(self, row: RequestRow, dest: RequestState, reason: str, exc: IllegalTransition,
                 now: float) -> None:
        self.ledger.audit("state.transition_refused", now, row.id, source=row.state, dest=dest.value,
                          reason=reason)
        log.warning("refused transition: %s", exc)

    def arm_idle_close(self, request_id: str, now: float) -> None:
        if S(self.request(request_id).state) is S.COLLECTING_REQUIREMENTS:
            # Waiting on the client (a question, or a rejected proposal): a request nobody answers
            # must end politely rather than stay open for ever.
            self.ports.scheduler.schedule(
                Timer("idle_close", request_id, now + self.caps.idle_close_s, {"after": now}))

    # -- the need ------------------------------------------------------------------------------
    def absorb_requirements(self, request: RequestRow, text: str, now: float) -> None:
        # Text is data: only the clauses that describe a need may reach vendors (and the shortlist).
        text = sanitize_need(text)
        if not text:
            self.ledger.audit("need.nothing_usable", now, request.id)
            return
        current = request.data.get("requirements") or {}
        known_area = self.ports.clients.area_of(request.client_phone) if self.ports.clients else None
        newer = extract_requirements(
            text, known_area=known_area, default_language=self.lang(request)
        )
        merged = requirements_from(current).merged(newer) if current else newer
        self.update(request.id, now, requirements=_req_dict(merged))

    # -- the client ----------------------------------------------------------------------------
    def tell_client(
        self, request: RequestRow, purpose: str, text: str, now: float, *, key_suffix: str = "",
        buttons: list[tuple[str, str]] | None = None,
    ) -> str:
        key = Outbox.client_key(request, text, key_suffix)
        return self.tools.call(
            "marketplace.send_client_message",
            {
                "request_id": request.id, "idempotency_key": key, "actor": "system",
                "to": request.client_phone, "text": text[:4096], "purpose": purpose,
                **({"buttons": [list(b) for b in buttons]} if buttons else {}),
            },
            now,
        )["status"]

    def ask_client(self, request_id: str, question: str, now: float) -> None:
        """Ask the client a question, back in the client's wait (from OCR or a wider search)."""
        request = self.request(request_id)
        state = S(request.state)
        if state is S.OCR_PROCESSING:
            self.fire(request_id, "ocr_needs_client", now)
        elif state is S.AWAITING_VENDOR_REPLIES:
            self.fire(request_id, "widen_search", now)
        clarifications = int(request.data.get("clarifications", 0)) + 1
        self.update(request_id, now, clarifications=clarifications)
        self.tell_client(self.request(request_id), "question", question, now, key_suffix=f":q{clarifications}")


# The kinds of value whose equality means the same JSON text (1 == 1.0 == True, 0.0 == -0.0 and a
# list or dict may hold either: each of those is written, never taken as already held).
_EXACT = (str, int, bool, type(None))


def _holds(data: dict[str, Any], key: str, value: Any) -> bool:
    """Whether ``data`` already holds ``value`` under ``key``, so that setting it changes nothing."""
    if type(value) not in _EXACT or key not in data:
        return False
    held = data[key]
    return type(held) is type(value) and held == value


def _req_dict(req: Requirements) -> dict[str, Any]:
    d = req.to_dict()
    d["missing"] = list(req.missing())
    d["complete"] = bool(req.complete)
    return d
