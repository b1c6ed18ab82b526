"""How a concierge is put together from a ledger, an HTTP client to the Graph API and its other
ports: one recipe for the simulated world (``simulators/world.py``) and the webhook service
(``service/``), so that both run the same concierge and differ only in what is at the other end.
"""

from __future__ import annotations

from typing import Any

import httpx

from concierge.desk import Ports, Settings
from concierge.engine import Concierge
from concierge.ledger import Ledger

from .graph_api import GraphApiTransport


def build_concierge(
    ledger: Ledger,
    http: httpx.Client,
    *,
    phone_number_id: str,
    access_token: str,
    directory: Any,
    brain: Any,
    scheduler: Any,
    settings: Settings,
    ocr: Any = None,
    calls: Any = None,
    clients: Any = None,
) -> Concierge:
    transport = GraphApiTransport(http, phone_number_id=phone_number_id, access_token=access_token)
    ports = Ports(transport=transport, directory=directory, brain=brain, scheduler=scheduler, ocr=ocr,
                  calls=calls, clients=clients)
    return Concierge(ledger, ports, settings)
