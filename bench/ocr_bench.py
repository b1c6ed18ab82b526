"""Benchmark the OCR stage against the raw ``tesseract`` command on the same images.

``python bench/ocr_bench.py [FOLDER] [--runs 5] [--psm-compare [RECEIPTS]]``

Timing: for each image, the median of N runs of (a) ``TesseractOcr().read(bytes)`` and (b) the bare
binary with the same arguments (``IMG stdout --psm 6 tsv``); the totals are compared (target: stage
<= 1.15x raw). ``--psm-compare`` measures character error rate on the sample set and the share of real
receipts whose key date and total appear in the text, per page-segmentation mode.

Preprocessing and fairness: the stage evens out uneven lighting (``UNEVEN_LIGHT``) before reading, and
enlarges small text (median word box < ``SMALL_TEXT_PX``) and re-reads it (a second Tesseract pass).
For such an image the raw command is given the same file the stage's final Tesseract run reads, so the
stage's extra cost (lighting check, first pass, resize) shows as overhead. The report says how many
timed images were enlarged (two passes) or evened.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulators.ocr import TesseractOcr  # noqa: E402
from simulators.ocr_eval import cer  # noqa: E402
from simulators.ocr_stage import OcrStage  # noqa: E402


def _raw_args(ocr: TesseractOcr, image: Path, psm: int) -> list[str]:
    info = ocr.engine_info()
    args = [info["binary"], str(image), "stdout", "--psm", str(psm)]
    if info["tessdata_dir"]:
        args += ["--tessdata-dir", info["tessdata_dir"]]
    return args + ["tsv"]


def _median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_timing(images: list[Path], runs: int) -> dict:
    ocr = TesseractOcr()
    rows, stage_total, raw_total, enlarged, evened, reread = [], 0.0, 0.0, 0, 0, 0
    with tempfile.TemporaryDirectory(prefix="ocr_bench_") as tmp:
        for image in images:
            data = image.read_bytes()
            ocr.read(data)  # warm the file cache and the version lookup once
            stage = _median_time(lambda d=data: ocr.read(d), runs)
            _, steps, final = ocr.read_data(data)
            raw_input = image
            if steps:  # same input file as the stage's final Tesseract run
                raw_input = Path(tmp) / f"{image.stem}_final.png"
                raw_input.write_bytes(final)
                enlarged += any(s.startswith("enlarged") for s in steps)
                evened += "evened lighting" in steps
                reread += any(s.startswith("re-read date line") for s in steps)
            args = _raw_args(ocr, raw_input, ocr.psm)
            raw = _median_time(lambda a=args: subprocess.run(a, capture_output=True, check=True), runs)
            stage_total, raw_total = stage_total + stage, raw_total + raw
            rows.append({"image": image.name, "steps": steps, "stage_s": round(stage, 4),
                         "raw_s": round(raw, 4)})
    return {"engine": ocr.engine_info(), "runs": runs, "images": len(images), "enlarged": enlarged,
            "evened": evened, "date_reread": reread,
            "stage_total_s": round(stage_total, 3), "raw_total_s": round(raw_total, 3),
            "ratio": round(stage_total / raw_total, 3), "rows": rows}


def bench_stage(receipts: list[Path], runs: int) -> dict:
    """Per receipt: the whole stage (Tesseract, validation, RapidOCR when the first reading fails,
    no cache) against each raw engine alone on the same file; medians over the receipts."""
    stage = OcrStage()
    tess = TesseractOcr()
    rows = []
    for image in receipts:
        data = image.read_bytes()
        reading = stage.read_traced(data)  # also loads RapidOCR's models once, outside the timing
        stage_s = _median_time(lambda d=data: stage.read_traced(d), runs)
        args = _raw_args(tess, image, tess.psm)
        raw_t = _median_time(lambda a=args: subprocess.run(a, capture_output=True, check=True), runs)
        raw_r = _median_time(lambda d=data: stage.second.boxes(d), 1) if stage.use_second else None
        rows.append({"receipt": image.name, "stage_s": round(stage_s, 3), "raw_tesseract_s": round(raw_t, 3),
                     "raw_rapidocr_s": None if raw_r is None else round(raw_r, 3),
                     "second_reading": "rapidocr" in reading.engines})
    med = lambda k: round(statistics.median(r[k] for r in rows), 3) if rows and rows[0][k] is not None else None  # noqa: E731
    return {"engine": stage.engine_info(), "receipts": len(rows), "runs": runs,
            "stage_median_s": med("stage_s"), "raw_tesseract_median_s": med("raw_tesseract_s"),
            "raw_rapidocr_median_s": med("raw_rapidocr_s"),
            "second_readings": sum(r["second_reading"] for r in rows), "rows": rows}


def psm_compare(samples: Path, receipts: Path | None, modes=(3, 4, 6)) -> list[dict]:
    out = []
    truths = [(p, json.loads(p.read_text())) for p in sorted(samples.glob("*.json"))]
    truths = [(p, t) for p, t in truths if t.get("degrade") != "severe"]
    for psm in modes:
        ocr = TesseractOcr(psm=psm)
        errs = []
        for p, t in truths:
            image = next(p.with_suffix(s) for s in (".png", ".jpg") if p.with_suffix(s).exists())
            errs.append(min(1.0, cer(t["text"], ocr.read(image.read_bytes()).text)))
        row = {"psm": psm, "samples_cer": round(statistics.mean(errs), 4), "samples": len(errs)}
        if receipts:
            found = {"date": 0, "total": 0}
            keys = sorted(receipts.glob("*.key.json"))
            for k in keys:
                key = json.loads(k.read_text())
                text = ocr.read(Path(str(k)[: -len(".key.json")] + ".jpg").read_bytes()).text.lower()
                for f in found:
                    found[f] += str(key.get(f, "")).lower() in text
            row.update({f"receipts_{f}_in_text": round(v / len(keys), 3) for f, v in found.items()})
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="fixtures/images")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--limit", type=int, default=12, help="images timed (first of each kind/level)")
    parser.add_argument("--psm-compare", nargs="?", const="", default=None, metavar="RECEIPTS")
    parser.add_argument("--receipts", metavar="DIR",
                        help="also time the whole stage (with its second reading) against each raw engine on these receipts")
    parser.add_argument("--receipt-limit", type=int, default=10, help="receipts timed (every other one, from the first)")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    images = sorted(p for p in folder.iterdir() if p.suffix in (".png", ".jpg"))
    # In the sample set, the first image of each kind and level; elsewhere (receipts) the first ones.
    images = [p for p in images if p.stem.endswith("_1")] or images
    images = images[: args.limit]
    report: dict = {"timing": bench_timing(images, args.runs)}
    t = report["timing"]
    print(f"engine: tesseract {t['engine']['version']} ({t['engine']['source']}), model {t['engine'].get('model')}")
    print(f"{t['images']} images, median of {t['runs']} runs each: stage {t['stage_total_s']} s, "
          f"raw tesseract {t['raw_total_s']} s, ratio {t['ratio']}x (target <= 1.15x); "
          f"{t['enlarged']} image(s) enlarged (two Tesseract passes), {t['evened']} evened lighting, "
          f"{t['date_reread']} with a date line re-read; "
          "raw given the same final file")
    if args.receipts:
        chosen = sorted(Path(args.receipts).glob("*.jpg")) + sorted(Path(args.receipts).glob("*.png"))
        report["stage"] = s = bench_stage(chosen[::2][: args.receipt_limit], min(args.runs, 3))
        print(f"stage on {s['receipts']} receipts ({args.receipts}), median per receipt: stage {s['stage_median_s']} s "
              f"(second reading on {s['second_readings']}), raw tesseract {s['raw_tesseract_median_s']} s, "
              f"raw rapidocr {s['raw_rapidocr_median_s']} s")
    if args.psm_compare is not None:
        report["psm"] = psm_compare(folder, Path(args.psm_compare) if args.psm_compare else None)
        for row in report["psm"]:
            print("  ".join(f"{k}={v}" for k, v in row.items()))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
