"""Text boxes (as a detector-recogniser engine or a ground-truth file gives them) into an ``OcrPage``.

Both RapidOCR and SROIE's ``NNN.box.csv`` give one box per printed text run, not Tesseract's
lines: a receipt row "TOTAL ........ 9.00" is two boxes. The rules read lines, so boxes are joined
into rows the way a line-reading engine would.
"""

from __future__ import annotations

from concierge.ports import OcrPage, OcrWord

# (top, bottom, left, text, confidence 0..1)
Box = tuple[float, float, float, str, float]


def rows_of(boxes: list[Box]) -> list[list[Box]]:
    """Boxes top to bottom; a box whose vertical centre lies inside the current row's first box joins
    that row. Each row is left to right."""
    rows: list[list[Box]] = []
    top = bottom = None
    for box in sorted(boxes, key=lambda b: ((b[0] + b[1]) / 2, b[2])):
        centre = (box[0] + box[1]) / 2
        if rows and top is not None and top <= centre <= bottom:
            rows[-1].append(box)
        else:
            rows.append([box])
            top, bottom = box[0], box[1]
    return [sorted(row, key=lambda b: b[2]) for row in rows]


def page_from_boxes(boxes: list[Box], engine: str) -> OcrPage:
    """One word per whitespace-separated token of each box, with the box's confidence and row."""
    words = tuple(OcrWord(word, round(float(conf), 4), n, int(left), int(top))
                  for n, row in enumerate(rows_of(boxes))
                  for top, _, left, text, conf in row for word in str(text).split())
    return OcrPage(words=words, engine=engine)
