"""The ten ``marketplace.*`` tools: the concierge's only side effects.

Every call carries ``request_id``, ``idempotency_key`` and ``actor``; its arguments are validated
against the tool's JSON Schema before anything happens and its result after; it is audited; and a
retry with the same key returns the first result without doing anything again.

``Toolbox`` is that pipeline over an explicit table of handlers, one per tool. The bodies of the
tools that only read the ledger, search the directory, send through the outbox or move the state
live here (``core_tools``), written against the request desk; the OCR and calling tools live with
their concerns (``ocrflow``, ``calling``), and the orchestrator assembles the one table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from .contracts import ToolContract
from .errors import ContractViolation, IllegalTransition
from .ledger import Ledger
from .lifecycle import RequestState
from .outreach import eligible_vendors

if TYPE_CHECKING:  # pragma: no cover
    from .desk import RequestDesk

log = logging.getLogger("concierge.tools")


Handler = Callable[[dict[str, Any], float], dict[str, Any]]


class Toolbox:
    def __init__(self, ledger: Ledger, handlers: dict[str, Handler]):
        self.ledger = ledger
        self._handlers = dict(handlers)
        self._contracts: dict[str, ToolContract] = {}  # tool -> its checks, found at its first call
        self.replayed = False  # whether the last call served a result recorded before it

    def call(self, tool: str, args: dict[str, Any], now: float, *,
             known: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run ``tool`` through the pipeline. ``known``: the result its handler is certain to
        return for these arguments now, because the caller had it computed at this same time with
        nothing it reads written since; it is checked, recorded and audited as the handler's own
        would be (the same rows), without running the handler twice."""
        ledger = self.ledger
        self.replayed = False
        try:
            contract = self._contracts.get(tool)
            if contract is None:  # (an unknown tool is refused here, as arguments outside its contract)
                contract = self._contracts[tool] = ToolContract(tool)
            contract.check_args(args)
        except ContractViolation as exc:
            ledger.audit("tool.args_rejected", now, args.get("request_id"), tool=tool, reason=exc.reason[:300])
            log.warning("tool %s refused invalid arguments: %s", tool, exc.reason[:200])
            raise
        key = f"{tool}:{args['idempotency_key']}"
        previous = ledger.tool_result(key)
        if previous is not None:
            ledger.audit("tool.replayed", now, args.get("request_id"), tool=tool)
            self.replayed = True
            return previous
        result = self._handlers[tool](args, now) if known is None else known
        try:
            contract.check_result(result)
        except ContractViolation as exc:
            # Not recorded as this key's result: a bad result is a bug to see, never one to replay.
            ledger.audit("tool.result_rejected", now, args.get("request_id"), tool=tool, reason=exc.reason[:300])
            log.error("tool %s returned a result outside its contract: %s", tool, exc.reason[:200])
            raise
        ledger.record_tool_call(key, tool, args.get("request_id"), args["actor"], args, result, now)
        ledger.audit("tool.called", now, args.get("request_id"), tool=tool, success=result["success"])
        self.replayed = False  # (a handler's own tool calls may have set it)
        return result


def core_tools(desk: RequestDesk) -> dict[str, Handler]:
    """The tools whose bodies live here, bound to the desk they work through."""
    return {
        "marketplace.search_vendors": partial(search_vendors, desk),
        "marketplace.get_request_snapshot": partial(get_request_snapshot, desk),
        "marketplace.send_client_message": partial(send_client_message, desk),
        "marketplace.send_vendor_message": partial(send_vendor_message, desk),
        "marketplace.record_vendor_reply": partial(record_vendor_reply, desk),
        "marketplace.update_request_state": partial(update_request_state, desk),
    }


def search_vendors(desk: RequestDesk, args: dict[str, Any], now: float) -> dict[str, Any]:
    request_id = args["request_id"]
    origin = (args["lat"], args["lng"]) if args.get("lat") is not None else None
    chosen, excluded = eligible_vendors(
        desk.ports.directory.all_vendors(), ledger=desk.ledger, request_id=request_id,
        category=args["category"], tags=tuple(args.get("tags") or ()), origin=origin,
        radius_km=args["radius_km"], min_rating=args.get("min_rating", 0.0), now=now,
        caps=desk.caps,
    )
    return {
        "success": True,
        "vendors": [
            {
                "vendor_id": e.vendor.id, "name": e.vendor.name,
                "distance_km": None if e.distance_km is None else round(e.distance_km, 3),
                "rating": float(e.vendor.rating), "match_strength": e.match_strength,
                "avg_response_minutes": float(e.vendor.avg_response_minutes),
            }
            for e in chosen[: args["limit"]]
        ],
        "excluded": excluded,
    }

def get_request_snapshot(desk: RequestDesk, args: dict[str, Any], now: float) -> dict[str, Any]:
    row = desk.ledger.get_request(args["request_id"] or "")
    if row is None:
        return {"success": False, "reason": "unknown_request"}
    outreach = desk.ledger.outreach(request_id=row.id)
    return {
        "success": True,
        "request": {
            "request_id": row.id,
            "state": row.state,
            "language": row.data.get("language", "en"),
            "requirements": row.data.get("requirements") or {},
            "outreach": {s: sum(1 for o in outreach if o.status == s) for s in
                         ("queued", "sent", "replied", "no_response", "failed", "excluded")},
            "replies": len(desk.ledger.replies(row.id)),
        },
    }


def send_client_message(desk: RequestDesk, args: dict[str, Any], now: float) -> dict[str, Any]:
    buttons = [tuple(b) for b in args.get("buttons", [])] or None
    status = desk.outbox.send(
        request_id=args["request_id"], to=args["to"], party="client", purpose=args["purpose"],
        text=args["text"], key=args["idempotency_key"], now=now, buttons=buttons,
    )
    row = desk.ledger.get_outbound(args["idempotency_key"]) or {}
    return {"success": status in ("sent", "queued"), "status": status, "wamid": row.get("wamid")}


def send_vendor_message(desk: RequestDesk, args: dict[str, Any], now: float) -> dict[str, Any]:
    status = desk.outbox.send_vendor(
        args["request_id"], args["vendor_id"], args["text"], args["idempotency_key"],
        args["purpose"], now,
    )
    row = desk.ledger.get_outbound(args["idempotency_key"]) or {}
    return {"success": status in ("sent", "queued"), "status": status, "wamid": row.get("wamid")}


def record_vendor_reply(desk: RequestDesk, args: dict[str, Any], now: float) -> dict[str, Any]:
    ledger = desk.ledger
    recorded = ledger.record_reply(
        args["request_id"], args["vendor_id"], args["wamid"], args["text"], args["parsed"], now
    )
    if recorded and args["request_id"]:
        ledger.set_outreach_status(args["request_id"], args["vendor_id"], "replied", now)
    return {"success": True, "recorded": recorded}


def update_request_state(desk: RequestDesk, args: dict[str, Any], now: float) -> dict[str, Any]:
    row = desk.ledger.get_request(args["request_id"] or "")
    if row is None:
        return {"success": False, "reason": "unknown_request"}
    dest = RequestState(args["to_state"])
    ok = desk.move(row.id, dest, now, args["reason"])
    if not ok:
        return {"success": False, "reason": str(IllegalTransition(row.id, row.state, dest.value)),
                "from_state": row.state}
    return {"success": True, "from_state": row.state, "to_state": dest.value}
