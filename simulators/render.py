"""Draw printed prescriptions, invoices, product labels and shop receipts with Pillow, with ground truth.

This is the facade (spec checking and ``render``); the work is in ``render_pages`` (page layouts),
``render_receipt`` (the thermal receipt) and ``render_degrade`` (camera/scanner damage). Page text uses
Pillow's own built-in scalable font (``ImageFont.load_default(size)``, Aileron Regular, CC0), so no
system font is needed. Every random choice, layout and degradation, comes from ``random.Random(seed)``:
the same spec and seed give the same bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from simulators.render_degrade import DEGRADATIONS, degrade
from simulators.render_pages import LAYOUTS, draw_page
from simulators.render_receipt import REGIONS, draw_receipt, receipt_rows

# The facade's names: importers (make_samples, ocr_eval, rollout/ocr_model, tests) use these.
_LAYOUTS = LAYOUTS
__all__ = ["DEGRADATIONS", "ITEM_KEYS", "KINDS", "LEVELS", "RECEIPT_LEVELS", "REGIONS", "SPEC_KEYS",
           "Rendered", "_LAYOUTS", "draw_receipt", "receipt_rows", "render", "validate_render_spec"]

KINDS = ("prescription", "invoice", "product", "receipt")
LEVELS = ("clean", "mild", "moderate", "severe")
# Receipts have their own levels: "small" is a low-resolution scan (word boxes ~9 px), "faded" a worn
# thermal print, "photo" a phone photo (perspective, shadow, lossy).
RECEIPT_LEVELS = ("clean", "mild", "small", "faded", "photo")
ITEM_KEYS = {
    "prescription": ({"drug"}, {"drug", "dose", "form", "quantity", "instructions"}),
    "invoice": ({"name"}, {"name", "quantity", "price"}),
    "product": ({"name"}, {"name", "brand", "model", "quantity"}),
    "receipt": ({"name"}, {"name", "quantity", "price"}),
}
SPEC_KEYS = {"render", "items", "lines", "degrade", "seed", "title", "region"}


@dataclass(frozen=True)
class Rendered:
    image_bytes: bytes
    mime: str
    ground_truth: dict = field(default_factory=dict)

    @property
    def png_bytes(self) -> bytes:
        """The image bytes (named for the scenario loader; JPEG when the level is lossy)."""
        return self.image_bytes

    @property
    def extension(self) -> str:
        return "png" if self.mime == "image/png" else "jpg"


def validate_render_spec(spec: Any) -> list[str]:
    """Problems with a scenario's render spec, each naming the key; [] when it is usable."""
    if not isinstance(spec, dict):
        return [f"render spec must be a mapping, got {type(spec).__name__}"]
    problems = [f"unknown key {k!r} (expected one of {sorted(SPEC_KEYS)})"
                for k in sorted(map(str, spec)) if k not in SPEC_KEYS]
    kind = spec.get("render")
    if kind not in KINDS:
        problems.append(f"render: expected one of {list(KINDS)}, got {kind!r}")
    if spec.get("degrade", "clean") not in DEGRADATIONS:
        problems.append(f"degrade: expected one of {list(DEGRADATIONS)}, got {spec.get('degrade')!r}")
    if "region" in spec and spec["region"] not in REGIONS:
        problems.append(f"region: expected one of {sorted(REGIONS)}, got {spec['region']!r}")
    seed = spec.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        problems.append(f"seed: expected an integer, got {seed!r}")
    lines = spec.get("lines")
    if lines is not None and (not isinstance(lines, list) or not all(isinstance(x, str | int | float) for x in lines)):
        problems.append("lines: expected a list of text lines")
    items = spec.get("items")
    if items is not None:
        if not isinstance(items, list):
            problems.append("items: expected a list")
        elif kind in ITEM_KEYS:
            required, allowed = ITEM_KEYS[kind]
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    problems.append(f"items[{i}]: expected a mapping")
                    continue
                problems += [f"items[{i}]: missing {k!r}" for k in sorted(required - set(item))]
                problems += [f"items[{i}]: unknown key {k!r} (expected {sorted(allowed)})"
                             for k in sorted(map(str, item)) if k not in allowed]
    if kind in KINDS and not items and not lines:
        problems.append("a render spec needs items or lines")
    return problems


def render(spec: dict, seed: int = 0) -> Rendered:
    """Draw the spec; ``spec['seed']`` (if any) wins over ``seed``. Raises ValueError on a bad spec."""
    problems = validate_render_spec(spec)
    if problems:
        raise ValueError("; ".join(problems))
    seed = spec.get("seed", seed)
    rng = random.Random(seed)
    kind, level = spec["render"], spec.get("degrade", "clean")
    if kind == "receipt" and spec.get("items"):
        rows, truth = receipt_rows(spec, rng)
        image, boxes = draw_receipt(rows, rng)
        lines = [" ".join(seg[0] for seg in row) for row in rows]
        truth["boxes"] = boxes
    elif spec.get("lines") and not spec.get("items"):
        lines = [str(x) for x in spec["lines"]]
        truth: dict = {"kind": kind, "lines": lines}
    else:
        lines, truth = LAYOUTS[kind](spec, rng)
    if kind != "receipt" or not spec.get("items"):
        image = draw_page(lines)
    data, mime = degrade(image, level, rng)
    truth.update({"degrade": level, "seed": seed, "text": "\n".join(ln for ln in lines if ln.strip())})
    return Rendered(image_bytes=data, mime=mime, ground_truth=truth)
