"""``--target`` and its companions, for ``concierge-sim run`` and ``gate phase0``."""

from __future__ import annotations

import argparse
import os
from urllib.parse import urlsplit

from .target import TargetSpec


class TargetArgsInvalid(ValueError):
    pass


def add_target_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("black-box target (docs/black-box.md)")
    g.add_argument("--target", default=None, metavar="URL",
                   help="run against the concierge whose webhook is URL (http://HOST:PORT/webhook), over HTTP")
    g.add_argument("--target-secret", default=None, metavar="S",
                   help="the target's app secret: webhooks are signed with it (default: a new random one, "
                        "given to --target-cmd as WHATSAPP_APP_SECRET)")
    g.add_argument("--target-verify-token", default=None, metavar="V",
                   help="the target's verify token for the subscription handshake (default: a new random one)")
    g.add_argument("--target-cmd", default=None, metavar="COMMAND",
                   help="start the target with this command (the emulator's environment set; {workdir} is a "
                        "fresh folder), wait for its handshake, and always stop it")
    g.add_argument("--probe-secret", default=os.environ.get("CONCIERGE_PROBE_SECRET"), metavar="S",
                   help="the target's harness-probe secret (docs/probe.openapi.yaml); without it, the wire only")
    g.add_argument("--require-probe", action="store_true",
                   help="a check the target does not let the harness observe fails the scenario")
    g.add_argument("--target-quiet", type=float, default=1.0, metavar="SECONDS",
                   help="without a probe, the target is taken to be done once it sent nothing this long (default 1)")
    g.add_argument("--target-wait", type=float, default=60.0, metavar="SECONDS",
                   help="how long to wait for the target to pass the handshake (default 60)")


def target_spec(args: argparse.Namespace) -> TargetSpec | None:
    """The target the flags describe, or None (in-process); ``TargetArgsInvalid`` names a bad flag."""
    from .run import new_secret

    if args.target is None:
        for flag in ("target_cmd", "target_secret", "target_verify_token"):
            if getattr(args, flag):
                raise TargetArgsInvalid(f"--{flag.replace('_', '-')} needs --target URL")
        if args.require_probe:
            raise TargetArgsInvalid("--require-probe needs --target URL")
        return None
    for flag, given in (("--repeat", getattr(args, "repeat", 1) > 1), ("--ledger", getattr(args, "ledger", None)),
                        ("--brain", getattr(args, "brain", None))):
        if given:
            raise TargetArgsInvalid(f"{flag} is for in-process runs; a --target run uses the target's own")
    parts = urlsplit(args.target)
    if parts.scheme not in ("http", "https") or not parts.hostname or not parts.port:
        raise TargetArgsInvalid(f"--target {args.target!r}: expected http://HOST:PORT/PATH")
    if not args.target_cmd and not (args.target_secret and args.target_verify_token):
        raise TargetArgsInvalid("--target without --target-cmd needs --target-secret and --target-verify-token "
                                "(the target's own)")
    if args.probe_secret is not None and len(args.probe_secret) < 16:
        raise TargetArgsInvalid("--probe-secret: at least 16 characters")
    if args.target_wait <= 0 or args.target_quiet <= 0:
        raise TargetArgsInvalid("--target-wait and --target-quiet must be > 0 seconds")
    return TargetSpec(webhook_url=args.target, app_secret=args.target_secret or new_secret(),
                      verify_token=args.target_verify_token or new_secret(), command=args.target_cmd,
                      probe_secret=args.probe_secret, require_probe=args.require_probe,
                      ready_timeout_s=args.target_wait, quiet_s=args.target_quiet)
