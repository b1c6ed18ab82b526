"""The coded workflow: deterministic rules that propose the same JSON actions as the brain.

It serves clients outside the AI cohort, requests whose kill switch tripped, and events the brain
could not answer. In the simulator it is also the default behaviour of the simulated Moltbot
(``RuleBrain``), so the AI path and the coded path differ only where the brain is made to differ.
"""

from __future__ import annotations

from typing import Any

from .lifecycle import RequestState
from .needs import Requirements, clarifying_question
from .shortlist import Candidate, rank
from .texts import text_for


def usable(reply: dict[str, Any]) -> bool:
    return reply.get("availability") != "out_of_stock" and not reply.get("suspicious")


def candidates_from(replies: list[dict[str, Any]]) -> list[Candidate]:
    return [
        Candidate(
            vendor_id=r["vendor_id"],
            vendor_name=r["vendor_name"],
            vendor_phone=r["vendor_phone"],
            availability=r["availability"],
            price_min=r.get("price_min"),
            price_max=r.get("price_max"),
            confidence=float(r.get("confidence", 0.0)),
            distance_km=r.get("distance_km"),
            replied_after_s=float(r.get("replied_after_s", 0.0)),
            first_responder=bool(r.get("first_responder")),
            location_note=r.get("location_note"),
            options=tuple(r.get("options") or ()),
            excluded_reason="suspicious" if r.get("suspicious") else None,
        )
        for r in replies
    ]


def response_summary(reply: dict[str, Any]) -> str:
    parts = [reply.get("availability", "unclear").replace("_", " ")]
    lo, hi = reply.get("price_min"), reply.get("price_max")
    if lo is not None:
        parts.append(f"{lo:,} RWF" if lo == hi else f"{lo:,}-{hi:,} RWF")
    if reply.get("location_note"):
        parts.append(str(reply["location_note"])[:80])
    return ", ".join(parts)


class CodedWorkflow:
    """Implements ``concierge.ports.Brain`` with fixed rules; never returns an invalid action."""

    batch_size = 3

    def propose(self, pack: dict[str, Any]) -> dict[str, Any]:
        lang = pack.get("language", "en")
        event = pack.get("event")
        replies = pack.get("outreach", {}).get("replies", [])
        req = pack.get("requirements", {})
        if event in ("replies_ready", "shortlist_due") or (
            pack.get("state") == RequestState.COLLECTING_REQUIREMENTS.value and req.get("complete")
            and any(usable(r) for r in replies)
        ):
            return self._shortlist(pack, replies)
        # An unsure reading is asked about once, right after it was read; later turns are the client's.
        if event == "ocr_result" and (pack.get("ocr") or {}).get("next_action") == "ask_client":
            return {
                "type": "ask_client",
                "question_text": pack["ocr"].get("question") or text_for("coded_ask_item", lang),
                "why": "ocr_needs_confirmation",
            }
        missing = list(Requirements.from_dict(req).missing())
        asked = int(pack.get("clarifications_asked", 0))
        caps = pack.get("policies", {}).get("caps", {})
        if missing and asked < int(caps.get("clarifications_max", 2)):
            question = self._question(req, missing, lang)
            return {"type": "ask_client", "question_text": question, "why": f"missing {missing[0]}"}
        if "item" in missing:
            return {
                "type": "escalate",
                "reason": "need still unclear after clarifications",
                "safe_client_message": text_for("safe_escalation", lang),
                "to": "human",
            }
        return self._plan(req, caps)

    def _question(self, req: dict[str, Any], missing: list[str], lang: str) -> str:
        text = clarifying_question(Requirements.from_dict(req), lang)
        if text:
            return text
        return text_for("coded_ask_item" if missing[0] == "item" else "coded_ask_place", lang)

    def _plan(self, req: dict[str, Any], caps: dict[str, Any]) -> dict[str, Any]:
        need = str(req.get("item") or "the item")
        if req.get("quantity") and str(req["quantity"]) not in need:
            need = f"{need} (x{req['quantity']})"
        return {
            "type": "vendor_outreach_plan",
            "category": req.get("category") or "general",
            "normalized_need": need[:500],
            "batch_size": min(self.batch_size, int(caps.get("batch_size_max", 5))),
            "vendor_questions": [
                "Do you have it in stock? (yes/no)",
                "Price range in RWF (min-max)?",
                "Your location or a landmark?",
                "Options available (brand, size, colour)?",
            ],
            "stop_conditions": {
                "max_vendors": min(15, int(caps.get("max_vendors_per_request", 15))),
                "min_replies": int(caps.get("min_replies", 3)),
                "timeout_hours": 0.5,
            },
            "calling_allowed": False,
            "vendor_filters": {"location_radius_km": float(caps.get("radius_default_km", 5.0))},
        }

    def _shortlist(self, pack: dict[str, Any], replies: list[dict[str, Any]]) -> dict[str, Any]:
        budget = pack.get("requirements", {}).get("budget_max")
        ranked = rank(candidates_from(replies), budget)
        by_id = {r["vendor_id"]: r for r in replies}
        items = []
        for scored in ranked:
            c = scored.candidate
            reply = by_id[c.vendor_id]
            items.append(
                {
                    "vendor_id": c.vendor_id,
                    "vendor_name": c.vendor_name,
                    "vendor_phone": c.vendor_phone,
                    "response_summary": response_summary(reply),
                    "price": c.price_min,
                    "availability": c.availability,
                }
            )
        if not items:
            lang = pack.get("language", "en")
            return {
                "type": "escalate",
                "reason": "no usable vendor reply",
                "safe_client_message": text_for("safe_escalation", lang),
                "to": "human",
            }
        return {
            "type": "shortlist",
            "summary_text": f"{len(items)} vendor(s) found",
            "items": items,
            "handoff": {"type": "wa_link"},
        }
