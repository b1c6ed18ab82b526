"""A disk cache of raw engine readings, for evaluating rules without re-running the engines.

Keyed by the image's bytes and the engine's whole configuration (model, psm, preprocessing
switches), so a change to any of them reads again. Each entry keeps the seconds the engine took when
it filled the entry, so an evaluation from the cache still reports engine time (as measured then).
Off unless a folder is given (``ocr-eval --cache DIR`` or ``OCR_CACHE_DIR``); nothing in the project
writes one by default.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path


def _key(engine_info: dict, image: bytes) -> str:
    config = json.dumps(engine_info, sort_keys=True, default=str)
    return hashlib.sha256(config.encode() + b"\0" + image).hexdigest()


class RawCache:
    def __init__(self, folder: str | os.PathLike | None):
        self.folder = Path(folder) if folder else None
        self.hits = self.misses = 0

    def get_or_read(self, engine_info: dict, image: bytes, read) -> tuple[dict, float]:
        """``read()`` returns a JSON-able dict; the result and the seconds it took (now or when cached)."""
        path = None
        if self.folder is not None:
            key = _key(engine_info, image)
            path = self.folder / key[:2] / f"{key}.json"
            try:
                entry = json.loads(path.read_text("utf-8"))
                self.hits += 1
                return entry["raw"], float(entry["seconds"])
            except (OSError, ValueError, KeyError):
                pass
        self.misses += 1
        t0 = time.perf_counter()
        raw = read()
        seconds = time.perf_counter() - t0
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"raw": raw, "seconds": seconds}), "utf-8")
            os.replace(tmp, path)
        return raw, seconds
