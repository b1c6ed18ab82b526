"""The unit suite's junit, kept with the key of the tree it ran on, so the gate can take it instead of
running the suite a second time.

``nox -s tests`` runs pytest through :func:`main`, which writes ``reports/unit/junit.xml`` and
``reports/unit/tree-key.json`` (the tree key, pytest's exit code and its arguments). The gate accepts
that junit only for the very tree it judges: the key is the git HEAD commit plus a hash of
``git diff HEAD`` and of every untracked, non-ignored file, so editing, adding or staging anything
changes it. Outside a git checkout the key hashes the source files themselves.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

EVIDENCE_DIR = Path("reports/unit")
JUNIT = "junit.xml"
KEY_FILE = "tree-key.json"
# Without git, what the key hashes: the folders whose files decide the suite's outcome.
SOURCE_FOLDERS = ("concierge", "simulators", "tests", "scenarios", "fixtures", "bench", "docs")
SOURCE_FILES = ("pyproject.toml", "noxfile.py")
SKIPPED_PARTS = {"__pycache__", ".hypothesis", ".pytest_cache", ".nox", "reports", "runs"}


def _git(root: Path, *args: str) -> bytes | None:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def tree_key(root: Path | str = ".") -> str:
    """A key that changes whenever any file that the tests could see changes."""
    root = Path(root).resolve()
    head = _git(root, "rev-parse", "HEAD")
    digest = hashlib.sha256()
    if head is None:
        for path in _source_files(root):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
        return "files:" + digest.hexdigest()
    digest.update(_git(root, "diff", "HEAD", "--binary") or b"")
    untracked = (_git(root, "ls-files", "--others", "--exclude-standard", "-z") or b"").split(b"\0")
    for name in sorted(n for n in untracked if n):
        path = root / name.decode("utf-8", "surrogateescape")
        digest.update(b"untracked\0" + name + b"\0")
        if path.is_file():
            digest.update(path.read_bytes())
    return f"git:{head.decode().strip()}+{digest.hexdigest()[:16]}"


def _source_files(root: Path) -> list[Path]:
    files = [root / f for f in SOURCE_FILES if (root / f).is_file()]
    for folder in SOURCE_FOLDERS:
        files += [p for p in (root / folder).rglob("*")
                  if p.is_file() and not SKIPPED_PARTS.intersection(p.relative_to(root).parts)]
    return sorted(files)


def run_and_record(pytest_args: list[str], evidence_dir: Path = EVIDENCE_DIR, root: Path | str = ".") -> int:
    """Run pytest with ``pytest_args``, writing its junit and the tree key next to it. A tree that
    changed while the tests ran gets no key: its junit describes neither version."""
    evidence_dir = Path(evidence_dir).resolve()
    evidence_dir.mkdir(parents=True, exist_ok=True)
    key_file, junit = evidence_dir / KEY_FILE, evidence_dir / JUNIT
    key_file.unlink(missing_ok=True)
    junit.unlink(missing_ok=True)
    before = tree_key(root)
    returncode = subprocess.call([sys.executable, "-m", "pytest", *pytest_args, f"--junitxml={junit}"], cwd=root)
    after = tree_key(root)
    record = {"tree_key": before if before == after else None, "returncode": returncode,
              "pytest_args": pytest_args}
    key_file.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return returncode


def reusable(evidence_dir: Path | str, root: Path | str = ".") -> tuple[Path | None, str, dict[str, Any]]:
    """``(junit, reason, record)``: the junit when it may stand for a run of the suite on this tree,
    otherwise ``None`` and why not."""
    evidence_dir = Path(evidence_dir)
    key_file, junit = evidence_dir / KEY_FILE, evidence_dir / JUNIT
    if not key_file.is_file() or not junit.is_file():
        return None, f"no junit with a tree key in {evidence_dir} (run `nox -s tests` first)", {}
    try:
        record = json.loads(key_file.read_text("utf-8"))
        stored, returncode, args = record["tree_key"], record["returncode"], list(record["pytest_args"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"unreadable {key_file}: {exc}", {}
    if stored is None:
        return None, f"{key_file}: the tree changed while those tests ran", record
    now = tree_key(root)
    if stored != now:
        return None, f"{key_file}: tree key {stored} is not this tree's ({now})", record
    if returncode != 0:
        return None, f"{key_file}: that pytest exited {returncode}", record
    if not _covers_tests(args):
        return None, f"{key_file}: that run did not cover the tests folder (pytest {' '.join(args)})", record
    return junit, f"reused the junit of `nox -s tests` at tree key {now}", record


def _covers_tests(args: list[str]) -> bool:
    """The whole ``tests`` folder was a target, and nothing narrowed the selection."""
    narrowing = {"-k", "-m", "--deselect", "--lf", "--last-failed", "-x", "--exitfirst", "--ignore",
                 "--ignore-glob", "--sw", "--stepwise"}
    if any(a.split("=", 1)[0] in narrowing for a in args):
        return False
    return any(a.rstrip("/") in ("tests", "./tests") for a in args)


def main(argv: list[str] | None = None) -> int:
    return run_and_record(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
