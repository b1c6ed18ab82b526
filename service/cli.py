"""``concierge-sim concierge`` (also ``python -m service``): serve the concierge on uvicorn.

Exit codes: 0 stopped cleanly (SIGTERM/SIGINT) · 2 a missing or unusable setting (one line naming
it) · 3 the service could not start (e.g. the ledger file cannot be opened).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

import uvicorn
import yaml

from simulators.serving import AnnouncingServer, CannotListen, bind, url_of

from .app import create_app
from .config import ConfigError, ServiceConfig
from .logs import configure
from .probe import probe_secret
from .wiring import load_vendors

EXIT_OK, EXIT_INVALID, EXIT_ERROR = 0, 2, 3
DEFAULT_VENDORS = "fixtures/vendors/kigali.yaml"
log = logging.getLogger("service")


def add_concierge_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="0 picks a free port (printed, and in --ready-file)")
    p.add_argument("--db", required=True, metavar="PATH", help="the ledger's SQLite file (WAL mode)")
    p.add_argument("--vendors", default=os.environ.get("CONCIERGE_VENDORS") or DEFAULT_VENDORS, metavar="PATH",
                   help="vendor fixture file or folder (default: CONCIERGE_VENDORS, else %(default)s)")
    p.add_argument("--time-scale", type=float, default=1.0, metavar="N",
                   help="run the service clock N times faster than the wall clock (tests, demos)")
    p.add_argument("--time-origin", type=float, default=None, metavar="EPOCH",
                   help="where scaled time starts (default: now); give the same one on a restart")
    p.add_argument("--ready-file", default=None, metavar="PATH",
                   help='write {"url": ..., "pid": ...} here once serving')
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument("--probe", action="store_true",
                   help="serve the harness probe (docs/probe.openapi.yaml) behind CONCIERGE_PROBE_SECRET; "
                        "never in production")


def add_concierge_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("concierge", help="serve the concierge as a WhatsApp webhook service (docs/service.md)")
    add_concierge_arguments(p)
    p.set_defaults(handler=run)


def _config(args: argparse.Namespace) -> tuple[ServiceConfig, list]:
    db = Path(args.db)
    if not db.parent.is_dir():
        raise ConfigError(f"--db {args.db}: folder {db.parent} does not exist")
    config = ServiceConfig.from_env(os.environ, db_path=str(db), vendors_path=args.vendors,
                                    time_scale=args.time_scale, time_origin=args.time_origin)
    try:
        vendors = load_vendors(args.vendors)
    except FileNotFoundError:
        raise ConfigError(f"--vendors {args.vendors}: no such file") from None
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"--vendors {args.vendors}: not a vendor fixture file ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:200] if str(exc) else ''})") from None
    return config, vendors


def run(args: argparse.Namespace) -> int:
    try:
        config, vendors = _config(args)
        secret = probe_secret() if args.probe else None
    except ConfigError as exc:
        print(f"concierge-sim concierge: {exc}", file=sys.stderr)
        return EXIT_INVALID
    configure(args.log_level)
    try:
        sock = bind(args.host, args.port)
    except CannotListen as exc:
        print(f"concierge-sim concierge: {exc}", file=sys.stderr)
        return EXIT_INVALID
    # log_config=None: uvicorn's loggers keep the JSON-lines handler configured above.
    server = AnnouncingServer(
        uvicorn.Config(create_app(config, vendors, probe_secret=secret), log_config=None, access_log=False, lifespan="on",
                       timeout_graceful_shutdown=30),
        name="concierge", url=url_of(sock), ready_file=args.ready_file)
    # uvicorn re-raises the stop signal after its graceful shutdown: a no-op handler makes a
    # requested stop exit 0.
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda *_: None)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    if not server.started:
        return EXIT_ERROR
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m service", description=__doc__.splitlines()[0])
    add_concierge_arguments(p)
    return run(p.parse_args(argv))
