"""The ten ``marketplace.*`` tools: the concierge's only side effects.

Every call carries ``request_id``, ``idempotency_key`` and ``actor``; its arguments are validated
against the tool's JSON Schema before anything happens and its result after; it is audited; and a
retry with the same key returns the first result without doing anything again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .contracts import validate_tool_args, validate_tool_result
from .errors import ContractViolation, IllegalTransition
from .lifecycle import RequestState

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Concierge

log = logging.getLogger("concierge.tools")


class Toolbox:
    def __init__(self, concierge: Concierge):
        self.c = concierge
        self._handlers: dict[str, Callable[[dict[str, Any], float], dict[str, Any]]] = {
            "marketplace.search_vendors": self._search_vendors,
            "marketplace.get_request_snapshot": self._get_request_snapshot,
            "marketplace.send_client_message": self._send_client_message,
            "marketplace.send_vendor_message": self._send_vendor_message,
            "marketplace.record_vendor_reply": self._record_vendor_reply,
            "marketplace.create_ocr_job": self._create_ocr_job,
            "marketplace.get_ocr_result": self._get_ocr_result,
            "marketplace.request_call_consent": self._request_call_consent,
            "marketplace.start_call": self._start_call,
            "marketplace.update_request_state": self._update_request_state,
        }

    def call(self, tool: str, args: dict[str, Any], now: float) -> dict[str, Any]:
        ledger = self.c.ledger
        try:
            validate_tool_args(tool, args)
        except ContractViolation as exc:
            ledger.audit("tool.args_rejected", now, args.get("request_id"), tool=tool, reason=exc.reason[:300])
            log.warning("tool %s refused invalid arguments: %s", tool, exc.reason[:200])
            raise
        key = f"{tool}:{args['idempotency_key']}"
        previous = ledger.tool_result(key)
        if previous is not None:
            ledger.audit("tool.replayed", now, args.get("request_id"), tool=tool)
            return previous
        result = self._handlers[tool](args, now)
        try:
            validate_tool_result(tool, result)
        except ContractViolation as exc:
            # Not recorded as this key's result: a bad result is a bug to see, never one to replay.
            ledger.audit("tool.result_rejected", now, args.get("request_id"), tool=tool, reason=exc.reason[:300])
            log.error("tool %s returned a result outside its contract: %s", tool, exc.reason[:200])
            raise
        ledger.record_tool_call(key, tool, args.get("request_id"), args["actor"], args, result, now)
        ledger.audit("tool.called", now, args.get("request_id"), tool=tool, success=result["success"])
        return result

    # -- handlers ----------------------------------------------------------------------------------
    def _search_vendors(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        return self.c.search(args["request_id"], args, now)

    def _get_request_snapshot(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        row = self.c.ledger.get_request(args["request_id"] or "")
        if row is None:
            return {"success": False, "reason": "unknown_request"}
        outreach = self.c.ledger.outreach(request_id=row.id)
        return {
            "success": True,
            "request": {
                "request_id": row.id,
                "state": row.state,
                "language": row.data.get("language", "en"),
                "requirements": row.data.get("requirements") or {},
                "outreach": {s: sum(1 for o in outreach if o.status == s) for s in
                             ("queued", "sent", "replied", "no_response", "failed", "excluded")},
                "replies": len(self.c.ledger.replies(row.id)),
            },
        }

    def _send_client_message(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        buttons = [tuple(b) for b in args.get("buttons", [])] or None
        status = self.c.send(
            request_id=args["request_id"], to=args["to"], party="client", purpose=args["purpose"],
            text=args["text"], key=args["idempotency_key"], now=now, buttons=buttons,
        )
        row = self.c.ledger.get_outbound(args["idempotency_key"]) or {}
        return {"success": status in ("sent", "queued"), "status": status, "wamid": row.get("wamid")}

    def _send_vendor_message(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        status = self.c.send_vendor(
            args["request_id"], args["vendor_id"], args["text"], args["idempotency_key"],
            args["purpose"], now,
        )
        row = self.c.ledger.get_outbound(args["idempotency_key"]) or {}
        return {"success": status in ("sent", "queued"), "status": status, "wamid": row.get("wamid")}

    def _record_vendor_reply(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        ledger = self.c.ledger
        recorded = ledger.record_reply(
            args["request_id"], args["vendor_id"], args["wamid"], args["text"], args["parsed"], now
        )
        if recorded and args["request_id"]:
            ledger.set_outreach_status(args["request_id"], args["vendor_id"], "replied", now)
        return {"success": True, "recorded": recorded}

    def _create_ocr_job(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        from .ocrflow import create_job

        return create_job(self.c, args, now)

    def _get_ocr_result(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        from .ocrflow import job_result

        return job_result(self.c, args, now)

    def _request_call_consent(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        from .calling import request_consent

        return request_consent(self.c, args, now)

    def _start_call(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        from .calling import start_call

        return start_call(self.c, args, now)

    def _update_request_state(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        row = self.c.ledger.get_request(args["request_id"] or "")
        if row is None:
            return {"success": False, "reason": "unknown_request"}
        dest = RequestState(args["to_state"])
        ok = self.c.move(row.id, dest, now, args["reason"])
        if not ok:
            return {"success": False, "reason": str(IllegalTransition(row.id, row.state, dest.value)),
                    "from_state": row.state}
        return {"success": True, "from_state": row.state, "to_state": dest.value}
