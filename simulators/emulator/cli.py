"""``concierge-sim emulate``: serve the emulator; ``send``, ``log`` and ``fault`` talk to a running one.

Exit codes: 0 done · 2 invalid input or usage (including a webhook target that fails the handshake)
· 3 harness error (no emulator at the given address).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .config import (
    DEFAULT_RETRY_SCHEDULE,
    ENV_NAMES,
    ConfigInvalid,
    EmulatorConfig,
    parse_seconds_list,
    parse_statuses,
)

EXIT_OK, EXIT_INVALID, EXIT_ERROR = 0, 2, 3
DEFAULT_EMULATOR = "http://127.0.0.1:8081"
EMULATOR_ENV = "CONCIERGE_EMULATOR_URL"


def add_emulate_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``emulate`` (and its ``send`` / ``log`` / ``fault`` actions) on the main CLI."""
    emu = sub.add_parser("emulate", help="serve the WhatsApp Cloud API emulator over HTTP (docs/emulator.md)",
                         description="Serve FakeWhatsAppCloud on a real port; or, with send/log/fault, "
                                     "act as a person on a running emulator.")
    _serve_arguments(emu)
    emu.set_defaults(handler=cmd_serve)
    actions = emu.add_subparsers(dest="emulate_action", parser_class=type(emu), metavar="{send,log,fault}")
    send = actions.add_parser("send", help="send a message to the business as a person")
    _client_arguments(send)
    send.add_argument("--from", dest="sender", required=True, metavar="PHONE", help="the person's phone")
    send.add_argument("text", nargs="?", help="the message text")
    send.add_argument("--button", metavar="TITLE", help="tap the reply button with this title")
    send.add_argument("--list", dest="row", metavar="TITLE", help="pick the list row with this title")
    send.add_argument("--image", metavar="FILE", help="attach this image (jpg/png/webp) or pdf")
    send.add_argument("--render", metavar="SPEC", help="attach a rendered image: a render spec as JSON, "
                                                      "or a YAML/JSON file holding one (docs/ocr.md)")
    send.add_argument("--caption")
    send.add_argument("--name", help="the person's WhatsApp profile name")
    send.add_argument("--reply-wait", type=float, default=3.0, metavar="SECONDS",
                      help="print the business's answers until it has been quiet this long (0: don't wait)")
    send.set_defaults(handler=cmd_send)
    log = actions.add_parser("log", help="print a phone's conversation")
    _client_arguments(log)
    log.add_argument("--phone", required=True)
    log.add_argument("--json", action="store_true", help="the raw JSON log")
    log.set_defaults(handler=cmd_log)
    fault = actions.add_parser("fault", help="arm a fault, e.g. '{\"target\": \"whatsapp_send\", \"status\": 429}'")
    _client_arguments(fault)
    fault.add_argument("spec", nargs="?", help="the fault as JSON (docs/emulator.md lists them)")
    fault.add_argument("--clear", action="store_true", help="disarm every fault")
    fault.set_defaults(handler=cmd_fault)
    return emu


def _serve_arguments(p: argparse.ArgumentParser) -> None:
    env = ENV_NAMES
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8081, help="0 picks a free port (printed, and in --ready-file)")
    p.add_argument("--webhook-url", default=None, help="where webhooks go; without it they wait for "
                                                        "POST /sim/subscription")
    p.add_argument("--app-secret", default=os.environ.get(env["app_secret"]), help=f"(env {env['app_secret']})")
    p.add_argument("--verify-token", default=os.environ.get(env["verify_token"]), help=f"(env {env['verify_token']})")
    p.add_argument("--access-token", default=os.environ.get(env["access_token"]) or EmulatorConfig.access_token,
                   help=f"the bearer token clients must send (env {env['access_token']})")
    p.add_argument("--phone-number-id", default=os.environ.get(env["phone_number_id"]) or EmulatorConfig.phone_number_id,
                   help=f"(env {env['phone_number_id']})")
    p.add_argument("--display-phone", default=EmulatorConfig.display_phone)
    p.add_argument("--no-handshake", action="store_true",
                   help="start without checking the webhook target (e.g. before it exists)")
    p.add_argument("--handshake-wait", type=float, default=10.0, metavar="SECONDS",
                   help="keep trying a target that refuses connections this long (default 10)")
    p.add_argument("--retry-schedule", default=",".join(f"{s:g}" for s in DEFAULT_RETRY_SCHEDULE),
                   metavar="S1,S2,...", help="waits before each redelivery of a failed webhook")
    p.add_argument("--delivery-timeout", type=float, default=EmulatorConfig.delivery_timeout_s, metavar="SECONDS")
    p.add_argument("--concurrency", type=int, default=EmulatorConfig.concurrency)
    p.add_argument("--statuses", default=",".join(EmulatorConfig.statuses),
                   help="status webhooks sent on their own: some of sent,delivered,read, or none")
    p.add_argument("--timeout-hang", type=float, default=EmulatorConfig.timeout_hang_s, metavar="SECONDS",
                   help="how long a request hit by a timeout fault hangs before its 504")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ready-file", default=None, help="write {\"url\", \"pid\"} here once serving")
    p.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])


