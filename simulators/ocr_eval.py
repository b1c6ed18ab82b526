"""Measure the OCR stage (real Tesseract + ``concierge.ocr_rules``) against ground truth.

``python -m simulators.ocr_eval PATH [--json OUT]`` (to be wired as ``concierge-sim ocr-eval``).
PATH is either the rendered sample set (``NAME.png|jpg`` + ``NAME.json``, see simulators/make_samples)
or a folder of real receipts in the SROIE layout (``NNN.jpg`` + ``NNN.key.json``). Numbers are
reported as measured: nothing here adjusts a threshold to make them look better.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from concierge.contracts import Check
from concierge.drugs import DrugLexicon
from concierge.errors import OcrFailed
from concierge.ocr_amounts import parse_amount
from concierge.ocr_dates import parse_date
from concierge.ocr_rules import analyse
from concierge.ports import OcrPage
from simulators.ocr_boxes import page_from_boxes
from simulators.ocr_cache import RawCache
from simulators.ocr_stage import OcrStage
from simulators.render import LEVELS

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
RECEIPT_FIELDS = ("company", "date", "total")

_TEXT = {"type": "string"}
_AMOUNT = {"type": ["number", "string"]}
# What the scoring reads from a ground-truth file; anything else in it is the renderer's business.
SAMPLE_TRUTH = Check({
    "type": "object",
    "required": ["kind"],
    "properties": {"kind": {"enum": ["prescription", "invoice", "product"]}, "degrade": _TEXT, "text": _TEXT},
    "allOf": [
        {"if": {"properties": {"kind": {"const": "invoice"}}},
         "then": {"required": ["company", "date", "total"],
                  "properties": {"company": _TEXT, "date": _TEXT, "total": _AMOUNT}}},
        {"if": {"properties": {"kind": {"const": "prescription"}}},
         "then": {"required": ["items"], "properties": {"items": {"type": "array", "items": {
             "type": "object", "required": ["drug"],
             "properties": {"drug": _TEXT, "dose": _AMOUNT, "quantity": _AMOUNT}}}}}},
        {"if": {"properties": {"kind": {"const": "product"}}},
         "then": {"required": ["items"], "properties": {"items": {"type": "array", "items": {
             "type": "object", "properties": {"brand": _TEXT, "model": _TEXT}}}}}},
    ],
})
RECEIPT_KEY = Check({
    "type": "object",
    "required": list(RECEIPT_FIELDS),
    "properties": {"company": _TEXT, "date": _TEXT, "total": _AMOUNT, "degrade": _TEXT},
})


class GroundTruthInvalid(ValueError):
    """One line per broken ground-truth file: its path, where in it, and what is wrong."""


def _load_truths(paths: list[Path], schema: Check, stem_of) -> list[tuple[Path, dict, Path]]:
    """Every ground-truth file with its image, or ``GroundTruthInvalid`` naming each bad one: a set
    scored with a file quietly left out would report an accuracy nobody measured."""
    loaded, problems = [], []
    for path in paths:
        try:
            truth = json.loads(path.read_text("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(f"{path}: not JSON ({exc})")
            continue
        error = schema.first_error(truth)
        if error:
            problems.append(f"{path}: {error}")
            continue
        image = _image_for(stem_of(path))
        if image is None:
            problems.append(f"{path}: no image next to it ({', '.join(IMAGE_SUFFIXES)})")
            continue
        loaded.append((path, truth, image))
    if problems:
        raise GroundTruthInvalid("\n".join(problems))
    return loaded


def _squash(text: str) -> str:
    return " ".join((text or "").split())


def cer(truth: str, read: str) -> float:
    """Character error rate: edits to turn what was read into the truth, per truth character."""
    t, r = _squash(truth), _squash(read)
    return Levenshtein.distance(t, r) / max(1, len(t))


def _norm(value) -> str:
    return re.sub(r"\s+", "", str(value if value is not None else "")).lower()


def _image_for(stem: Path) -> Path | None:
    for suffix in IMAGE_SUFFIXES:
        if stem.with_suffix(suffix).exists():
            return stem.with_suffix(suffix)
    return None


def _ratio(hit: int, n: int) -> float | None:
    return round(hit / n, 3) if n else None


def _evaluate_samples(folder: Path, ocr, lexicon: DrugLexicon) -> dict:
    groups: dict[tuple[str, str], dict] = {}
    truths = [p for p in sorted(folder.glob("*.json")) if not p.name.endswith(".key.json")]
    for _, truth, image in _load_truths(truths, SAMPLE_TRUTH, lambda p: p.with_suffix("")):
        g = groups.setdefault((truth["kind"], truth.get("degrade", "clean")), {
            "images": 0, "failed": 0, "cer_sum": 0.0, "asked": 0, "fields": {}, "wrong_but_proceeded": 0})
        g["images"] += 1
        try:
            page = ocr.read(image.read_bytes())
        except OcrFailed:
            g["failed"] += 1
            g["asked"] += 1
            g["cer_sum"] += 1.0
            _score_fields(g, truth, None, lexicon)
            continue
        g["cer_sum"] += min(1.0, cer(truth.get("text", ""), page.text))
        result = analyse(page, None, lexicon)
        g["asked"] += result.next_action == "ask_client"
        _score_fields(g, truth, result, lexicon)
    table = []
    for kind in ("prescription", "invoice", "product"):
        for level in LEVELS:
            g = groups.get((kind, level))
            if not g:
                continue
            row = {"kind": kind, "level": level, "images": g["images"], "ocr_failed": g["failed"],
                   "cer": round(g["cer_sum"] / g["images"], 3),
                   "ask_rate": _ratio(g["asked"], g["images"])}
            for name, (hit, n) in sorted(g["fields"].items()):
                row[f"{name}_accuracy"] = _ratio(hit, n)
            if kind == "prescription":
                row["wrong_but_proceeded"] = g["wrong_but_proceeded"]
            table.append(row)
    return {"mode": "samples", "path": str(folder), "engine": ocr.engine_info(), "rows": table}


def _count(g: dict, name: str, ok: bool) -> None:
    hit, n = g["fields"].get(name, (0, 0))
    g["fields"][name] = (hit + bool(ok), n + 1)


def _score_fields(g: dict, truth: dict, result, lexicon: DrugLexicon) -> None:
    kind = truth["kind"]
    if kind == "prescription":
        items = list(result.items) if result else []
        for t in truth.get("items", []):
            got = next((i for i in items if lexicon.same_drug(str(i.drug_name.value), t["drug"])), None)
            _count(g, "drug_name", got is not None)
            _count(g, "dose", got is not None and _norm(got.dose.value) == _norm(t.get("dose")))
            _count(g, "quantity", got is not None and _norm(got.quantity.value) == _norm(t.get("quantity")))
        # The safety number: the stage went ahead although something it passed on was wrong.
        if result and result.next_action == "proceed":
            want = {(lexicon.canonical(t["drug"]) or t["drug"], _norm(t.get("dose")), _norm(t.get("quantity")))
                    for t in truth.get("items", [])}
            got = {(lexicon.canonical(str(i.drug_name.value)) or i.drug_name.value,
                    _norm(i.dose.value), _norm(i.quantity.value)) for i in result.items}
            g["wrong_but_proceeded"] += got != want
    elif kind == "invoice":
        general = result.general if result else {}
        _count(g, "company", _norm((general.get("company") or {}).get("value")) == _norm(truth["company"]))
        _count(g, "date", (general.get("date") or {}).get("value") == truth["date"])
        _count(g, "total", (general.get("total") or {}).get("value") == truth["total"])
    elif kind == "product":
        text = _norm(" ".join(result.general.get("brands", []) + result.general.get("models", []))) if result else ""
        for t in truth.get("items", []):
            _count(g, "brand", bool(t.get("brand")) and _norm(t["brand"]) in text)
            _count(g, "model", bool(t.get("model")) and _norm(t["model"]) in text)


def read_box_lines(path: Path) -> list[tuple[float, float, float, str]]:
    """SROIE ``NNN.box.csv`` rows as (top, bottom, left, text); the transcript may itself hold commas."""
    boxes = []
    for row in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = row.split(",", 8)
        if len(parts) < 9 or not parts[8].strip():
            continue
        try:
            xs = [float(v) for v in parts[0:8:2]]
            ys = [float(v) for v in parts[1:8:2]]
        except ValueError:
            continue
        boxes.append((min(ys), max(ys), min(xs), parts[8].strip()))
    return boxes


def oracle_page(boxes: list[tuple[float, float, float, str]]) -> OcrPage:
    """The ground-truth text lines as a page an engine could have read, every word fully confident.

    Boxes are taken top to bottom; a box whose vertical centre lies inside the current row's first box
    joins that row (left to right), as a line-reading engine joins a receipt's label and amount columns.
    """
    return page_from_boxes([(*box, 1.0) for box in boxes], "oracle: ground-truth text lines")


def calendar_date(text) -> str | None:
    """The ISO date a key or a reading names: any layout ``parse_date`` knows, or a bare yyyymmdd
    (some SROIE keys are written that way)."""
    text = str(text or "").strip()
    if re.fullmatch(r"(19|20)\d{6}", text):
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    hit = parse_date(text)
    return hit[1] if hit else None


def _same_date(got, want) -> bool:
    # The same day written another way ("27 MARCH, 2018" for a key "27/03/2018") is the date read right.
    if _norm(got) == _norm(want):
        return True
    iso = calendar_date(got)
    return iso is not None and iso == calendar_date(want)


def _key_fields_ok(general: dict, key: dict) -> tuple[dict, dict]:
    got = {k: (general.get(k) or {}).get("value") for k in RECEIPT_FIELDS}
    want_total = parse_amount(str(key.get("total", "")))
    ok = {
        "company": _norm(got["company"]) == _norm(key.get("company")),
        "date": got["date"] is not None and _same_date(got["date"], key.get("date")),
        "total": got["total"] is not None and want_total is not None
        and abs(float(got["total"]) - want_total) < 0.005,
    }
    return got, ok


def _receipt_rows(receipts: list[dict]) -> list[dict]:
    rows = []
    for k in RECEIPT_FIELDS:
        hit = sum(r[f"{k}_ok"] for r in receipts)
        row = {"field": k, "correct": hit, "receipts": len(receipts), "accuracy": _ratio(hit, len(receipts))}
        judged = [r for r in receipts if f"oracle_{k}_ok" in r]
        if judged:
            oracle = sum(r[f"oracle_{k}_ok"] for r in judged)
            # Every miss is one of two things: the rules miss it even on perfect text, or the rules
            # would find it but the engine misread it.
            row.update({
                "oracle_correct": oracle, "oracle_accuracy": _ratio(oracle, len(judged)),
                "rule_missed": len(judged) - oracle,
                "ocr_misread": sum(r[f"oracle_{k}_ok"] and not r[f"{k}_ok"] for r in judged)})
        rows.append(row)
    return rows


# Rules and thresholds are chosen on even receipt ids and reported on odd ones (docs/ocr.md).
SPLIT = {0: "choose (even ids)", 1: "report (odd ids)"}


def part_of(name: str) -> str | None:
    """Which half of a numbered receipt set an image belongs to, or None for an unnumbered one."""
    stem = name.split(".", 1)[0]
    return SPLIT[int(stem) % 2] if stem.isdigit() else None


def _timing(seconds: list[float]) -> dict:
    if not seconds:
        return {}
    ordered = sorted(seconds)
    return {"median_s": round(statistics.median(ordered), 3), "mean_s": round(statistics.mean(ordered), 3),
            "p90_s": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 3),
            "max_s": round(ordered[-1], 3)}


def _as_stage(ocr, cache: RawCache | None) -> OcrStage:
    if isinstance(ocr, OcrStage):
        return ocr
    # A bare Tesseract engine (tests, the bench's comparisons): the stage without a second reading.
    return OcrStage(primary=ocr, use_second=False, cache=cache)


def _evaluate_receipts(folder: Path, stage: OcrStage, lexicon: DrugLexicon) -> dict:
    receipts = []
    keys = _load_truths(sorted(folder.glob("*.key.json")), RECEIPT_KEY,
                        lambda p: Path(str(p)[: -len(".key.json")]))
    for key_path, key, image in keys:
        stem = Path(str(key_path)[: -len(".key.json")])
        reading = None
        try:
            reading = stage.read_traced(image.read_bytes())
            general = analyse(reading.page, None, lexicon).general
        except OcrFailed:
            general = {}
        got, ok = _key_fields_ok(general, key)
        entry = {"receipt": image.name, **{f"{k}_ok": v for k, v in ok.items()}, "read": got,
                 "preprocessing": reading.steps if reading else [],
                 "engines": reading.engines if reading else [], "kept": reading.kept if reading else None,
                 "first_reading_problems": list(reading.problems) if reading else ["ocr_failed"],
                 # fields the kept reading lacked (or could not confirm) and the other engine's gave
                 "from_other_reading": [k for k in RECEIPT_FIELDS if str((general.get(k) or {}).get(
                     "provenance", "")).startswith("other reading")],
                 "seconds": round(reading.seconds, 3) if reading else None}
        if part_of(image.name):
            entry["part"] = part_of(image.name)
        if key.get("degrade"):
            entry["level"] = key["degrade"]
        box = stem.with_suffix(".box.csv")
        if box.exists():
            truth_general = analyse(oracle_page(read_box_lines(box)), None, lexicon).general
            oracle_got, oracle_ok = _key_fields_ok(truth_general, key)
            entry.update({f"oracle_{k}_ok": v for k, v in oracle_ok.items()})
            entry["oracle_read"] = oracle_got
        receipts.append(entry)
    seconds = [r["seconds"] for r in receipts if r["seconds"] is not None]
    report = {"mode": "receipts", "path": str(folder), "engine": stage.engine_info(),
              "rows": _receipt_rows(receipts), "receipts": receipts, "time_per_receipt": _timing(seconds),
              "second_readings": sum("rapidocr" in r["engines"] for r in receipts),
              "kept_second": sum(r["kept"] == "rapidocr" for r in receipts),
              "fields_from_other_reading": {k: sum(k in r["from_other_reading"] for r in receipts)
                                            for k in ("date", "total")},
              "cache": {"folder": str(stage.cache.folder) if stage.cache.folder else None,
                        "hits": stage.cache.hits, "misses": stage.cache.misses},
              "preprocessed": {step: sum(any(s.startswith(step) for s in r["preprocessing"]) for r in receipts)
                               for step in ("evened lighting", "enlarged", "re-read date line")}}
    parts = list(dict.fromkeys(r["part"] for r in receipts if "part" in r))
    if len(parts) > 1:
        report["parts"] = []
        for name in sorted(parts):
            mine = [r for r in receipts if r.get("part") == name]
            report["parts"].append({
                "part": name, "rows": _receipt_rows(mine),
                "time_per_receipt": _timing([r["seconds"] for r in mine if r["seconds"] is not None]),
                "second_readings": sum("rapidocr" in r["engines"] for r in mine),
                "kept_second": sum(r["kept"] == "rapidocr" for r in mine)})
    levels = list(dict.fromkeys(r["level"] for r in receipts if "level" in r))
    if levels:
        report["levels"] = [{"level": lv, **{f"{row['field']}_accuracy": row["accuracy"] for row in
                                             _receipt_rows([r for r in receipts if r.get("level") == lv])},
                             "receipts": sum(r.get("level") == lv for r in receipts)} for lv in levels]
    return report


def evaluate(path, ocr=None, lexicon: DrugLexicon | None = None, cache: RawCache | None = None,
             second_reading: bool | None = None) -> dict:
    """Score the stage on a folder. ``ocr``: an ``OcrStage`` (default: Tesseract + RapidOCR), a
    ``TesseractOcr`` (scored alone) or any engine with ``read``/``engine_info`` (sample sets only)."""
    folder = Path(path)
    lexicon = lexicon or DrugLexicon.default()
    if ocr is None:
        ocr = OcrStage(lexicon=lexicon, cache=cache, use_second=second_reading)
    if any(folder.glob("*.key.json")):
        return _evaluate_receipts(folder, _as_stage(ocr, cache), lexicon)
    return _evaluate_samples(folder, ocr, lexicon)


def format_table(report: dict) -> str:
    rows = report["rows"]
    if not rows:
        return "(no images found)"
    cols = list(dict.fromkeys(k for r in rows for k in r))
    cells = [[("-" if r.get(c) is None else str(r.get(c))) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def _when(policy: dict) -> str:
    return (f"< {policy['min_words']} words, mean confidence < {policy['min_mean_confidence']}"
            + (f", not receipt-like at mean confidence < {policy['min_readable_confidence']}"
               if policy.get("min_readable_confidence") else "")
            + (", no date" if policy["want_date"] else "") + (", no total" if policy["want_total"] else "")
            + (", total unconfirmed" if policy["want_total_confirmed"] else ""))


def _time_line(report: dict) -> str:
    t = report["time_per_receipt"]
    return (f"time per receipt median {t['median_s']} s, mean {t['mean_s']} s, p90 {t['p90_s']} s; "
            f"second reading on {report['second_readings']}"
            + (f" (kept on {report['kept_second']})" if "kept_second" in report else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="concierge-sim ocr-eval", description=__doc__.splitlines()[0])
    parser.add_argument("path", help="sample set folder (fixtures/images) or SROIE-style receipts folder")
    parser.add_argument("--json", dest="json_out", help="write the full report as JSON here")
    parser.add_argument("--cache", default=os.environ.get("OCR_CACHE_DIR"),
                        help="folder of cached raw engine readings (default: $OCR_CACHE_DIR; none: read live)")
    parser.add_argument("--no-second-reading", action="store_true",
                        help="Tesseract alone, never RapidOCR (to compare)")
    args = parser.parse_args(argv)
    if not Path(args.path).is_dir():
        print(f"ocr-eval: {args.path} is not a folder", file=sys.stderr)
        return 2
    try:
        report = evaluate(args.path, cache=RawCache(args.cache) if args.cache else None,
                          second_reading=False if args.no_second_reading else None)
    except GroundTruthInvalid as exc:
        print(f"ocr-eval: ground truth in {args.path} is broken; nothing was scored:\n{exc}", file=sys.stderr)
        return 2
    except OcrFailed as exc:
        print(f"ocr-eval: {exc}", file=sys.stderr)
        return 3
    if not report["rows"] or not any(r.get("images", r.get("receipts")) for r in report["rows"]):
        print(f"ocr-eval: no labelled images in {args.path}: expected NAME.png|jpg with NAME.json "
              f"(a rendered sample, see simulators/make_samples.py) or NNN.jpg with NNN.key.json (SROIE)",
              file=sys.stderr)
        return 2
    info = report["engine"]
    second = info.get("second_reading")
    print(f"engine: tesseract {info['version']} ({info['source']}) psm {info['psm']}; second reading: "
          + (f"{second['engine']} {second['version']} when {_when(info['second_reading_when'])}" if second else "off"))
    print(format_table(report))
    for part in report.get("parts", []):
        print(f"\n{part['part']}: {_time_line(part)}")
        print(format_table(part))
    if report.get("time_per_receipt"):
        print(f"\nall receipts: {_time_line(report)}")
    if report.get("fields_from_other_reading"):
        print("from the reading not kept: " + ", ".join(f"{k} {v}" for k, v in report["fields_from_other_reading"].items()))
    if report.get("preprocessed"):
        print("preprocessed: " + ", ".join(f"{k} {v}/{len(report['receipts'])}" for k, v in report["preprocessed"].items()))
    if report.get("levels"):
        print(format_table({"rows": report["levels"]}))
    if any("oracle_accuracy" in r for r in report["rows"]):
        print("oracle: the same rules on the ground-truth text lines (NNN.box.csv); rule_missed = wrong even "
              "there, ocr_misread = right there but wrong on Tesseract's text")
    if args.json_out:
        from .outputs import write_file  # whole or not at all, one writer at a time

        write_file(args.json_out, (json.dumps(report, indent=1) + "\n").encode("utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
