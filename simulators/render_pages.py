"""Page layouts for printed prescriptions, pharmacy invoices and product labels, and their drawing.

A layout turns a spec's items into text lines plus ground truth; ``draw_page`` sets those lines in
Pillow's built-in font. ``simulators/rollout/ocr_model.py`` reuses the layouts (through the
``simulators.render`` facade) to know the text without drawing pixels.
"""

from __future__ import annotations

import random

from PIL import Image, ImageDraw, ImageFont

WIDTH = 900
FONT_SIZE = 26
MARGIN = 40

CLINICS = ["Kimironko Health Centre", "Kacyiru Medical Clinic", "Remera Polyclinic",
           "Nyamirambo Family Clinic", "Kicukiro Community Hospital", "Gisozi Health Post"]
PHARMACIES = ["Pharma Plus Ltd", "Vine Pharmacy", "Kigali Life Pharmacy", "Umurava Pharmacy Ltd",
              "Nyabugogo Pharma", "Remera Medical Stores"]
DOCTORS = ["Dr. A. Mukamana", "Dr. J. Habimana", "Dr. E. Uwase", "Dr. P. Niyonzima"]
PATIENTS = ["J. Uwimana", "C. Mutesi", "E. Nkurunziza", "D. Ingabire", "F. Mugisha"]


def _date(rng: random.Random) -> str:
    return f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.choice([2024, 2025])}"


def phone(rng: random.Random) -> str:
    return f"078{rng.randint(0, 9)} {rng.randint(100, 999)} {rng.randint(100, 999)}"


def _prescription(spec: dict, rng: random.Random) -> tuple[list[str], dict]:
    clinic, doctor, patient = rng.choice(CLINICS), rng.choice(DOCTORS), rng.choice(PATIENTS)
    qty_style = rng.choice(["Qty: {}", "x{}", "#{}"])
    lines = [clinic.upper(), f"Tel: {phone(rng)}", "",
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
    lines = [company.upper(), f"TIN: {rng.randint(100000000, 999999999)}   Tel: {phone(rng)}", "",
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


LAYOUTS = {"prescription": _prescription, "invoice": _invoice, "product": _product}


def _font() -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=FONT_SIZE)


def draw_page(lines: list[str]) -> Image.Image:
    font = _font()
    line_h = int(FONT_SIZE * 1.55)
    height = MARGIN * 2 + line_h * max(1, len(lines))
    img = Image.new("L", (WIDTH, height), 255)
    draw = ImageDraw.Draw(img)
    for i, text in enumerate(lines):
        draw.text((MARGIN, MARGIN + i * line_h), text, fill=20, font=font)
    return img
