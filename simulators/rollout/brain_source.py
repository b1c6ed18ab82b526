"""Which brain a population run asks: the rule brain (default), or an HTTP brain behind a cassette
(``simulate --brain PROVIDER[:MODEL] [--cassette PATH] [--cassette-mode MODE] [--brain-url URL]``).

With an HTTP brain, the brain's own mistakes replace the simulated ones (no invalid outputs are
injected) and each call's token usage, as the provider reported it, prices the run.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..brain_spec import BRAIN_PROVIDERS, CASSETTE_MODES


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--brain", default=None, metavar="PROVIDER[:MODEL]",
                   help=f"ask an HTTP brain ({', '.join(BRAIN_PROVIDERS)}) instead of the rule brain")
    p.add_argument("--brain-url", default=None, metavar="URL", help="the provider's base URL")
    p.add_argument("--cassette", default=None, metavar="PATH",
                   help="the brain's cassette (default RUN_DIR/brain-cassette.PROVIDER.jsonl)")
    p.add_argument("--cassette-mode", default=None, choices=CASSETTE_MODES,
                   help="replay (default), record or auto")


def spec_from_args(args: argparse.Namespace) -> Any:
    """The ``BrainSpec`` the options describe, or None; ``ValueError`` says what is wrong."""
    brain = getattr(args, "brain", None)
    if brain is None:
        if getattr(args, "cassette", None) or getattr(args, "cassette_mode", None):
            raise ValueError("--cassette and --cassette-mode need --brain PROVIDER[:MODEL]")
        return None
    from ..brain_spec import DEFAULT_MODELS, BrainSpec

    provider, _, model = brain.partition(":")
    if provider not in BRAIN_PROVIDERS:
        raise ValueError(f"--brain: unknown provider {provider!r}; expected {', '.join(BRAIN_PROVIDERS)}")
    cassette = args.cassette or str(Path(args.out) / f"brain-cassette.{provider}.jsonl")
    mode = args.cassette_mode or "replay"
    if mode == "replay" and not Path(cassette).is_file():
        raise ValueError(f"--cassette {cassette} not found; record it first with --cassette-mode record "
                         "(or auto)")
    return BrainSpec(provider=provider, model=model or DEFAULT_MODELS[provider], cassette=cassette,
                     mode=mode, base_url=args.brain_url)


def inner_brain(spec: Any) -> Any:
    if spec is None:
        from ..brains import RuleBrain

        return RuleBrain()
    from ..brain_setup import build

    return build(spec)
