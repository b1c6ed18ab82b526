"""Images and documents from clients: an OCR job per file, safety rules, then the need or a question.

A job is asynchronous, as with a real OCR service: ``create_ocr_job`` opens it and moves the request
to ``ocr_processing``; the ``ocr_run`` timer reads the file a few virtual seconds later
(``Caps.ocr_latency_s``), and the brain is consulted from ``ocr_processing`` with the result — its
plan moves the request to ``vendor_outreach``, its question back to ``collecting_requirements``. A
client who says STOP meanwhile closes the request and the job is cancelled. The OCR engine is a
port; the analysis (type, fields, confidences, safety) is pure (``concierge.ocr_rules``). The full
OCR text is stored with the job and never logged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .drugs import DrugLexicon
from .errors import MediaUnavailable, OcrFailed
from .lifecycle import RequestState
from .ocr_rules import analyse
from .ports import Timer
from .safety import detect_injection
from .texts import text_for

if TYPE_CHECKING:  # pragma: no cover
    from .brainloop import BrainLoop
    from .desk import RequestDesk
    from .ledger import RequestRow
    from .webhooks import InboundMessage

S = RequestState
log = logging.getLogger("concierge.ocr")


def handle_media(c: RequestDesk, request: RequestRow, msg: InboundMessage, now: float) -> None:
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


def create_job(c: RequestDesk, args: dict[str, Any], now: float) -> dict[str, Any]:
    request_id = args["request_id"]
    request = c.request(request_id)
    count = int(request.data.get("ocr_jobs", 0))
    if count >= c.caps.ocr_jobs_max:
        return {"success": False, "reason": "ocr_budget_exhausted", "job_id": None}
    job_id = f"{request_id}:ocr:{count + 1}"
    c.ledger.create_ocr_job(job_id, request_id, now)
    c.update(request_id, now, ocr_jobs=count + 1)
    c.fire(request_id, "start_ocr", now)
    c.ledger.audit("ocr.job_created", now, request_id, job_id=job_id)
    c.ports.scheduler.schedule(Timer(
        "ocr_run", request_id, now + c.caps.ocr_latency_s,
        {"job_id": job_id, "media_id": args["media_id"], "caption": args.get("caption")},
    ))
    return {"success": True, "job_id": job_id}


def run_job(c: RequestDesk, brain: BrainLoop, timer: Timer, now: float) -> None:
    """The OCR service's work, then the concierge's next step with its result."""
    request_id = timer.request_id or ""
    job_id = timer.payload["job_id"]
    request = c.ledger.get_request(request_id)
    if request is None or S(request.state) is not S.OCR_PROCESSING:
        c.ledger.finish_ocr_job(job_id, "failed", now, result={"error": "cancelled"})
        c.ledger.audit("ocr.cancelled", now, request_id, job_id=job_id)
        return
    caption = timer.payload.get("caption")
    try:
        image = c.ports.transport.download_media(timer.payload["media_id"])
        page = c.ports.ocr.read(image)  # type: ignore[union-attr]
    except Exception as exc:  # an OCR service is remote: any failure fails the job, never the request
        expected = isinstance(exc, (MediaUnavailable, OcrFailed))
        c.ledger.finish_ocr_job(job_id, "failed", now,
                                result={"error": str(exc)[:200] if expected else type(exc).__name__})
        c.ledger.audit("ocr.failed", now, request_id, job_id=job_id, reason=type(exc).__name__)
        log.warning("ocr job %s failed: %s", job_id, type(exc).__name__)
    else:
        analysis = analyse(page, caption, DrugLexicon.default())
        _flag_injection(c, request_id, job_id, page.text, now)
        c.ledger.finish_ocr_job(job_id, "completed", now, type_=analysis.type, result=analysis.to_dict(),
                                full_text=page.text)
        c.ledger.audit("ocr.completed", now, request_id, job_id=job_id, type=analysis.type,
                       confidence=round(analysis.confidence, 3), warnings=list(analysis.warnings),
                       next_action=analysis.next_action)
    result = c.tools.call(
        "marketplace.get_ocr_result",
        {"request_id": request_id, "idempotency_key": f"ocr-result:{job_id}", "actor": "system",
         "job_id": job_id},
        now,
    )
    lang = request.data.get("language", "en")
    if result["status"] != "completed":
        c.fire(request_id, "ocr_needs_client", now, detail="ocr_failed")
        c.tell_client(c.request(request_id), "ocr_failed", text_for("ocr_failed", lang), now,
                      key_suffix=f":{job_id}")
        return
    analysis = c.ledger.ocr_jobs(request_id)[-1]["result"] or {}
    if analysis.get("next_action") == "proceed" and analysis.get("need_text"):
        c.absorb_requirements(c.request(request_id), analysis["need_text"], now)
        if caption:  # the caption fills gaps (usually the place); it never rewrites what was read
            c.absorb_requirements(c.request(request_id), caption, now)
    # Consulted from ocr_processing: a plan goes to vendor_outreach (ocr_complete), a question back
    # to collecting_requirements (ocr_needs_client), an escalation to error.
    brain.consult(request_id, "ocr_result", now)


def _flag_injection(c: RequestDesk, request_id: str, job_id: str, text: str, now: float) -> None:
    """Text read from an image is data: instructions in it are flagged and audited (kinds only,
    never the text). Printed phone numbers are normal on prescriptions and invoices, so a number
    alone does not flag an image."""
    kinds = [k for k in detect_injection(text, source="ocr").kinds if k != "foreign_phone"]
    if kinds:
        c.ledger.audit("injection.flagged", now, request_id, source="ocr", kinds=kinds, job_id=job_id)
        log.warning("injection attempt flagged in the text of %s (%s)", job_id, ",".join(kinds))


def job_result(c: RequestDesk, args: dict[str, Any], now: float) -> dict[str, Any]:
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
