"""Regenerate the committed OCR sample set: ``python -m simulators.make_samples fixtures/images``;
the receipt dev set: ``python -m simulators.make_samples --receipts fixtures/receipts-dev``.

Every image has its ground truth beside it (``NAME.json``); the set covers the three kinds at the four
degradation levels, each sample seeded by its index, so a rerun writes the same bytes.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from simulators.render import LEVELS, render

# Drug, dose, form as a prescriber writes them; quantities and instructions are drawn per sample.
MEDICINES = [
    ("Amoxicillin", "500mg", "capsules"), ("Paracetamol", "500mg", "tablets"),
    ("Metformin", "850mg", "tablets"), ("Ibuprofen", "400mg", "tablets"),
    ("Metronidazole", "400mg", "tablets"), ("Ciprofloxacin", "500mg", "tablets"),
    ("Amlodipine", "5mg", "tablets"), ("Omeprazole", "20mg", "capsules"),
    ("Doxycycline", "100mg", "capsules"), ("Azithromycin", "250mg", "tablets"),
    ("Salbutamol", "100mcg", "inhaler"), ("Cetirizine", "10mg", "tablets"),
    ("Fluconazole", "150mg", "capsules"), ("Albendazole", "400mg", "tablets"),
    ("Prednisolone", "5mg", "tablets"), ("Losartan", "50mg", "tablets"),
    ("Atorvastatin", "20mg", "tablets"), ("Ceftriaxone", "1g", "injection"),
    ("Augmentin", "625mg", "tablets"), ("Panadol", "500mg", "tablets"),
    ("Coartem", "20/120mg", "tablets"), ("Diclofenac", "50mg", "tablets"),
    ("Furosemide", "40mg", "tablets"), ("Hydrochlorothiazide", "25mg", "tablets"),
]
INSTRUCTIONS = ["Take 1 three times daily for 7 days", "Take 1 twice daily after meals",
                "Take 2 every 8 hours if pain", "Take 1 once daily in the morning",
                "Take 1 at night for 5 days"]
INVOICE_ITEMS = [("Amoxicillin 500mg caps", 1500), ("Paracetamol 500mg tabs", 500),
                 ("ORS sachets", 300), ("Vitamin C 100mg", 2000), ("Surgical gloves box", 6500),
                 ("Cough syrup 100ml", 3500), ("Bandage 10cm", 800), ("Thermometer digital", 4500),
                 ("Zinc 20mg tabs", 1000), ("Face masks x50", 5000)]
PRODUCTS = [("Samsung", "Galaxy A15 Phone Case", "SM-A155"), ("Tecno", "Fast Charger 18W", "T18C"),
            ("Oraimo", "Power Bank 10000mAh", "OPB-P108D"), ("Hisense", "Rice Cooker 1.8L", "RC180"),
            ("Dell", "Laptop Battery 4-cell", "WDX0R"), ("Philips", "LED Bulb 9W", "E27-9W"),
            ("Nivea", "Body Lotion 400ml", "NV400"), ("Itel", "Earphones", "IEP-31")]

PER_KIND_AND_LEVEL = 3


def sample_specs() -> list[tuple[str, dict]]:
    specs: list[tuple[str, dict]] = []
    for level in LEVELS:
        for k in range(PER_KIND_AND_LEVEL):
            seed = len(specs) + 1
            rng = random.Random(seed)
            meds = rng.sample(MEDICINES, rng.randint(1, 3))
            rx = {"render": "prescription", "degrade": level, "seed": seed, "items": [
                {"drug": d, "dose": dose, "form": form, "quantity": rng.choice([7, 10, 14, 20, 21, 30]),
                 "instructions": rng.choice(INSTRUCTIONS)} for d, dose, form in meds]}
            specs.append((f"prescription_{level}_{k + 1}", rx))
            seed = len(specs) + 1
            rng = random.Random(seed)
            inv = {"render": "invoice", "degrade": level, "seed": seed, "items": [
                {"name": n, "quantity": rng.randint(1, 5), "price": p}
                for n, p in rng.sample(INVOICE_ITEMS, rng.randint(2, 5))]}
            specs.append((f"invoice_{level}_{k + 1}", inv))
            seed = len(specs) + 1
            rng = random.Random(seed)
            brand, name, model = rng.choice(PRODUCTS)
            prod = {"render": "product", "degrade": level, "seed": seed, "items": [
                {"name": name, "brand": brand, "model": model, "quantity": rng.randint(1, 3)}]}
            specs.append((f"product_{level}_{k + 1}", prod))
    return specs


# The receipt dev set (docs/ocr.md "Real receipts"): rules and preprocessing are chosen on it, never on
# SROIE. Shop goods and their prices in each region's currency.
RECEIPT_GOODS = [("Sugar 1kg", 1500, 3.20), ("Milk 500ml", 600, 2.40), ("Bread loaf", 1200, 2.90),
                 ("Rice 5kg", 6500, 14.50), ("Cooking oil 1L", 3200, 7.90), ("Soap bar", 500, 1.60),
                 ("Tomato paste", 800, 2.10), ("Mineral water 1.5L", 700, 1.20), ("Exercise book", 300, 0.90),
                 ("Ballpoint pen x2", 400, 1.50), ("LED bulb 9W", 2500, 6.80), ("Padlock 40mm", 4500, 12.90),
                 ("Cement 50kg", 11000, 19.50), ("Nails 2in 1kg", 2000, 5.40), ("Coffee 250g", 5000, 11.90),
                 ("Tea leaves 100g", 1000, 3.30), ("Chicken 1kg", 5500, 9.80), ("Eggs tray", 3500, 12.00),
                 ("Toothpaste", 1800, 4.50), ("Paracetamol 500mg", 500, 2.00), ("Fanta 500ml", 600, 2.20),
                 ("Brochette", 1500, 8.00), ("Airtime card", 1000, 5.00), ("Charger cable", 3000, 9.90)]
RECEIPTS_PER_LEVEL = 8


def receipt_specs() -> list[tuple[str, dict]]:
    from simulators.render import RECEIPT_LEVELS, REGIONS

    specs: list[tuple[str, dict]] = []
    for _ in range(RECEIPTS_PER_LEVEL):
        for level in RECEIPT_LEVELS:
            seed = 1000 + len(specs)
            rng = random.Random(seed)
            region = rng.choice(sorted(REGIONS))
            goods = rng.sample(RECEIPT_GOODS, rng.randint(1, 7))
            items = [{"name": name, "quantity": rng.choice([1, 1, 1, 2, 3, 5]),
                      "price": rwf if region == "rwanda" else usd} for name, rwf, usd in goods]
            specs.append((f"{len(specs):03d}", {"render": "receipt", "degrade": level, "seed": seed,
                                                 "region": region, "items": items}))
    return specs


def write_receipts(out: Path) -> int:
    """NNN.png|jpg, NNN.key.json (SROIE keys: company, date, total; plus level) and NNN.box.csv."""
    out.mkdir(parents=True, exist_ok=True)
    size = 0
    for name, spec in receipt_specs():
        r = render(spec)
        (out / f"{name}.{r.extension}").write_bytes(r.image_bytes)
        t = r.ground_truth
        key = {"company": t["company"], "date": t["date"], "total": t["total"], "degrade": t["degrade"],
               "region": t["region"], "spec": spec}
        (out / f"{name}.key.json").write_text(json.dumps(key, indent=1, ensure_ascii=False) + "\n")
        (out / f"{name}.box.csv").write_text("".join(",".join(map(str, b)) + "\n" for b in t["boxes"]))
        size += len(r.image_bytes)
    print(f"{len(receipt_specs())} receipts, {size / 1e6:.2f} MB of images -> {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--receipts":
        return write_receipts(Path(argv[1] if len(argv) > 1 else "fixtures/receipts-dev"))
    out = Path(argv[0] if argv else "fixtures/images")
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, spec in sample_specs():
        r = render(spec)
        image = out / f"{name}.{r.extension}"
        image.write_bytes(r.image_bytes)
        truth = dict(r.ground_truth, image=image.name, spec=spec)
        (out / f"{name}.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n")
        total += len(r.image_bytes)
    print(f"{len(sample_specs())} samples, {total / 1e6:.2f} MB of images -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
