"""Every lifecycle rule of a request, in one place: states, named triggers, on-enter effects, groups.

Callers fire a named trigger (``fire(source, "batch_sent")``); the table below says from which
states it may fire and where it leads, and anything else is refused with ``IllegalTransition`` —
the caller audits it. Why a request moved beyond the trigger's name (``"timeout"`` for ``fail``) is
the caller's audit detail, never part of the rule. The state itself lives once, in the ledger's
request row: this module holds rules, not requests.

``TRANSITIONS`` is declared as data, ``transitions``-style (trigger, source, dest); it is also what
the Phase 0 gate's transition matrix is built from, so the docs, the gate and the code cannot drift
apart. Named state groups sit next to ``FINAL_STATES`` so that no caller keeps its own copy.
"""

from __future__ import annotations

from enum import Enum

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

# Vendors are being asked and the client waits for their replies.
OUTREACH_UNDER_WAY = frozenset({S.VENDOR_OUTREACH, S.AWAITING_VENDOR_REPLIES})
# A vendor may be messaged for the request (outreach, a retry of it) only while it has not ended.
MAY_MESSAGE_VENDOR = frozenset(s for s in S if s not in ENDED_STATES)
# Any client message may go out while the request is not final; once closed or in error only the
# messages that end it politely may still go (on retry).
MAY_MESSAGE_CLIENT = frozenset(s for s in S if s not in FINAL_STATES)
CLIENT_CLOSING_PURPOSES = frozenset({"cancel_confirmation", "timeout_apology", "escalation", "idle_closed",
                                     "outreach_failed_apology"})
# The shortlist went out (or the request closed meanwhile): vendors still pending are no longer asked.
PAST_HANDOFF = frozenset({S.HANDED_OFF, S.CLOSED})


def may_message_client(state: RequestState | str, purpose: str) -> bool:
    """Whether a client message with this purpose may (still) be sent for a request in ``state``."""
    return S(state) in MAY_MESSAGE_CLIENT or purpose in CLIENT_CLOSING_PURPOSES


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

# What entering a state sets off, by name; the request service runs them (``RequestDesk``).
# Back to waiting on the client (an OCR question, a rejected proposal, a wider search): that wait
# must end too if the client never answers.
ON_ENTER: dict[RequestState, tuple[str, ...]] = {
    S.COLLECTING_REQUIREMENTS: ("arm_idle_close",),
}

ALLOWED: frozenset[tuple[RequestState, RequestState]] = frozenset(
    (src, dst) for _, src, dst in TRANSITIONS
)
_EDGES: dict[tuple[str, RequestState], RequestState] = {(trig, src): dst for trig, src, dst in TRANSITIONS}
_TRIGGER_BETWEEN: dict[tuple[RequestState, RequestState], str] = {
    (src, dst): trig for trig, src, dst in TRANSITIONS
}
TRIGGERS: dict[str, RequestState] = {trig: dst for trig, _, dst in TRANSITIONS}  # each leads to one state


def destination(trigger: str) -> RequestState:
    """Where a trigger leads (every trigger has one destination); KeyError for an unknown name."""
    return TRIGGERS[trigger]


def fire(source: RequestState | str, trigger: str, request_id: str = "") -> RequestState:
    """The state ``trigger`` leads to from ``source``, or ``IllegalTransition`` when it may not fire."""
    source = S(source)
    dest = _EDGES.get((trigger, source))
    if dest is None:
        raise IllegalTransition(request_id, source.value, destination(trigger).value)
    return dest


def trigger_between(source: RequestState | str, dest: RequestState | str) -> str | None:
    """The trigger of an allowed edge, for the one caller whose contract names a destination (the
    ``update_request_state`` tool); None when the edge is not allowed."""
    return _TRIGGER_BETWEEN.get((S(source), S(dest)))


def is_allowed(source: RequestState | str, dest: RequestState | str) -> bool:
    return (S(source), S(dest)) in ALLOWED


def all_pairs() -> list[tuple[RequestState, RequestState]]:
    """Every ordered pair of distinct states: the universe the transition matrix is judged on."""
    return [(a, b) for a in S for b in S if a is not b]


def mermaid() -> str:
    """The state diagram, generated from the table so that it cannot drift."""
    lines = ["stateDiagram-v2", f"    [*] --> {S.COLLECTING_REQUIREMENTS.value}"]
    for trig, src, dst in TRANSITIONS:
        lines.append(f"    {src.value} --> {dst.value}: {trig}")
    return "\n".join(lines)
