"""Images and documents from clients: an OCR job per file, safety rules, then the need or a question.

The OCR engine is a port; the analysis (type, fields, confidences, safety) is pure
(``concierge.ocr_rules``). The full OCR text is stored with the job and never logged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .errors import MediaUnavailable, OcrFailed
from .lifecycle import RequestState
from .texts import text_for

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Concierge
    from .ledger import RequestRow
    from .webhooks import InboundMessage

S = RequestState
log = logging.getLogger("concierge.ocr")


def handle_media(c: Concierge, request: RequestRow, msg: InboundMessage, now: float) -> None:
    lang = request.data.get("language", "en")
    if not c.flags.ocr_on(request.client_phone) or c.ports.ocr is None:
        c.ledger.audit("ocr.disabled", now, request.id)
        c.tell_client(request, "ocr_off", text_for("ocr_off", lang), now)
        return
    if S(request.state) is not S.COLLECTING_REQUIREMENTS:
        c.ledger.audit("ocr.ignored_busy", now, request.id, state=request.state)
        return
    if int(request.data.get("ocr_jobs", 0)) >= c.caps.ocr_jobs_max:
        c.ledger.audit("ocr.budget_exhausted", now, request.id)
        c.tell_client(request, "ocr_budget", text_for("ocr_budget", lang), now)
        return
    job = c.tools.call(
        "marketplace.create_ocr_job",
        {"request_id": request.id, "idempotency_key": f"ocr:{msg.wamid}", "actor": "client",
         "media_id": msg.media_id or "missing", "mime_type": msg.mime_type, "caption": msg.caption},
        now,
    )
    if not job["success"]:
        c.tell_client(request, "ocr_failed", text_for("ocr_failed", lang), now)
        return
    result = c.tools.call(
        "marketplace.get_ocr_result",
        {"request_id": request.id, "idempotency_key": f"ocr-result:{job['job_id']}", "actor": "system",
         "job_id": job["job_id"]},
        now,
    )
    if result["status"] != "completed":
        c.move(request.id, S.COLLECTING_REQUIREMENTS, now, "ocr_failed")
        c.tell_client(c.request(request.id), "ocr_failed", text_for("ocr_failed", lang), now,
                      key_suffix=f":{job['job_id']}")
        return
    analysis = c.ledger.ocr_jobs(request.id)[-1]["result"] or {}
    if analysis.get("next_action") == "proceed" and analysis.get("need_text"):
        c._absorb_requirements(c.request(request.id), " ".join(
            t for t in (analysis["need_text"], msg.caption or "") if t), now)
        if not (c.request(request.id).data.get("requirements") or {}).get("complete"):
            # Confident reading, but we still need to know where: ask the client.
            c.move(request.id, S.COLLECTING_REQUIREMENTS, now, "ocr_needs_client")
    else:
        c.move(request.id, S.COLLECTING_REQUIREMENTS, now, "ocr_needs_client")
    c.brain.consult(request.id, "ocr_result", now)


def create_job(c: Concierge, args: dict[str, Any], now: float) -> dict[str, Any]:
    request_id = args["request_id"]
    request = c.request(request_id)
    count = int(request.data.get("ocr_jobs", 0))
    if count >= c.caps.ocr_jobs_max:
        return {"success": False, "reason": "ocr_budget_exhausted", "job_id": None}
    job_id = f"{request_id}:ocr:{count + 1}"
    c.ledger.create_ocr_job(job_id, request_id, now)
    c.update(request_id, now, ocr_jobs=count + 1)
    c.move(request_id, S.OCR_PROCESSING, now, "start_ocr")
    try:
        image = c.ports.transport.download_media(args["media_id"])
        page = c.ports.ocr.read(image)  # type: ignore[union-attr]
    except (MediaUnavailable, OcrFailed) as exc:
        c.ledger.finish_ocr_job(job_id, "failed", now, result={"error": str(exc)[:200]})
        c.ledger.audit("ocr.failed", now, request_id, job_id=job_id, reason=type(exc).__name__)
        log.warning("ocr job %s failed: %s", job_id, type(exc).__name__)
        return {"success": True, "job_id": job_id}
    from .drugs import DrugLexicon
    from .ocr_rules import analyse

    analysis = analyse(page, args.get("caption"), DrugLexicon.default())
    result = analysis.to_dict()
    c.ledger.finish_ocr_job(job_id, "completed", now, type_=analysis.type, result=result,
                            full_text=page.text)
    c.ledger.audit("ocr.completed", now, request_id, job_id=job_id, type=analysis.type,
                   confidence=round(analysis.confidence, 3), warnings=list(analysis.warnings),
                   next_action=analysis.next_action)
    return {"success": True, "job_id": job_id}


def job_result(c: Concierge, args: dict[str, Any], now: float) -> dict[str, Any]:
    for job in c.ledger.ocr_jobs(args["request_id"]):
        if job["id"] == args["job_id"]:
            res = job["result"] or {}
            return {
                "success": job["status"] == "completed",
                "status": job["status"],
                "type": job["type"],
                "confidence": res.get("confidence"),
                "next_action": res.get("next_action"),
                "warnings": list(res.get("warnings") or []),
                "fields": {k: v for k, v in res.items() if k in ("items", "general")},
            }
    return {"success": False, "status": "unknown", "reason": "unknown_job"}
