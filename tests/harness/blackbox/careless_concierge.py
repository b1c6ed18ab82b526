"""A deliberately different concierge for the black-box tests: not ours, and wrong on purpose.

It speaks the same Cloud API (Meta's handshake, signed webhooks, Graph API sends to
``WHATSAPP_API_URL``) and does the least a concierge does: it thanks the client and asks the first
three vendors of the client's category. ``CARELESS_FLAW`` picks its mistake:

- ``none``: no mistake (the harness must pass what it can observe);
- ``send_twice``: every outreach message goes out twice;
- ``leak_phone``: the client's phone number is forwarded to the vendors.

Run: ``python -m tests.harness.blackbox.careless_concierge PORT`` with the WHATSAPP_* variables and
``CONCIERGE_VENDORS`` (a vendor fixture file) set.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys

import httpx
import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

ENV = os.environ
FLAW = ENV.get("CARELESS_FLAW", "none")


def vendors() -> list[dict]:
    return yaml.safe_load(open(ENV["CONCIERGE_VENDORS"], encoding="utf-8")) or []


def send(client: httpx.Client, to: str, text: str) -> None:
    client.post(f"/v21.0/{ENV['WHATSAPP_PHONE_NUMBER_ID']}/messages", json={
        "messaging_product": "whatsapp", "to": to.lstrip("+"), "type": "text", "text": {"body": text}})


async def handshake(request: Request) -> Response:
    q = request.query_params
    if q.get("hub.verify_token") == ENV["WHATSAPP_VERIFY_TOKEN"]:
        return PlainTextResponse(q.get("hub.challenge", ""))
    return PlainTextResponse("no", status_code=403)


async def webhook(request: Request) -> Response:
    body = await request.body()
    expected = "sha256=" + hmac.new(ENV["WHATSAPP_APP_SECRET"].encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("x-hub-signature-256", "")):
        return JSONResponse({"error": "signature"}, status_code=401)
    directory = vendors()
    vendor_phones = {v["phone"].lstrip("+") for v in directory}
    with httpx.Client(base_url=ENV["WHATSAPP_API_URL"], timeout=10,
                      headers={"Authorization": f"Bearer {ENV['WHATSAPP_ACCESS_TOKEN']}"}) as client:
        for entry in json.loads(body).get("entry", []):
            for change in entry.get("changes", []):
                for message in change.get("value", {}).get("messages", []):
                    sender, text = message["from"], (message.get("text") or {}).get("body", "")
                    if sender in vendor_phones or not text:
                        continue
                    send(client, sender, "Thanks! I'm asking nearby vendors now.")
                    category = "electronics" if "charger" in text.lower() else "pharmacy"
                    for vendor in [v for v in directory if category in v["categories"]][:3]:
                        ask = f"Hello {vendor['name']}, a client needs: {text}. Do you have it?"
                        if FLAW == "leak_phone":
                            ask += f" Call them on +{sender}."
                        for _ in range(2 if FLAW == "send_twice" else 1):
                            send(client, vendor["phone"], ask)
    return JSONResponse({"received": True})


app = Starlette(routes=[Route("/webhook", handshake, methods=["GET"]), Route("/webhook", webhook, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
