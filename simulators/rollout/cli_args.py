"""The ``simulate`` options, importable without the simulator (the CLI builds its parser eagerly)."""

from __future__ import annotations

import argparse


def add_simulate_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--clients", type=int, required=True)
    p.add_argument("--vendors", type=int, required=True)
    p.add_argument("--hours", type=float, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--profile", choices=["phase1", "phase2", "phase3"], default=None)
    p.add_argument("--env", dest="env_file", default=None, help="a runbook configuration block (KEY=value)")
    p.add_argument("--params", default=None, help="YAML mapping overriding world parameters by name")
    p.add_argument("--shards", type=int, default=None,
                   help="split the market into K independent sub-markets, clients and vendors dealt "
                        "round-robin (default 1: the whole market in one world, exact)")
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes of a local Dask cluster running the shards (default 1: in this "
                        "process); the metrics do not depend on it")
    p.add_argument("--ocr", choices=["model", "tesseract"], default="model",
                   help="model: the calibrated OCR model (fast); tesseract: render images and read them")
    p.add_argument("--prices", default=None, help="price table (default fixtures/prices.yaml)")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--invariants", action="store_true",
                   help="also check Phase 0's invariants over the whole run (slower, keeps more memory)")
    p.add_argument("--review-shortlists", type=int, default=20, metavar="N",
                   help="the first N delivered shortlists go on review.html for manual review (default 20)")
    p.add_argument("--ledger", default=None, metavar="DIR",
                   help="keep each shard's ledger in DIR/shard-K.sqlite (WAL) instead of in memory")
    p.add_argument("--out", required=True, help="RUN_DIR")
    from .brain_source import add_arguments

    add_arguments(p)
    return p


def parsed(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace | int:
    """The arguments, or the exit code for argparse's own exit: 2 for bad usage, 0 after --help."""
    try:
        return parser.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
