"""``Deliveries.until_idle``: the harness's wait for the webhooks on their way ends when the last
one is done (delivered or given up), not before, and after the timeout at the latest."""

from __future__ import annotations

import asyncio
import socket

from simulators.emulator.delivery import Deliveries, WebhookFault
from simulators.whatsapp import SignedWebhook


def _closed_port() -> int:
    with socket.socket() as s:  # bound then closed: a refused connection, given up at once
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_waits_for_a_held_back_webhook_then_answers_idle():
    async def scenario() -> tuple[int, int, int]:
        d = Deliveries(webhook_url=f"http://127.0.0.1:{_closed_port()}/webhook", retry_schedule=(),
                       timeout_s=1.0, concurrency=4)
        await d.start()
        try:
            d.inject(WebhookFault("delay", 1, seconds=0.3))
            for phone in ("250788000001", "250788000002"):
                d.submit(SignedWebhook(b"{}", {}, f"wamid.{phone}"), kind="message", phone=phone)
            early = await d.until_idle(0.01)  # the held-back one is still on its way
            done = await d.until_idle(10.0)
            return early, done, sum(x.state == "given_up" for x in d.all)
        finally:
            await d.stop()

    early, done, given_up = asyncio.run(scenario())
    assert early >= 1
    assert done == 0
    assert given_up == 2  # it answered idle only once both were done
