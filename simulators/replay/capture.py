"""What a transcript row alone does not say about a message, read from the world before it closes:
its kind, the reply buttons it carried, the image a client attached (as a small thumbnail).

The ledger's transcript keeps text only (``[image]`` for a photo); the report draws the
conversation as the people saw it, so it needs the rest, keyed by the message's wamid.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

THUMB_PX = 200  # the longest side of a thumbnail: enough to recognise a page, small inline


def thumbnail(data: bytes) -> str | None:
    """A JPEG data URI of the image, downscaled; None when the bytes are not an image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.thumbnail((THUMB_PX, THUMB_PX))
            buf = io.BytesIO()
            img.convert("RGB").save(buf, "JPEG", quality=60, optimize=True)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _inbound(world: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in world.delivered:
        try:
            value = json.loads(item.body)["entry"][0]["changes"][0]["value"]
            message = value["messages"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            continue  # a malformed webhook (hostile-input scenarios) carries no message to draw
        kind = message.get("type", "text")
        detail: dict[str, Any] = {"kind": kind}
        media = message.get(kind) if isinstance(message.get(kind), dict) else None
        if media is not None and "id" in media:
            detail["filename"] = media.get("filename")
            stored = world.whatsapp.stored_media(str(media["id"]))
            if stored is not None and stored[1].startswith("image/"):
                detail["image"] = thumbnail(stored[0])
        if kind == "interactive":  # what the client tapped: a reply button, or a row of a list message
            what = (message.get("interactive") or {}).get("type")
            detail["tapped"] = "a row of a list" if what == "list_reply" else "a button"
        out[str(message.get("id"))] = detail
    return out


def message_details(world: Any) -> dict[str, dict[str, Any]]:
    """wamid -> {kind, buttons, image, filename, tapped} for the messages of a world."""
    out = _inbound(world)
    for row in world.ledger.outbound():
        if row.get("wamid") and row.get("buttons"):
            out[row["wamid"]] = {"kind": "interactive",
                                 "buttons": [title for _id, title in json.loads(row["buttons"])]}
    return out
