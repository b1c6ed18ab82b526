"""Transcript rows as WhatsApp bubbles: who speaks, on which side, with what attached.

One conversation per scenario holds the client, the concierge and every vendor, as the ledger
recorded it. The concierge's messages sit on the right (its own phone's view); a client's and a
vendor's on the left, each in its own colour, with the sender named as in a group chat.
"""

from __future__ import annotations

from typing import Any


def _party(label: str) -> str:
    if label == "concierge":
        return "concierge"
    return "vendor" if label.startswith("vendor") else "client"


def bubble(row: dict[str, Any]) -> dict[str, Any]:
    sender, to = str(row.get("from") or ""), str(row.get("to") or "")
    outgoing = sender == "concierge"
    text = str(row.get("text") or "")
    kind = row.get("kind") or "text"
    if kind == "text" and text in ("[image]", "[document]"):  # a rollout sample keeps only the placeholder
        kind = text[1:-1]
    if kind in ("image", "document") and text in (f"[{kind}]", ""):
        text = ""  # the placeholder is drawn as the attachment itself
    return {
        "side": "out" if outgoing else "in",
        "party": _party(to) if outgoing else _party(sender),
        "sender": sender, "to": to, "at": str(row.get("at") or ""), "text": text, "kind": kind,
        "buttons": list(row.get("buttons") or ()), "image": row.get("image"),
        "filename": row.get("filename"), "tapped": row.get("tapped") or None,
        "request_id": row.get("request_id"),
    }


def bubbles(transcript: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [bubble(row) for row in transcript]