def _client_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--emulator", default=os.environ.get(EMULATOR_ENV, DEFAULT_EMULATOR),
                   help=f"the running emulator (env {EMULATOR_ENV}; default {DEFAULT_EMULATOR})")


# --- serve ----------------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import StartRefused, serve

    try:
        config = EmulatorConfig(
            app_secret=args.app_secret or "", verify_token=args.verify_token or "",
            access_token=args.access_token, phone_number_id=str(args.phone_number_id),
            display_phone=args.display_phone, webhook_url=args.webhook_url,
            retry_schedule=parse_seconds_list(args.retry_schedule, "--retry-schedule"),
            delivery_timeout_s=args.delivery_timeout, concurrency=args.concurrency,
            statuses=parse_statuses(args.statuses), timeout_hang_s=args.timeout_hang, seed=args.seed,
        )
        if not 0 <= args.port <= 65535:
            raise ConfigInvalid(f"--port must be 0..65535, got {args.port}")
        serve(config, host=args.host, port=args.port, handshake_first=not args.no_handshake,
              handshake_wait_s=args.handshake_wait, ready_file=args.ready_file, log_level=args.log_level)
    except (ConfigInvalid, StartRefused) as exc:
        print(f"concierge-sim emulate: {exc}", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK


# --- clients of a running emulator ----------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def _call(args: argparse.Namespace, method: str, path: str, **kwargs: Any) -> Any:
    import httpx

    url = args.emulator.rstrip("/") + path
    try:
        answer = httpx.request(method, url, timeout=kwargs.pop("timeout", 30.0), **kwargs)
    except httpx.HTTPError as exc:
        raise _Refused(f"no emulator at {args.emulator} ({type(exc).__name__}); start one with "
                       "`concierge-sim emulate` or pass --emulator URL", EXIT_ERROR) from None
    try:
        body = answer.json()
    except ValueError:
        body = {"error": answer.text[:200]}
    if answer.status_code >= 400:
        raise _Refused(str(body.get("error", body)), EXIT_INVALID)
    return body


def _client_command(name: str):
    def wrap(fn):
        def run(args: argparse.Namespace) -> int:
            try:
                return fn(args)
            except _Refused as exc:
                print(f"concierge-sim emulate {name}: {exc}", file=sys.stderr)
                return exc.code
        return run
    return wrap


@_client_command("send")
def cmd_send(args: argparse.Namespace) -> int:
    spec: dict[str, Any] = {"from": args.sender}
    for key, value in (("text", args.text), ("button", args.button), ("list", args.row),
                       ("caption", args.caption), ("name", args.name)):
        if value is not None:
            spec[key] = value
    if args.image and args.render:
        raise _Refused("give --image or --render, not both", EXIT_INVALID)
    if args.image:
        path = Path(args.image)
        if not path.is_file():
            raise _Refused(f"--image {args.image}: no such file", EXIT_INVALID)
        mime = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
                ".pdf": "application/pdf"}.get(path.suffix.lower(), "application/octet-stream")
        if mime == "application/pdf":
            spec["filename"] = path.name
        sent = _call(args, "POST", "/sim/messages?wait=10", data=spec,
                     files={"file": (path.name, path.read_bytes(), mime)})
    else:
        if args.render:
            spec["image"] = _render_spec(args.render)
        sent = _call(args, "POST", "/sim/messages?wait=10", json=spec)
    delivery = sent["delivery"]
    print(f"{sent['from']} -> business: {sent['wamid']} {_delivery_words(delivery)}")
    if args.reply_wait > 0:
        _print_replies(args, sent["from"], sent["wamid"], args.reply_wait)
    return EXIT_OK


