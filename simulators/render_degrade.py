"""Degrade a drawn page like a phone camera or scanner would, from the seeded generator only.

Split out of ``simulators/render.py`` (the facade): every level's order of steps and of rng draws is
what the committed image sets were made with, so a change here changes their bytes.
"""

from __future__ import annotations

import io
import random
from typing import Any

from PIL import Image, ImageChops, ImageEnhance, ImageFilter

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


def degrade(img: Image.Image, level: str, rng: random.Random) -> tuple[bytes, str]:
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
