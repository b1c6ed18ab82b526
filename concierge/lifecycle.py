"""Every lifecycle rule of a request, as data: states, the allowed transitions and their triggers.

One ``transitions.Machine`` (declared from the table below) with one model serves every request:
each move sets the model to the request's state and fires the table's trigger, so memory holds only
each open request's state name. Anything not in the table is refused with ``IllegalTransition`` —
the caller audits it. ``TRANSITIONS`` is also what the Phase 0 gate's transition matrix is built from,
so the docs, the gate and the code cannot drift apart.
"""

from __future__ import annotations

from enum import Enum

from transitions import Machine, MachineError

from .errors import IllegalTransition


class RequestState(str, Enum):
    COLLECTING_REQUIREMENTS = "collecting_requirements"
    OCR_PROCESSING = "ocr_processing"
    VENDOR_OUTREACH = "vendor_outreach"
    AWAITING_VENDOR_REPLIES = "awaiting_vendor_replies"
    SHORTLIST_READY = "shortlist_ready"
    HANDED_OFF = "handed_off"
    CLOSED = "closed"
    ERROR = "error"


S = RequestState

FINAL_STATES = frozenset({S.CLOSED, S.ERROR})
# handed_off is not final (it closes after the follow-up window), but nothing may be sent for it.
ENDED_STATES = frozenset({S.HANDED_OFF, S.CLOSED, S.ERROR})
NON_FINAL_STATES = tuple(
    s for s in S if s not in FINAL_STATES and s is not S.HANDED_OFF
)  # "any non-final state -> error/closed": handed_off leaves only through its follow-up close

# (trigger, source, dest): the table of docs/domain.md, one row per allowed edge.
TRANSITIONS: tuple[tuple[str, RequestState, RequestState], ...] = (
    ("start_ocr", S.COLLECTING_REQUIREMENTS, S.OCR_PROCESSING),
    ("requirements_complete", S.COLLECTING_REQUIREMENTS, S.VENDOR_OUTREACH),
    ("shortlist_existing_replies", S.COLLECTING_REQUIREMENTS, S.SHORTLIST_READY),
    ("ocr_needs_client", S.OCR_PROCESSING, S.COLLECTING_REQUIREMENTS),
    ("ocr_complete", S.OCR_PROCESSING, S.VENDOR_OUTREACH),
    ("batch_sent", S.VENDOR_OUTREACH, S.AWAITING_VENDOR_REPLIES),
    ("next_batch", S.AWAITING_VENDOR_REPLIES, S.VENDOR_OUTREACH),
    ("build_shortlist", S.AWAITING_VENDOR_REPLIES, S.SHORTLIST_READY),
    ("widen_search", S.AWAITING_VENDOR_REPLIES, S.COLLECTING_REQUIREMENTS),
    ("deliver_shortlist", S.SHORTLIST_READY, S.HANDED_OFF),
    ("follow_up_done", S.HANDED_OFF, S.CLOSED),
    *(("fail", s, S.ERROR) for s in NON_FINAL_STATES),
    *(("close", s, S.CLOSED) for s in NON_FINAL_STATES),
)

ALLOWED: frozenset[tuple[RequestState, RequestState]] = frozenset(
    (src, dst) for _, src, dst in TRANSITIONS
)
_TRIGGER_FOR = {(src, dst): trig for trig, src, dst in TRANSITIONS}


def is_allowed(source: RequestState | str, dest: RequestState | str) -> bool:
    return (S(source), S(dest)) in ALLOWED


def all_pairs() -> list[tuple[RequestState, RequestState]]:
    """Every ordered pair of distinct states: the universe the transition matrix is judged on."""
    return [(a, b) for a in S for b in S if a is not b]


class _RequestModel:
    """What transitions drives: only the state lives here; the ledger holds the rest."""

    state: str


class Lifecycle:
    """The one machine of all requests.

    It drives one model: a move puts the model in the request's state, fires the table's trigger
    and reads where the machine put it. Each request is only its state's name here. (A model per
    tracked request, as before, cost ~11 KB each in transitions' bound methods: hundreds of MB for
    the open requests of a busy simulated market.)"""

    def __init__(self) -> None:
        self._model = _RequestModel()
        self._machine = Machine(
            model=self._model,
            states=[s.value for s in S],
            transitions=[
                {"trigger": t, "source": src.value, "dest": dst.value} for t, src, dst in TRANSITIONS
            ],
            initial=S.COLLECTING_REQUIREMENTS.value,
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )
        self._states: dict[str, str] = {}

    def track(self, request_id: str, state: RequestState | str) -> None:
        if request_id not in self._states:
            self._states[request_id] = S(state).value

    def forget(self, request_id: str) -> None:
        self._states.pop(request_id, None)

    def state(self, request_id: str) -> RequestState:
        return S(self._states[request_id])

    def move(self, request_id: str, dest: RequestState | str) -> RequestState:
        """Move a tracked request to ``dest`` or raise ``IllegalTransition``; returns the source."""
        source = S(self._states[request_id])
        trigger = _TRIGGER_FOR.get((source, S(dest)))
        if trigger is None:
            raise IllegalTransition(request_id, source.value, S(dest).value)
        model = self._model
        self._machine.set_state(source.value, model=model)
        try:
            getattr(model, trigger)()
        except MachineError as exc:  # the table and the machine disagree: a bug, not user input
            raise IllegalTransition(request_id, source.value, S(dest).value) from exc
        self._states[request_id] = model.state
        return source


def mermaid() -> str:
    """The state diagram, generated from the table so that it cannot drift."""
    lines = ["stateDiagram-v2", f"    [*] --> {S.COLLECTING_REQUIREMENTS.value}"]
    for trig, src, dst in TRANSITIONS:
        lines.append(f"    {src.value} --> {dst.value}: {trig}")
    return "\n".join(lines)
