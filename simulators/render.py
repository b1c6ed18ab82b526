"""Draw printed prescriptions, pharmacy invoices and product labels with Pillow, with ground truth.

The font is Pillow's own built-in scalable font (``ImageFont.load_default(size)``, Aileron Regular,
CC0), so no system font is needed. Every random choice, layout and degradation, comes from
``random.Random(seed)``: the same spec and seed give the same bytes.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageFont

KINDS = ("prescription", "invoice", "product")
LEVELS = ("clean", "mild", "moderate", "severe")
ITEM_KEYS = {
    "prescription": ({"drug"}, {"drug", "dose", "form", "quantity", "instructions"}),
    "invoice": ({"name"}, {"name", "quantity", "price"}),
    "product": ({"name"}, {"name", "brand", "model", "quantity"}),
}
SPEC_KEYS = {"render", "items", "lines", "degrade", "seed", "title"}

# Each level: max rotation (deg), blur radius, noise amplitude (0..128), contrast factor, JPEG
# quality (None = lossless PNG), downscale factor. Severe is meant to be unreadable.
DEGRADATIONS: dict[str, dict[str, Any]] = {
    "clean": {"rotate": 0.0, "blur": 0.0, "noise": 0, "contrast": 1.0, "jpeg": None, "scale": 1.0},
    "mild": {"rotate": 1.0, "blur": 0.5, "noise": 12, "contrast": 0.85, "jpeg": 75, "scale": 1.0},
    "moderate": {"rotate": 2.5, "blur": 1.1, "noise": 30, "contrast": 0.6, "jpeg": 40, "scale": 0.8},
    "severe": {"rotate": 5.0, "blur": 3.2, "noise": 80, "contrast": 0.3, "jpeg": 10, "scale": 0.4},
}

WIDTH = 900
FONT_SIZE = 26
MARGIN = 40

CLINICS = ["Kimironko Health Centre", "Kacyiru Medical Clinic", "Remera Polyclinic",
           "Nyamirambo Family Clinic", "Kicukiro Community Hospital", "Gisozi Health Post"]
PHARMACIES = ["Pharma Plus Ltd", "Vine Pharmacy", "Kigali Life Pharmacy", "Umurava Pharmacy Ltd",
              "Nyabugogo Pharma", "Remera Medical Stores"]
DOCTORS = ["Dr. A. Mukamana", "Dr. J. Habimana", "Dr. E. Uwase", "Dr. P. Niyonzima"]
PATIENTS = ["J. Uwimana", "C. Mutesi", "E. Nkurunziza", "D. Ingabire", "F. Mugisha"]


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
    if spec.get("degrade", "clean") not in LEVELS:
        problems.append(f"degrade: expected one of {list(LEVELS)}, got {spec.get('degrade')!r}")
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
    if spec.get("lines") and not spec.get("items"):
        lines = [str(x) for x in spec["lines"]]
        truth: dict = {"kind": kind, "lines": lines}
    else:
        lines, truth = _LAYOUTS[kind](spec, rng)
    image = _draw(lines)
    data, mime = _degrade(image, level, rng)
    truth.update({"degrade": level, "seed": seed, "text": "\n".join(ln for ln in lines if ln.strip())})
    return Rendered(image_bytes=data, mime=mime, ground_truth=truth)


# --- layouts --------------------------------------------------------------------------------------


def _date(rng: random.Random) -> str:
    return f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.choice([2024, 2025])}"


def _phone(rng: random.Random) -> str:
    return f"078{rng.randint(0, 9)} {rng.randint(100, 999)} {rng.randint(100, 999)}"


def _prescription(spec: dict, rng: random.Random) -> tuple[list[str], dict]:
    clinic, doctor, patient = rng.choice(CLINICS), rng.choice(DOCTORS), rng.choice(PATIENTS)
    qty_style = rng.choice(["Qty: {}", "x{}", "#{}"])
    lines = [clinic.upper(), f"Tel: {_phone(rng)}", "",
             f"PRESCRIPTION        Date: {_date(rng)}",
             f"Patient: {patient}    Age: {rng.randint(3, 80)}", "", "Rx"]
    items = []
    for n, item in enumerate(spec["items"], start=1):
        it = {k: item.get(k) for k in ("drug", "dose", "form", "quantity", "instructions")}
        head = " ".join(str(v) for v in (it["drug"], it["dose"], it["form"]) if v not in (None, ""))
        if it["quantity"] not in (None, ""):
            head += "   " + qty_style.format(it["quantity"])
        lines.append(f"{n}. {head}")
        if it["instructions"]:
            lines.append(f"    Sig: {it['instructions']}")
        items.append(it)
    lines += ["", f"Prescriber: {doctor}", "Signature: ________"]
    return lines, {"kind": "prescription", "items": items, "clinic": clinic}


def _money(n: float) -> str:
    return f"{int(round(n)):,}"


def _invoice(spec: dict, rng: random.Random) -> tuple[list[str], dict]:
    company, date = rng.choice(PHARMACIES), _date(rng)
    lines = [company.upper(), f"TIN: {rng.randint(100000000, 999999999)}   Tel: {_phone(rng)}", "",
             f"INVOICE No. {rng.randint(1000, 9999)}", f"Date: {date}", "",
             "Item                          Qty     Price     Amount"]
    items, total = [], 0
    for item in spec["items"]:
        qty = int(item.get("quantity") or 1)
        price = int(item.get("price") or 0)
        total += qty * price
        name = str(item["name"])[:28]
        lines.append(f"{name:<30}{qty:>3}  {_money(price):>8}  {_money(qty * price):>9}")
        items.append({"name": str(item["name"]), "quantity": qty, "price": price})
    lines += ["", f"TOTAL RWF {_money(total)}", "", "Thank you for your business"]
    return lines, {"kind": "invoice", "company": company, "date": date, "line_items": items,
                   "total": total}


def _product(spec: dict, rng: random.Random) -> tuple[list[str], dict]:
    lines, products = [], []
    for item in spec["items"]:
        p = {"name": str(item["name"]), "brand": item.get("brand"), "model": item.get("model"),
             "quantity": item.get("quantity")}
        if p["brand"]:
            lines.append(str(p["brand"]).upper())
        lines.append(p["name"])
        if p["model"]:
            lines.append(f"Model: {p['model']}")
        if p["quantity"] not in (None, ""):
            lines.append(f"Qty: {p['quantity']}")
        lines.append("")
        products.append(p)
    lines.append(f"Batch {rng.randint(10000, 99999)}   Made in {rng.choice(['Kenya', 'India', 'China', 'Rwanda'])}")
    return lines, {"kind": "product", "items": products}


_LAYOUTS = {"prescription": _prescription, "invoice": _invoice, "product": _product}


# --- drawing and degradation ----------------------------------------------------------------------


def _font() -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=FONT_SIZE)


def _draw(lines: list[str]) -> Image.Image:
    font = _font()
    line_h = int(FONT_SIZE * 1.55)
    height = MARGIN * 2 + line_h * max(1, len(lines))
    img = Image.new("L", (WIDTH, height), 255)
    draw = ImageDraw.Draw(img)
    for i, text in enumerate(lines):
        draw.text((MARGIN, MARGIN + i * line_h), text, fill=20, font=font)
    return img


def _degrade(img: Image.Image, level: str, rng: random.Random) -> tuple[bytes, str]:
    d = DEGRADATIONS[level]
    if d["rotate"]:
        angle = rng.uniform(-d["rotate"], d["rotate"])
        img = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    if d["scale"] != 1.0:
        w, h = img.size
        img = img.resize((max(1, int(w * d["scale"])), max(1, int(h * d["scale"]))),
                         Image.Resampling.BILINEAR)
    if d["blur"]:
        img = img.filter(ImageFilter.GaussianBlur(d["blur"]))
    if d["contrast"] != 1.0:
        img = ImageEnhance.Contrast(img).enhance(d["contrast"])
    if d["noise"]:
        img = _add_noise(img, d["noise"], rng)
    buf = io.BytesIO()
    if d["jpeg"] is None:
        img.save(buf, format="PNG", optimize=True)
        return buf.getvalue(), "image/png"
    img.save(buf, format="JPEG", quality=d["jpeg"])
    return buf.getvalue(), "image/jpeg"


def _add_noise(img: Image.Image, amplitude: int, rng: random.Random) -> Image.Image:
    # Uniform noise from the seeded generator (Pillow's effect_noise uses C rand(): not seedable).
    w, h = img.size
    noise = Image.frombytes("L", (w, h), rng.randbytes(w * h))
    noise = noise.point(lambda v: 128 + (v - 128) * amplitude // 128)
    return ImageChops.add(img, noise, scale=1.0, offset=-128)
