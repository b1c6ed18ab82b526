"""Checks of ``steps:``: one action per step, step ids, and each action's own keys.

Each action has its own check function (``_STEP_CHECKS``); media and expectations, the two large
ones, live in ``check_media`` and ``check_expect``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .check_authoring import AUTHORING_STEP_CHECKS, AUTHORING_STEP_EXTENSIONS
from .check_expect import step_expect
from .check_media import check_media
from .check_refs import StepContext, check_party
from .checker import Checker, describe, is_number, suggest
from .durations import DurationError, parse_duration
from .includes import expand_steps
from .model import Step
from .vocabulary import (
    ACTIONS,
    CALL_STATUSES,
    CLIENT_MESSAGES,
    FAULT_KEYS,
    FAULT_KINDS,
    FAULT_TARGETS,
    PROCESS_FAULT_KINDS,
    STEP_EXTRA,
)
from .yamlsource import NODE_BUDGET, Cyclic, Map, collect_key_lines, plain


def check_steps(c: Checker, data: Map, vendor_ids: set[str], client_ids: set[str]) -> tuple[Step, ...]:
    steps = data.get("steps")
    line = data.key_line("steps")
    if "steps" not in data:
        c.add(data.line, "steps", "missing; a scenario needs `steps:` with at least one step")
        return ()
    if not isinstance(steps, list) or not steps:
        c.add(line, "steps", f"expected a non-empty list of steps, got {describe(steps)}")
        return ()
    expanded = expand_steps(c, steps)
    ids: dict[str, tuple[int, int, str]] = {}
    for i, (raw, _line, _c, _origin) in enumerate(expanded, 1):
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
    ctx = StepContext(vendor_ids, client_ids, ids)
    out = []
    for i, (raw, item_line, checker, origin) in enumerate(expanded, 1):
        step = _check_step(checker, raw, i, item_line, ctx)
        if step is not None and origin is not None:
            # A failure points at the scenario's include line; the note says where the step is.
            where = f"{origin.file}:{step.line}"
            step = replace(step, line=origin.include_line, key_lines={},
                           note=f"{step.note} ({where})" if step.note else f"included from {where}")
        if step is not None:
            out.append(step)
    return tuple(out)


def _check_step(c: Checker, raw: Any, index: int, line: int, ctx: StepContext) -> Step | None:
    where = f"step {index}"
    if not isinstance(raw, Map):
        hint = ""
        if isinstance(raw, str) and raw.split(" ", 1)[0] in ACTIONS:
            word, _, rest = raw.partition(" ")
            hint = f"; did you mean `{word}: {rest.strip()}` (a colon after the action)?"
        c.add(line, where, f"each step must be a mapping with one action key ({', '.join(ACTIONS)}), "
                           f"got {describe(raw)}{hint}")
        return None
    first_line = min(raw.key_lines.values(), default=raw.line)
    before = len(c.problems)
    actions = [k for k in raw if k in ACTIONS]
    if not actions:
        extras = sorted({k for extra in STEP_EXTRA.values() for k in extra})
        for key in raw:
            if key not in ("id", "note", *extras):
                c.add(raw.key_line(key), f"{where} {key}",
                      f"unknown step key {key!r}{suggest(key, ACTIONS)} (actions: {', '.join(ACTIONS)})")
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
                  f"unknown key {key!r} for a {kind} step{suggest(key, allowed)} (expected: {', '.join(allowed)})")
    sid, note = raw.get("id"), raw.get("note")
    if "id" in raw:
        c.text(sid, raw.key_line("id"), f"{where} id")
    if "note" in raw and note is not None:
        c.text(note, raw.key_line("note"), f"{where} note", empty_ok=True)
    extra: dict[str, Any] = {}
    _STEP_CHECKS[kind](c, raw, where, ctx, extra)
    if kind in AUTHORING_STEP_EXTENSIONS:
        AUTHORING_STEP_EXTENSIONS[kind](c, raw, where, ctx, extra)
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


def _step_client(c: Checker, raw: Map, where: str, ctx: StepContext, extra: dict[str, Any]) -> None:
    check_party(c, raw["client"], raw.key_line("client"), f"{where} client", ctx.client_ids, "client")
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
    if kind in ("text", "button", "list"):
        c.text(raw[kind], line, f"{where} {kind}")
        if "caption" in raw:
            c.add(raw.key_line("caption"), f"{where} caption", "caption goes with image: or document:, not " + kind)
    else:
        if "caption" in raw and raw["caption"] is not None:
            c.text(raw["caption"], raw.key_line("caption"), f"{where} caption", empty_ok=True)
        check_media(c, raw[kind], line, f"{where} {kind}", extra)


def _step_vendor(c: Checker, raw: Map, where: str, ctx: StepContext, extra: dict[str, Any]) -> None:
    check_party(c, raw["vendor"], raw.key_line("vendor"), f"{where} vendor", ctx.vendor_ids, "vendor")
    if "text" not in raw:
        c.add(raw.key_line("vendor"), f"{where} text", "missing; a vendor step needs text: (the vendor's reply)")
    else:
        c.text(raw["text"], raw.key_line("text"), f"{where} text")


def _step_redeliver(c: Checker, raw: Map, where: str, ctx: StepContext, extra: dict[str, Any]) -> None:
    target, line, key = raw["redeliver"], raw.key_line("redeliver"), f"{where} redeliver"
    if not isinstance(target, str):
        c.add(line, key, f"expected `last` or the id of an earlier client/vendor step, got {describe(target)}")
    elif target == "last":
        if ctx.messages_before == 0:
            c.add(line, key, "`redeliver: last` needs an earlier client or vendor step to redeliver")
    elif target not in ctx.step_ids:
        known = [k for k, (_, _, kind) in ctx.step_ids.items() if kind in ("client", "vendor")]
        c.add(line, key, f"no step has id {target!r}{suggest(target, known)}; expected `last` or one of: "
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


def _step_advance(c: Checker, raw: Map, where: str, ctx: StepContext, extra: dict[str, Any]) -> None:
    try:
        extra["seconds"] = parse_duration(raw["advance"])
    except DurationError as exc:
        c.add(raw.key_line("advance"), f"{where} advance", str(exc))


def _step_brain_next(c: Checker, raw: Map, where: str, ctx: StepContext, extra: dict[str, Any]) -> None:
    """Raw brain output, deliberately not validated: broken outputs are what these steps test."""


def _step_call_status(c: Checker, raw: Map, where: str, ctx: StepContext, extra: dict[str, Any]) -> None:
    c.choice(raw["call_status"], CALL_STATUSES, raw.key_line("call_status"), f"{where} call_status")


def _step_fault(c: Checker, raw: Map, where: str, ctx: StepContext, extra: dict[str, Any]) -> None:
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
        c.add(kl("status"), f"{key}.status", f"expected an HTTP status code (100..599), got {describe(status)}")
    if spec.get("kind") is not None:
        c.choice(spec["kind"], FAULT_KINDS, kl("kind"), f"{key}.kind")
    process = spec.get("target") == "process"
    if process and spec.get("kind") not in PROCESS_FAULT_KINDS:
        c.add(kl("kind") if "kind" in spec else spec.line, f"{key}.kind",
              f"a process fault needs kind: one of {', '.join(PROCESS_FAULT_KINDS)}")
    elif not process and spec.get("kind") in PROCESS_FAULT_KINDS:
        c.add(kl("kind"), f"{key}.kind", f"{spec['kind']!r} is a kind of target: process only")
    times = spec.get("times", 1)
    if not (isinstance(times, int) and not isinstance(times, bool) and times >= 1):
        c.add(kl("times"), f"{key}.times", f"expected a whole number >= 1, got {describe(times)}")
    retry = spec.get("retry_after")
    if retry is not None and not (is_number(retry) and 0 <= retry < float("inf")):
        c.add(kl("retry_after"), f"{key}.retry_after", f"expected seconds (a number >= 0), got {describe(retry)}")
    extra["fault"] = {**plain(spec, [NODE_BUDGET]), "times": times}


_STEP_CHECKS = {
    "client": _step_client, "vendor": _step_vendor, "redeliver": _step_redeliver, "advance": _step_advance,
    "brain_next": _step_brain_next, "call_status": _step_call_status, "fault": _step_fault,
    "expect": step_expect,
    **AUTHORING_STEP_CHECKS,
}
