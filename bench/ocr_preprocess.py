"""Measure each image preprocessing step's effect on Tesseract's first reading of real receipts.

``python bench/ocr_preprocess.py RECEIPTS_DIR [--part even] [--cache DIR] [--json OUT]``

One row per step, switched on or off against the stage's first reading as committed: receipts whose
date and total the rules read right from Tesseract's text, pages with (almost) no words, pages the
second reading would be asked for, and Tesseract's seconds per receipt (median; as measured when each
reading was made, the cache keeps them). Only the choose half (even ids) is measured by default:
the report half is not used to choose (docs/ocr.md "Fifth round").

Steps the stage already takes (evened lighting, small text enlarged, date line re-read) are switched
off by reading again only the receipts on which the step was taken (on the others the reading is the
same by construction). Steps it does not take are applied to every receipt before Tesseract reads it:
contrast normalisation (grey levels stretched, 1 % clipped each end), binarisation (Otsu's global
threshold on the grey page), deskew (the page turned by the angle at which its dark pixels' row profile
is sharpest, within +/- 5 degrees), upscaling (1.5x Lanczos, every page).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageOps  # noqa: E402

from concierge.drugs import DrugLexicon  # noqa: E402
from concierge.errors import OcrFailed  # noqa: E402
from concierge.ocr_rules import analyse  # noqa: E402
from concierge.ocr_validation import reading_problems  # noqa: E402
from concierge.ports import OcrPage  # noqa: E402
from simulators.ocr import TesseractOcr, _words  # noqa: E402
from simulators.ocr_cache import RawCache  # noqa: E402
from simulators.ocr_eval import RECEIPT_KEY, _key_fields_ok, _load_truths, part_of  # noqa: E402


def _gray(image: bytes) -> Image.Image:
    with Image.open(io.BytesIO(image)) as img:
        return ImageOps.grayscale(ImageOps.exif_transpose(img))


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def contrast(image: bytes) -> bytes:
    return _png(ImageOps.autocontrast(_gray(image), cutoff=1))


def otsu_threshold(hist: list[int]) -> int:
    """The grey level that best splits the histogram in two (Otsu: largest between-class variance)."""
    total = sum(hist)
    weighted = sum(i * h for i, h in enumerate(hist))
    best, best_t, seen, seen_w = -1.0, 127, 0, 0.0
    for t, h in enumerate(hist):
        seen += h
        seen_w += t * h
        if seen == 0 or seen == total:
            continue
        m0, m1 = seen_w / seen, (weighted - seen_w) / (total - seen)
        between = seen * (total - seen) * (m0 - m1) ** 2
        if between > best:
            best, best_t = between, t
    return best_t


def binarise(image: bytes) -> bytes:
    gray = _gray(image)
    t = otsu_threshold(gray.histogram())
    return _png(gray.point(lambda v: 255 if v > t else 0, "1"))


def skew_angle(gray: Image.Image, limit: float = 5.0, step: float = 0.5) -> float:
    """The rotation (degrees) at which the page's dark pixels fall into the sharpest rows."""
    import numpy as np

    small = gray.reduce(2) if min(gray.size) > 600 else gray
    t = otsu_threshold(small.histogram())
    ink = small.point(lambda v: 255 if v <= t else 0)
    best, best_angle = -1.0, 0.0
    angle = -limit
    while angle <= limit + 1e-9:
        rows = np.asarray(ink.rotate(angle, resample=Image.Resampling.NEAREST, fillcolor=0), dtype=np.float64).sum(axis=1)
        score = float(((rows[1:] - rows[:-1]) ** 2).sum())
        if score > best:
            best, best_angle = score, angle
        angle += step
    return best_angle


def deskew(image: bytes) -> bytes:
    gray = _gray(image)
    angle = skew_angle(gray)
    if angle == 0.0:
        return image
    return _png(gray.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255))


def upscale(image: bytes) -> bytes:
    gray = _gray(image)
    return _png(gray.resize((round(gray.width * 1.5), round(gray.height * 1.5)), Image.Resampling.LANCZOS))


ADDED = {"contrast normalisation": contrast, "binarisation (Otsu)": binarise, "deskew": deskew,
         "upscaling x1.5 (every page)": upscale}
