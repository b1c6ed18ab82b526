"""The shortlist review page, ``review.html``: a reviewer marks each of a run's first shortlists ok
or problem, with a note, and exports the marks as JSON, the file ``gate phase2 --review FILE``
reads (``simulators/rollout/review.py``: what the gate makes of it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..rollout.review import FORMAT
from .chat import bubbles
from .pages import write_page


def write_review_page(path: Path, run_dir: Path, samples: dict[str, Any], run: dict[str, Any]) -> Path:
    items = []
    for s in samples.get("shortlists", []):
        client_got = [{"side": "out", "party": "client", "sender": "concierge", "to": "client", "at": s["delivered"],
                       "text": text, "kind": "text", "buttons": [], "image": None, "filename": None,
                       "tapped": None, "request_id": None} for text in s["messages"]]
        items.append({**s, "client_got": client_got, "bubbles": bubbles(s["transcript"])})
    page = {"format": FORMAT, "fingerprint": samples.get("fingerprint", ""), "ids": [s["id"] for s in items]}
    return write_page(path, "review.html.j2", title=f"Shortlist review: {run_dir}", items=items, run=run,
                      page=page)
