"""Shop receipts: a narrow thermal-printer layout with SROIE-style word boxes as ground truth."""

from __future__ import annotations

import random

from PIL import Image, ImageDraw, ImageFont

from simulators.render_pages import phone

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
    rows.append([(f"Tel: {phone(rng)}", "center")])
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