def _render_spec(value: str) -> dict[str, Any]:
    import yaml

    text = value
    if not value.lstrip().startswith("{"):
        path = Path(value)
        if not path.is_file():
            raise _Refused(f"--render {value}: neither a JSON object nor a file", EXIT_INVALID)
        text = path.read_text()
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _Refused(f"--render: not JSON or YAML ({str(exc).splitlines()[0]})", EXIT_INVALID) from None
    if not isinstance(spec, dict):
        raise _Refused("--render: a render spec is a mapping like {\"render\": \"prescription\", ...}", EXIT_INVALID)
    return spec


def _print_replies(args: argparse.Namespace, phone: str, after_wamid: str, quiet_s: float) -> None:
    """Print each message the business sends this phone after ours, until it has been quiet a while."""
    seen = 0
    last_news = time.monotonic()
    while time.monotonic() - last_news < quiet_s:
        messages = _call(args, "GET", f"/sim/conversations/{phone}")["messages"]
        index = next((i for i, m in enumerate(messages) if m["wamid"] == after_wamid), -1)
        replies = [m for m in messages[index + 1:] if m["direction"] == "out"]
        for message in replies[seen:]:
            print(f"business -> {phone}: {_describe(message)}", flush=True)
            last_news = time.monotonic()
        seen = len(replies)
        time.sleep(0.2)


@_client_command("log")
def cmd_log(args: argparse.Namespace) -> int:
    log = _call(args, "GET", f"/sim/conversations/{args.phone}")
    if args.json:
        print(json.dumps(log, indent=2, ensure_ascii=False))
        return EXIT_OK
    if not log["messages"]:
        print(f"no messages with {log['phone']}")
    for m in log["messages"]:
        at = datetime.fromtimestamp(m["at"], tz=timezone.utc).strftime("%H:%M:%S")
        if m["direction"] == "in":
            print(f"{at}  {log['phone']} -> business: {_describe(m)}  [{_delivery_words(m['delivery'])}]")
        else:
            states = ", ".join(s["status"] for s in m["statuses"]) or "no status yet"
            print(f"{at}  business -> {log['phone']}: {_describe(m)}  [{states}]")
    return EXIT_OK


@_client_command("fault")
def cmd_fault(args: argparse.Namespace) -> int:
    if args.clear:
        _call(args, "DELETE", "/sim/faults")
        print("every fault disarmed")
        return EXIT_OK
    if not args.spec:
        raise _Refused("give a fault as JSON, e.g. '{\"target\": \"whatsapp_send\", \"status\": 429}', "
                       "or --clear", EXIT_INVALID)
    try:
        spec = json.loads(args.spec)
    except ValueError:
        raise _Refused(f"not JSON: {args.spec[:60]!r}", EXIT_INVALID) from None
    _call(args, "POST", "/sim/faults", json=spec)
    print(f"armed {json.dumps(spec)}")
    return EXIT_OK


def _describe(m: dict[str, Any]) -> str:
    kind = m.get("type")
    if kind == "interactive" and m["direction"] == "in":
        return f"[tap] {m.get('button_title')} ({m.get('button_id')})"
    if kind in ("image", "document"):
        return f"[{kind} {m.get('mime_type')}] {m.get('caption') or ''}".rstrip()
    text = m.get("text") or ""
    if m.get("buttons"):
        text += "  [buttons: " + " | ".join(b["title"] for b in m["buttons"]) + "]"
    if m.get("rows"):
        text += f"  [list '{m.get('list_button')}': " + " | ".join(r["title"] for r in m["rows"]) + "]"
    return text


def _delivery_words(d: dict[str, Any]) -> str:
    attempts = d["attempts"]
    last = attempts[-1] if attempts else {}
    result = f"HTTP {last['status']}" if "status" in last else last.get("error", "")
    tries = f"{len(attempts)} attempt{'s' if len(attempts) != 1 else ''}"
    return {"delivered": f"delivered ({result}, {tries})", "given_up": f"given up ({result}, {tries})",
            "retrying": f"redelivering ({result}, {tries} so far)",
            "queued": "queued (not delivered yet)"}.get(d["state"], d["state"])
