"""The concierge service alone on loopback: how fast it accepts signed webhooks and answers them.

``python bench/service_bench.py [--needs N] [--concurrency C]``

N client needs from distinct phones are posted as Meta-signed webhooks straight to the service
(C at a time); the Cloud API emulator is only the Graph API the service sends to (no subscriber,
so no status webhooks come back). Reported: webhooks accepted per second (the 200s), and needs
answered per second (until every client has its first send). ``bench/webhook_bench.py`` measures
the full round trip with the emulator delivering.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SECRETS = dict(app_secret="bench-app-secret", verify_token="bench-verify-token",
               access_token="bench-access-token", phone_number_id="106540352242922")
NEED = "I need Amoxicillin 500mg, 21 capsules, near Kimironko"


async def post_all(url: str, hooks: list, concurrency: int) -> float:
    slots = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30) as client:
        async def one(hook) -> None:
            async with slots:
                answer = await client.post(f"{url}/webhook", content=hook.body, headers=hook.headers)
                answer.raise_for_status()

        started = time.monotonic()
        await asyncio.gather(*(one(h) for h in hooks))
        return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--needs", type=int, default=300)
    p.add_argument("--concurrency", type=int, default=16)
    args = p.parse_args(argv)
    from service.spawn import start_service
    from simulators.emulator.spawn import start_emulator
    from simulators.whatsapp import FakeWhatsAppCloud

    cloud = FakeWhatsAppCloud(phone_number_id=SECRETS["phone_number_id"], access_token=SECRETS["access_token"],
                              app_secret=SECRETS["app_secret"], now=time.time)
    phones = [f"+25078{6000000 + i:07d}" for i in range(args.needs)]
    hooks = [cloud.message_webhook(phone, text=NEED) for phone in phones]
    emulator = start_emulator(**SECRETS, extra_args=["--log-level", "error"])
    env = {"WHATSAPP_ACCESS_TOKEN": SECRETS["access_token"], "WHATSAPP_APP_SECRET": SECRETS["app_secret"],
           "WHATSAPP_VERIFY_TOKEN": SECRETS["verify_token"], "WHATSAPP_PHONE_NUMBER_ID": SECRETS["phone_number_id"]}
    service = start_service(emulator.url, str(Path(tempfile.mkdtemp()) / "ledger.sqlite"), env=env,
                            extra_args=("--log-level", "warning"))
    try:
        started = time.monotonic()
        posting = asyncio.run(post_all(service.url, hooks, args.concurrency))
        waiting = set(phones)
        while waiting and time.monotonic() - started < 120:
            waiting = {ph for ph in waiting
                       if not any(m["direction"] == "out" for m in emulator.conversation(ph))}
            time.sleep(0.05)
        answered = time.monotonic() - started
    finally:
        service.stop()
        emulator.stop()
    print(f"service alone: {args.needs} webhooks accepted in {posting:.2f} s ({args.needs / posting:.0f}/s); "
          f"{args.needs - len(waiting)}/{args.needs} needs answered after {answered:.2f} s "
          f"({(args.needs - len(waiting)) / answered:.0f} needs/s)")
    return 0 if not waiting else 1


if __name__ == "__main__":
    sys.exit(main())