# Generous: on a loaded machine a reading can take many times its usual seconds (recorded as taken).
TIMEOUT_S = 120.0
# Steps the stage takes only on some pages: (name, the step's mark in read_data's steps, engine switch).
TAKEN = (("evened lighting", "evened lighting", {"even_lighting": False}),
         ("small text enlarged", "enlarged", {"upscale_small_text": False}),
         ("date line re-read", "re-read date line", {"reread_date_lines": False}))


def _read(ocr: TesseractOcr, image: bytes, cache: RawCache, variant: str) -> tuple[OcrPage, list[str], float]:
    try:
        raw, seconds = cache.get_or_read(
            {**ocr.engine_info(), "bench_variant": variant}, image,
            lambda: dict(zip(("data", "steps"), ocr.read_data(image)[:2], strict=True)))
    except OcrFailed as exc:  # counted as a page read empty; the row says how many failed
        return OcrPage((), ocr.name), [f"failed: {exc}"], ocr.timeout_s
    return OcrPage(_words(raw["data"]), ocr.name), list(raw["steps"]), seconds


def _score(page: OcrPage, key: dict, lexicon: DrugLexicon, steps: list[str]) -> dict:
    _, ok = _key_fields_ok(analyse(page, None, lexicon).general, key)
    return {"date": ok["date"], "total": ok["total"], "empty": len(page.words) < 5,
            "second": bool(reading_problems(page, lexicon)), "failed": any(s.startswith("failed") for s in steps)}


def _row(name: str, scored: list[dict], seconds: list[float], changed: int) -> dict:
    n = len(scored)
    return {"step": name, "receipts": n, "changed_pages": changed,
            "date": sum(s["date"] for s in scored), "total": sum(s["total"] for s in scored),
            "empty_pages": sum(s["empty"] for s in scored), "failed": sum(s["failed"] for s in scored), "second_reading_asked": sum(s["second"] for s in scored),
            "tesseract_median_s": round(statistics.median(seconds), 3) if seconds else None}


def measure(folder: Path, part: str | None, cache: RawCache, steps: list[str] | None = None) -> list[dict]:
    lexicon = DrugLexicon.default()
    keys = _load_truths(sorted(folder.glob("*.key.json")), RECEIPT_KEY, lambda p: Path(str(p)[: -len(".key.json")]))
    keys = [k for k in keys if part is None or (part_of(k[2].name) or "").startswith(part)]
    base_ocr = TesseractOcr(timeout_s=TIMEOUT_S)
    base = []
    for _, key, image in keys:
        data = image.read_bytes()
        page, taken, seconds = _read(base_ocr, data, cache, "as committed")
        base.append((key, data, page, taken, seconds))
    rows = [_row("as committed", [_score(p, k, lexicon, t) for k, _, p, t, _ in base], [s for *_, s in base], 0)]
    for name, mark, switch in TAKEN:
        if steps and name not in steps:
            continue
        ocr = TesseractOcr(timeout_s=TIMEOUT_S, **switch)
        scored, seconds, changed = [], [], 0
        for key, data, page, taken, s in base:
            if any(t.startswith(mark) for t in taken):
                page, taken, s = _read(ocr, data, cache, f"without {name}")
                changed += 1
            scored.append(_score(page, key, lexicon, taken))
            seconds.append(s)
        rows.append(_row(f"without {name}", scored, seconds, changed))
    for name, step in ADDED.items():
        if steps and name not in steps:
            continue
        scored, seconds = [], []
        for key, data, _, _, _ in base:
            page, taken, s = _read(base_ocr, step(data), cache, f"with {name}")
            scored.append(_score(page, key, lexicon, taken))
            seconds.append(s)
        rows.append(_row(f"with {name}", scored, seconds, len(base)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--part", default="choose", help="'choose' (even ids, default), 'report' or 'all'")
    parser.add_argument("--cache", help="raw-reading cache folder (ocr-eval's --cache)")
    parser.add_argument("--step", action="append", help="only these steps (repeatable)")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"ocr_preprocess: {folder} is not a folder", file=sys.stderr)
        return 2
    rows = measure(folder, None if args.part == "all" else args.part, RawCache(args.cache), args.step)
    cols = list(rows[0])
    print("  ".join(cols))
    for r in rows:
        print("  ".join(str(r[c]) for c in cols))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
