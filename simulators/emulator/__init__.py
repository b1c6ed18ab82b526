"""The WhatsApp Cloud API emulator: ``FakeWhatsAppCloud`` served on a real port (Starlette on uvicorn).

Any Cloud API client (the concierge's Graph API adapter, pywa, a service in another language) talks
to it by changing one base URL. The Graph API routes, their validation, limits and error bodies are
the fake's own (``simulators.whatsapp``): requests are handed to ``FakeWhatsAppCloud.handle``
unchanged. What this package adds is what only a served API has: signed webhooks POSTed to a
subscribed URL with Meta's redelivery on failure, the subscription handshake, simulation endpoints
to act as a person, and fault injection over HTTP. See docs/emulator.md.

- ``config``: the settings (``EmulatorConfig``) and their command-line and environment names;
- ``bridge``: a Starlette request into the fake and its answer back out;
- ``delivery``: webhook delivery with retries, backoff and delivery faults; the handshake;
- ``people``: the simulated people's side: inbound messages and the conversation log;
- ``faults``: fault specs as they arrive over HTTP;
- ``app``: the ASGI application (``create_app``); ``serve``: uvicorn on a bound socket;
- ``cli``: ``concierge-sim emulate`` (serve, ``send``, ``log``, ``fault``).
"""

from __future__ import annotations

from .config import EmulatorConfig

__all__ = ["EmulatorConfig"]
