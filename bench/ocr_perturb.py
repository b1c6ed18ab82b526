"""Degraded copies of the choose half of a receipts folder, to choose on when the clean half is saturated.

``python bench/ocr_perturb.py RECEIPTS_DIR OUT_DIR [--level faded] [--seed 0]``

The stage reads 70 of the 71 even-id SROIE receipts right (docs/ocr.md "Fifth round"), so the clean
choose half can no longer tell one change from another. Each even-id scan is degraded the way the
sample set's pages are (``simulators.render_degrade``: rotation, downscale, blur, lower contrast,
noise, JPEG; one seeded generator per receipt id), and written with its own ground truth under the
same id, so ``concierge-sim ocr-eval OUT_DIR`` scores it as a choose half. Odd ids are never read.
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402

from simulators.render_degrade import DEGRADATIONS, degrade  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ocr_perturb", description=__doc__.splitlines()[0])
    parser.add_argument("receipts", help="SROIE-style folder (NNN.jpg, NNN.key.json, NNN.box.csv)")
    parser.add_argument("out", help="folder to write the degraded even-id copies to")
    parser.add_argument("--level", default="faded", choices=sorted(DEGRADATIONS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    src, out = Path(args.receipts), Path(args.out)
    if not src.is_dir():
        print(f"ocr_perturb: {src} is not a folder", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for image in sorted(src.glob("*.jpg")):
        if not image.stem.isdigit() or int(image.stem) % 2:
            continue
        rng = random.Random(f"{args.seed}:{args.level}:{image.stem}")
        data, mime = degrade(Image.open(io.BytesIO(image.read_bytes())).convert("L"), args.level, rng)
        if mime != "image/jpeg":  # the receipts loader reads NNN.jpg; a lossless level is re-encoded losslessly enough
            buf = io.BytesIO()
            Image.open(io.BytesIO(data)).save(buf, format="JPEG", quality=95)
            data = buf.getvalue()
        (out / image.name).write_bytes(data)
        for suffix in (".key.json", ".box.csv"):
            truth = src / f"{image.stem}{suffix}"
            if truth.exists():
                shutil.copyfile(truth, out / truth.name)
        written += 1
    print(f"ocr_perturb: {written} even-id receipts degraded ({args.level}, seed {args.seed}) into {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
