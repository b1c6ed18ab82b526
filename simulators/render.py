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

# Each level: max rotation (deg), blur radius, noise amplitude (0..128), contrast factor, JPEG
# quality (None = lossless PNG), downscale factor. Severe is meant to be unreadable.
DEGRADATIONS: dict[str, dict[str, Any]] = {
    "clean": {"rotate": 0.0, "blur": 0.0, "noise": 0, "contrast": 1.0, "jpeg": None, "scale": 1.0},
    "mild": {"rotate": 1.0, "blur": 0.5, "noise": 12, "contrast": 0.85, "jpeg": 75, "scale": 1.0},
    "moderate": {"rotate": 2.5, "blur": 1.1, "noise": 30, "contrast": 0.6, "jpeg": 40, "scale": 0.8},
    "severe": {"rotate": 5.0, "blur": 3.2, "noise": 80, "contrast": 0.3, "jpeg": 10, "scale": 0.4},
    "small": {"rotate": 0.5, "blur": 0.3, "noise": 8, "contrast": 0.9, "jpeg": 85, "scale": 0.5},
    "faded": {"rotate": 1.0, "blur": 0.6, "noise": 20, "contrast": 0.45, "jpeg": 60, "scale": 0.9},
    "photo": {"rotate": 2.5, "blur": 0.8, "noise": 14, "contrast": 0.8, "jpeg": 70, "scale": 0.85,
              "perspective": 0.04, "shadow": 0.45},
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
        lines, truth = _LAYOUTS[kind](spec, rng)
    if kind != "receipt" or not spec.get("items"):
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
    if d.get("perspective"):
        img = _perspective(img, d["perspective"], rng)
    if d["scale"] != 1.0:
        w, h = img.size
        img = img.resize((max(1, int(w * d["scale"])), max(1, int(h * d["scale"]))),
                         Image.Resampling.BILINEAR)
    if d["blur"]:
        img = img.filter(ImageFilter.GaussianBlur(d["blur"]))
    if d["contrast"] != 1.0:
        img = ImageEnhance.Contrast(img).enhance(d["contrast"])
    if d.get("shadow"):
        img = _shadow(img, d["shadow"], rng)
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


def _perspective(img: Image.Image, amount: float, rng: random.Random) -> Image.Image:
    """A phone held not quite parallel to the page: each corner moves by up to ``amount`` of the size."""
    w, h = img.size
    dx, dy = w * amount, h * amount
    # Where each output corner samples the input (top-left, top-right, bottom-right, bottom-left).
    src = [(rng.uniform(-dx, dx), rng.uniform(-dy, dy)), (w + rng.uniform(-dx, dx), rng.uniform(-dy, dy)),
           (w + rng.uniform(-dx, dx), h + rng.uniform(-dy, dy)), (rng.uniform(-dx, dx), h + rng.uniform(-dy, dy))]
    dst = [(0, 0), (w, 0), (w, h), (0, h)]
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    coeffs = _solve(rows, rhs)
    # The table under the receipt shows where the page does not reach.
    return img.transform((w, h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC, fillcolor=110)


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (8x8: no numpy needed)."""
    n = len(b)
    m = [row[:] + [rhs] for row, rhs in zip(a, b, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col and m[col][col]:
                f = m[r][col] / m[col][col]
                m[r] = [x - f * y for x, y in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def _shadow(img: Image.Image, depth: float, rng: random.Random) -> Image.Image:
    """A hand's or phone's shadow: a soft linear darkening from one side, down to ``1 - depth``."""
    w, h = img.size
    side = rng.choice(("left", "right", "top", "bottom"))
    ramp = Image.linear_gradient("L")  # 256x256, black at the top
    if side in ("left", "right"):
        ramp = ramp.rotate(90 if side == "left" else -90)
    elif side == "bottom":
        ramp = ramp.rotate(180)
    floor = int(255 * (1 - depth))
    mask = ramp.resize((w, h), Image.Resampling.BILINEAR).point(lambda v: floor + v * (255 - floor) // 255)
    return ImageChops.multiply(img, mask)


# --- receipts: a narrow thermal-printer layout ----------------------------------------------------
# The conventions drawn here are those of shop receipts in general (and the ones docs/ocr.md says the
# rules know): a centred header with a company suffix, two-column rows, subtotal / tax / rounding /
# total / cash / change, many date formats and labels. Nothing is copied from the SROIE receipts.

RECEIPT_CHARS = 40
SHOP_WORDS = ["Kigali", "Nyamirambo", "Remera", "Kimironko", "Gisozi", "Sunrise", "Golden", "Mega",
              "City", "Family", "Unity", "Green Valley", "Bright Star", "Prime", "Lucky", "Royal", "Kacyiru",
              "Happy Home", "Fresh", "Highway", "Eagle", "Simba", "Ocean", "Silver Leaf"]
SHOP_TYPES = ["Supermarket", "Hardware", "Trading", "Stores", "Restaurant", "Pharmacy", "Bakery",
              "Mini Market", "Electronics", "Stationery", "Cafe", "Boutique", "Enterprise"]
REGIONS = {
    # currency label, cents?, tax label and rate, legal suffixes, tax-id label, rounding to 5 cents?
    "rwanda": {"cur": "RWF", "cents": False, "tax": ("VAT", 18), "suffixes": ["Ltd", "Limited", "SARL", "Co. Ltd"],
               "taxid": "TIN", "round": False},
    "malaysia": {"cur": "RM", "cents": True, "tax": ("GST", 6), "suffixes": ["Sdn Bhd", "Sdn. Bhd.", "Enterprise", "Trading"],
                 "taxid": "GST Reg No", "round": True},
    "generic": {"cur": "$", "cents": True, "tax": ("Tax", 8), "suffixes": ["Inc", "Ltd", "Co.", "Company"],
                "taxid": "Tax ID", "round": False},
}
STREETS = ["KG 11 Ave", "KN 4 St", "KK 15 Rd", "Jalan Besar", "Main Street", "Market Road", "Avenue de la Paix",
           "Lot 12, Jalan Mewah", "Plot 7, Industrial Area", "Nyabugogo Road"]
TOWNS = ["Kigali", "Musanze", "Huye", "Rubavu", "Kajang, Selangor", "Johor Bahru", "Springfield", "Nairobi"]
CASHIERS = ["Anne", "Eric", "Aline", "Jean", "Siti", "Kevin", "Grace", "Ali"]
DATE_FORMATS = ["{d:02d}/{m:02d}/{y}", "{d:02d}-{m:02d}-{y}", "{d:02d}.{m:02d}.{y}", "{d:02d}/{m:02d}/{yy:02d}",
                "{y}-{m:02d}-{d:02d}", "{d} {mon} {y}", "{d:02d}-{mon}-{yy:02d}", "{mon} {d}, {y}",
                "{d:02d}-{m:02d}-{yy:02d}", "{d:02d} {MON} {y}"]
DATE_LABELS = ["Date:", "Date", "DATE :", "Date/Time:", "Trans Date:", "", "", "Tarikh:", "Itariki:"]
TOTAL_LABELS = ["TOTAL", "Total", "GRAND TOTAL", "Grand Total", "Total ({cur})", "TOTAL {cur}", "Net Total",
                "Total Amount", "AMOUNT DUE", "Total Due", "Total Incl. {tax}", "NETT TOTAL"]
MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
FOOTERS = ["Thank you! Please come again", "Goods sold are not returnable", "Thank you for shopping with us",
           "Keep this receipt for exchange", "Powered by EBM v2", "Have a nice day"]


def _amount(value: float, region: dict, rng_style: int) -> str:
    """A printed amount: '12,500', '12500', '9.00', '1,234.50' (style chosen per receipt)."""
    if region["cents"]:
        return f"{value:,.2f}" if rng_style % 2 else f"{value:.2f}"
    return f"{int(round(value)):,}" if rng_style % 2 else f"{int(round(value))}"


def _receipt_date(rng: random.Random) -> str:
    y, m, d = rng.choice([2017, 2018, 2019, 2024, 2025]), rng.randint(1, 12), rng.randint(1, 28)
    fmt = rng.choice(DATE_FORMATS)
    return fmt.format(d=d, m=m, y=y, yy=y % 100, mon=MONTHS_EN[m - 1], MON=MONTHS_EN[m - 1].upper())


def _time(rng: random.Random) -> str:
    h, mi, sec = rng.randint(7, 21), rng.randint(0, 59), rng.randint(0, 59)
    return rng.choice([f"{h:02d}:{mi:02d}", f"{h:02d}:{mi:02d}:{sec:02d}",
                       f"{(h - 1) % 12 + 1:02d}:{mi:02d} {'PM' if h >= 12 else 'AM'}", ""])


def receipt_rows(spec: dict, rng: random.Random) -> tuple[list[list[tuple[str, str]]], dict]:
    """Rows of (text, align) segments, align in left|right|center, and the key fields as printed."""
    region_name = spec.get("region") if spec.get("region") in REGIONS else rng.choice(sorted(REGIONS))
    region = REGIONS[region_name]
    style = rng.randint(0, 1)
    upper = rng.random() < 0.7
    name = f"{rng.choice(SHOP_WORDS)} {rng.choice(SHOP_TYPES)} {rng.choice(region['suffixes'])}"
    company = name.upper() if upper else name
    rows: list[list[tuple[str, str]]] = []
    reg = f"({rng.randint(100000, 999999)}-{rng.choice('ABHKMPTUVWX')})"
    where = rng.random()
    rows.append([(f"{company} {reg}" if where < 0.25 else company, "center")])
    if 0.25 <= where < 0.5:
        rows.append([(f"Co. Reg {reg.strip('()')}", "center")])
    for line in rng.sample([f"No. {rng.randint(1, 99)}, {rng.choice(STREETS)}", rng.choice(TOWNS),
                            f"P.O. Box {rng.randint(100, 9999)}"], rng.randint(1, 3)):
        rows.append([(line.upper() if upper else line, "center")])
    rows.append([(f"Tel: {_phone(rng)}", "center")])
    rows.append([(f"{region['taxid']}: {rng.randint(100000000, 999999999)}", "center")])
    rows.append([("", "left")])
    date, clock = _receipt_date(rng), _time(rng)
    label = rng.choice(DATE_LABELS)
    date_text = " ".join(x for x in (label, date) if x)
    receipt_no = rng.choice([f"Receipt No: {rng.randint(1000, 99999)}", f"Invoice #: INV-{rng.randint(100, 9999)}",
                             f"Bill No: {rng.randint(10, 9999)}", f"No: {rng.randint(1000, 99999)}"])
    layout = rng.randint(0, 2)
    date_at_end = rng.random() < 0.15
    if layout == 0:
        meta = [[(receipt_no, "left")], [(date_text, "left"), (clock, "right")]]
    elif layout == 1:
        meta = [[(date_text + (f" {clock}" if clock else ""), "left")], [(receipt_no, "left")]]
    else:
        meta = [[(receipt_no, "left"), (date, "right")], [(f"Cashier: {rng.choice(CASHIERS)}", "left"), (clock, "right")]]
        date_text = date
    if date_at_end:
        meta = [[(receipt_no, "left")]]
    rows += meta
    rows.append([("-" * RECEIPT_CHARS, "left")])
    subtotal = 0.0
    for item in spec["items"]:
        qty = int(item.get("quantity") or 1)
        price = float(item.get("price") or 0)
        line = qty * price
        subtotal += line
        if qty > 1 and rng.random() < 0.5:
            rows.append([(str(item["name"])[:RECEIPT_CHARS], "left")])
            rows.append([(f"  {qty} x {_amount(price, region, style)}", "left"), (_amount(line, region, style), "right")])
        else:
            label_text = f"{qty} {item['name']}" if rng.random() < 0.3 else str(item["name"])
            rows.append([(label_text[:28], "left"), (_amount(line, region, style), "right")])
    rows.append([("-" * RECEIPT_CHARS, "left")])
    tax_name, rate = region["tax"]
    cur = region["cur"]
    with_cur = rng.random() < 0.35

    def money(v: float) -> str:
        text = _amount(v, region, style)
        return f"{cur} {text}" if with_cur else text

    if rng.random() < 0.4:
        rows.append([(f"Total Qty: {sum(int(i.get('quantity') or 1) for i in spec['items'])}", "left")])
    tax_inclusive = rng.random() < 0.5
    tax = subtotal * rate / (100 + rate) if tax_inclusive else subtotal * rate / 100
    total = subtotal if tax_inclusive else subtotal + tax
    if not region["cents"]:
        total = float(round(total))
    rows.append([(rng.choice(["Sub Total", "SUBTOTAL", "Sub-total", "Total Excl. " + tax_name]), "left"),
                 (money(subtotal - tax if tax_inclusive else subtotal), "right")])
    rows.append([(f"{tax_name} {rate}%", "left"), (money(tax), "right")])
    if region["round"]:
        rounded = round(round(total * 20) / 20, 2)
        adj = round(rounded - total, 2)
        rows.append([("Rounding Adj", "left"), (_amount(adj, region, style), "right")])
        total = rounded
    total_label = rng.choice(TOTAL_LABELS).format(cur=cur, tax=tax_name)
    total_text = _amount(total, region, style)
    rows.append([(total_label, "left"), (f"{cur} {total_text}" if with_cur else total_text, "right")])
    paid = total if rng.random() < 0.3 else float(int(total // 10 + 1) * 10)
    rows.append([(rng.choice(["CASH", "Cash", "Cash Tendered", "Paid (MoMo)", "Tendered"]), "left"), (money(paid), "right")])
    rows.append([(rng.choice(["CHANGE", "Change", "Change Due"]), "left"), (money(paid - total), "right")])
    rows.append([("", "left")])
    if date_at_end:
        rows.append([(date_text, "left"), (clock, "right")])
    for footer in rng.sample(FOOTERS, rng.randint(1, 2)):
        rows.append([(footer, "center")])
    rows = [[seg for seg in row if seg[0] or len(row) == 1] for row in rows]
    truth = {"kind": "receipt", "company": company, "date": date, "total": total_text, "region": region_name,
             "currency": cur, "items": [dict(i) for i in spec["items"]]}
    return rows, truth


def _receipt_font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    # Thermal printers print a fixed-pitch font. DejaVu Sans Mono ships with matplotlib (a project
    # dependency, free licence); Pillow's own font is the fallback.
    try:
        import matplotlib

        name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
        return ImageFont.truetype(f"{matplotlib.get_data_path()}/fonts/ttf/{name}", size)
    except (ImportError, OSError):
        return ImageFont.load_default(size=size)


def draw_receipt(rows: list[list[tuple[str, str]]], rng: random.Random) -> tuple[Image.Image, list[list]]:
    """The receipt on white paper, and one SROIE-style box (x1,y1,..,x4,y4,text) per drawn segment."""
    size = rng.randint(19, 23)
    font, bold = _receipt_font(size), _receipt_font(size, bold=True)
    margin = 24
    widest = max((sum(bold.getlength(t) for t, _ in row) + font.getlength("  ") * (len(row) - 1) for row in rows),
                 default=0)
    width = int(max(font.getlength("M" * RECEIPT_CHARS), widest)) + 2 * margin
    line_h = int(size * rng.uniform(1.3, 1.6))
    img = Image.new("L", (width, 2 * margin + line_h * len(rows)), 255)
    draw = ImageDraw.Draw(img)
    boxes: list[list] = []
    for n, row in enumerate(rows):
        y = margin + n * line_h
        for text, align in row:
            if not text.strip():
                continue
            f = bold if n == 0 else font
            w = f.getlength(text)
            x = {"left": margin, "right": width - margin - w, "center": (width - w) / 2}[align]
            draw.text((x, y), text, fill=15, font=f)
            x0, y0, x1, y1 = (round(v) for v in draw.textbbox((x, y), text, font=f))
            boxes.append([x0, y0, x1, y0, x1, y1, x0, y1, text])
    return img, boxes
