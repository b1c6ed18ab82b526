"""The service's concierge: the shared recipe (``simulators.adapters.wiring``) with the real
ends: a WAL ledger file, an httpx client to ``WHATSAPP_API_URL``, the vendor fixture file, the
coded rules as the brain, real Tesseract when the OCR flag is on.

No call provider is wired: in service mode the calling gate refuses every call (``no_provider``)
until one is configured (docs/service.md).
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from concierge.coded import CodedWorkflow
from concierge.desk import Settings
from concierge.engine import Concierge
from concierge.ledger import Ledger
from concierge.policy import Caps
from concierge.ports import Vendor
from simulators.adapters.wiring import build_concierge
from simulators.vendors import StaticDirectory, load_vendor_file, load_vendor_fixtures

from .config import ServiceConfig

CONNECT_TIMEOUT_S = 3.0


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verification context, built once: loading the CA bundle costs tens of
    milliseconds, and a harness-probe reset builds a new concierge (and client) per scenario."""
    return httpx.create_ssl_context()


def load_vendors(path: str) -> list[Vendor]:
    """A vendor fixture file, or a folder of them."""
    where = Path(path)
    vendors = load_vendor_fixtures(where) if where.is_dir() else load_vendor_file(where)
    StaticDirectory(vendors)  # refuses two vendors on one phone now, at start-up
    return vendors


def concierge_builder(config: ServiceConfig, vendors: list[Vendor], *, caps: Caps | None = None,
                      clients: Any = None, brain: Callable[[Ledger], Any] | None = None) -> Callable[..., Concierge]:
    """``caps``, ``clients`` (client profiles) and ``brain`` (made on the new ledger) are the
    harness probe's: a reset sets them per scenario; a plain service runs the defaults."""
    def build(scheduler: object) -> Concierge:
        ocr = None
        if config.flags.ocr:
            from simulators.ocr import TesseractOcr  # the real engine, started only when used

            ocr = TesseractOcr()
        ledger = Ledger(config.db_path, wal=True)
        return build_concierge(
            ledger,
            httpx.Client(base_url=config.api_url, verify=tls_context(),
                         timeout=httpx.Timeout(config.send_timeout_s, connect=min(CONNECT_TIMEOUT_S, config.send_timeout_s))),
            phone_number_id=config.phone_number_id, access_token=config.access_token,
            directory=StaticDirectory(vendors), brain=CodedWorkflow() if brain is None else brain(ledger),
            scheduler=scheduler, clients=clients,
            settings=Settings(flags=config.flags, caps=caps or Caps(), app_secret=config.app_secret), ocr=ocr,
        )

    return build
