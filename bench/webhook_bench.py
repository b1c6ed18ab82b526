"""Loopback webhook benchmark: the Cloud API emulator and the concierge service as two processes.

``python bench/webhook_bench.py [--needs N] [--paced N] [--rate R] [--statuses LIST] [--json OUT]``

Each client need crosses real sockets: driver -> emulator (``/sim/messages``) -> signed webhook ->
service -> Graph API sends (the outreach and the client's acknowledgement) -> emulator, and each
accepted send's status webhooks back to the service. Two measurements:

- throughput: ``--needs`` needs from distinct clients posted at once; round trips per second is
  needs answered (each has its first send) per second, webhooks per second counts every webhook the
  emulator delivered (messages and statuses), from the first post to the last delivery;
- latency: ``--paced`` needs at ``--rate`` per second (below saturation), from the moment the
  emulator took the need to the first send the service made for it, median and p95.

A send belongs to the need whose request its idempotency key names (``request:<id>:...``), learnt
from the acknowledgement to the client; without such keys the first send to the client counts.
The goal (issue 16) is at least 200 webhooks per second on a 2-core machine; numbers are reported
as measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GOAL_WEBHOOKS_PER_S = 200
SECRETS = dict(app_secret="bench-app-secret", verify_token="bench-verify-token",
               access_token="bench-access-token", phone_number_id="106540352242922")
NEED = "I need Amoxicillin 500mg, 21 capsules, near Kimironko"


def client_phone(i: int) -> str:
    return f"+25078{5000000 + i:07d}"


async def post_needs(url: str, phones: list[str], *, rate: float | None, concurrency: int = 32) -> dict[str, float]:
    """Post one need per phone; returns when the emulator took each (its log's ``at``)."""
    taken: dict[str, float] = {}
    slots = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        async def one(phone: str) -> None:
            async with slots:
                answer = await client.post("/sim/messages", json={"from": phone, "text": NEED})
                answer.raise_for_status()
                taken[phone] = answer.json()["delivery"]["queued_at"]

        tasks = []
        start = time.time()
        for n, phone in enumerate(phones):
            if rate:
                await asyncio.sleep(max(0.0, start + n / rate - time.time()))
            tasks.append(asyncio.create_task(one(phone)))
        await asyncio.gather(*tasks)
    return taken


def first_sends(conversations: dict[str, list[dict]], clients: set[str]) -> dict[str, float]:
    """Each client's first send: the earliest send of its request (by idempotency key), else the
    earliest send to the client."""
    request_of: dict[str, str] = {}
    earliest: dict[str, float] = {}
    for phone, messages in conversations.items():
        for m in messages:
            if m["direction"] != "out":
                continue
            key = m.get("callback_data") or ""
            request = key.split(":")[1] if key.startswith("request:") and key.count(":") >= 2 else None
            if phone in clients and request:
                request_of[phone] = request
            if request:
                earliest[request] = min(earliest.get(request, m["at"]), m["at"])
    out: dict[str, float] = {}
    for phone in clients:
        to_client = [m["at"] for m in conversations.get(phone, []) if m["direction"] == "out"]
        if phone in request_of and request_of[phone] in earliest:
            out[phone] = earliest[request_of[phone]]
        elif to_client:
            out[phone] = min(to_client)
    return out


def wait_settled(emulator, clients: set[str], timeout: float) -> dict:
    """Poll until every client has its first send, no webhook is pending and the service has
    stopped sending (the same number of sends twice in a row)."""
    deadline = time.monotonic() + timeout
    last_count = -1
    while True:
        conversations = emulator.call("GET", "/sim/conversations", timeout=60).json()["conversations"]
        answered = first_sends(conversations, clients)
        pending = emulator.call("GET", "/sim/health").json()["pending_webhooks"]
        count = len(sends(conversations))
        if (len(answered) == len(clients) and pending == 0 and count == last_count) or time.monotonic() > deadline:
            return conversations
        last_count = count
        time.sleep(0.3)


def sends(conversations: dict[str, list[dict]], since: float = 0.0) -> list[float]:
    return [m["at"] for messages in conversations.values() for m in messages
            if m["direction"] == "out" and m["at"] >= since]


def deliveries_between(emulator, since: float) -> list[dict]:
    return [d for d in emulator.deliveries() if d["queued_at"] >= since]


def throughput(emulator, needs: int, offset: int) -> dict:
    phones = [client_phone(offset + i) for i in range(needs)]
    started = time.time()
    taken = asyncio.run(post_needs(emulator.url, phones, rate=None))
    conversations = wait_settled(emulator, set(phones), timeout=120)
    answered = first_sends(conversations, set(phones))
    delivered = [d for d in deliveries_between(emulator, started) if d["state"] == "delivered"]
    sent = sends(conversations, since=started)
    ended = max([d["delivered_at"] for d in delivered] + sent + [started])
    elapsed = ended - started
    return {"needs": needs, "answered": len(answered), "seconds": round(elapsed, 3), "sends": len(sent),
            "round_trips_per_s": round(len(answered) / elapsed, 1),
            "webhooks_delivered": len(delivered), "webhooks_per_s": round(len(delivered) / elapsed, 1),
            "redeliveries": sum(len(d["attempts"]) - 1 for d in delivered),
            "post_latency_s": round(max(taken.values()) - started, 3)}


def latency(emulator, needs: int, rate: float, offset: int) -> dict:
    phones = [client_phone(offset + i) for i in range(needs)]
    taken = asyncio.run(post_needs(emulator.url, phones, rate=rate))
    conversations = wait_settled(emulator, set(phones), timeout=60)
    answered = first_sends(conversations, set(phones))
    waits = sorted((answered[p] - taken[p]) * 1000 for p in phones if p in answered)
    p95 = waits[min(len(waits) - 1, int(round(0.95 * (len(waits) - 1))))] if waits else float("nan")
    return {"needs": needs, "rate_per_s": rate, "answered": len(waits),
            "first_send_ms_median": round(statistics.median(waits), 1) if waits else None,
            "first_send_ms_p95": round(p95, 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--needs", type=int, default=300, help="needs posted at once (throughput)")
    p.add_argument("--paced", type=int, default=100, help="needs posted at --rate (latency)")
    p.add_argument("--rate", type=float, default=20.0, help="needs per second in the latency run")
    p.add_argument("--statuses", default="sent,delivered", help="status webhooks the emulator sends")
    p.add_argument("--json", default=None, help="also write the figures here")
    args = p.parse_args(argv)

    from service.spawn import start_service
    from simulators.emulator.spawn import start_emulator

    workdir = Path(tempfile.mkdtemp(prefix="webhook-bench-"))
    emulator = start_emulator(**SECRETS, extra_args=["--statuses", args.statuses, "--retry-schedule", "0.5,1,2,4",
                                                     "--log-level", "error"])
    env = {"WHATSAPP_ACCESS_TOKEN": SECRETS["access_token"], "WHATSAPP_APP_SECRET": SECRETS["app_secret"],
           "WHATSAPP_VERIFY_TOKEN": SECRETS["verify_token"], "WHATSAPP_PHONE_NUMBER_ID": SECRETS["phone_number_id"]}
    service = None
    try:
        service = start_service(emulator.url, str(workdir / "ledger.sqlite"), env=env,
                                extra_args=["--log-level", "warning"])
        emulator.subscribe(f"{service.url}/webhook")
        latency(emulator, 5, 10.0, offset=900_000)  # warm-up: imports, connections, the first SQLite pages
        figures = {"throughput": throughput(emulator, args.needs, offset=0),
                   "latency": latency(emulator, args.paced, args.rate, offset=500_000),
                   "statuses": args.statuses, "goal_webhooks_per_s": GOAL_WEBHOOKS_PER_S}
    finally:
        if service is not None:
            service.stop()
        emulator.stop()
    t, lat = figures["throughput"], figures["latency"]
    print(f"webhook round trips (loopback, emulator -> service -> send back), statuses {args.statuses}:")
    print(f"  {t['answered']}/{t['needs']} needs answered in {t['seconds']} s: {t['round_trips_per_s']} round trips/s, "
          f"{t['webhooks_per_s']} webhooks/s ({t['webhooks_delivered']} delivered, {t['sends']} sends, "
          f"{t['redeliveries']} redeliveries; "
          f"goal >= {GOAL_WEBHOOKS_PER_S} webhooks/s)")
    print(f"  inbound -> first send at {lat['rate_per_s']:g} needs/s: median {lat['first_send_ms_median']} ms, "
          f"p95 {lat['first_send_ms_p95']} ms ({lat['answered']}/{lat['needs']} answered)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0 if t["answered"] == t["needs"] and lat["answered"] == lat["needs"] else 1


if __name__ == "__main__":
    sys.exit(main())
