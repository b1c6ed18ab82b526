"""Output folders written whole or not at all, one writer at a time, and read only when whole.

A command's output set (a report folder, a simulation run) is written into a hidden staging folder
beside its destination; each file is fsync'd, then the manifest ``run.json`` is written last (run
id, command, seed, start and finish times, every file with its size and sha256, ``complete``), and
the staging folder is renamed into place. A reader (``verify``) accepts a folder only when its
manifest says complete and every file matches it, with no file it does not list: a cut-off file, a
mix of two runs or a folder a killed run left behind is refused by name, never judged.

A lock file beside the folder (``.NAME.lock``, held for the whole command) keeps a second writer
out; it is told so at once, before it has done any work. The previous set is removed when a new
writer starts, so a rerun that dies leaves no evidence at all rather than the last run's.

Adding a file to a set is one call: ``out.write_text("report.html", html)``.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import hashlib
import json
import os
import re
import shlex
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

MANIFEST = "run.json"
FORMAT = "concierge-sim.output/1"
# What an output set may hold: a folder holding anything else is not replaced (``--report-dir .``
# must never rename the working folder away).
_OURS = re.compile(r"^(run\.json|report\.(json|md|html)|junit\.xml|unit-tests\.xml|metrics\.json|"
                   r"tally\.json|error\.txt|gate-phase\d\.(json|md)|[\w.-]+\.png|brain-cassette\.[\w.-]+\.jsonl)$")
_COMMAND: list[str] = []


class OutputError(Exception):
    """A harness error about an output: its message is the one line the user sees (exit 3)."""


def set_command(argv: list[str]) -> None:
    """The command line recorded in every manifest this process writes."""
    _COMMAND[:] = argv


def _now() -> str:
    # The harness's own output layer, not the simulated world: real time is the truth here.
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":  # pragma: no cover - Windows has no directory fsync
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durable(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _digest(path: Path) -> dict[str, Any]:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return {"size": path.stat().st_size, "sha256": h.hexdigest()}


def lock(target: Path) -> FileLock:
    """The lock of one output (a folder or a file), held by its writer: ``.NAME.lock`` beside it."""
    lock_file = target.parent / f".{target.name}.lock"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        held = FileLock(lock_file, timeout=0)
        held.acquire()
    except Timeout:
        raise OutputError(f"{target}: another concierge-sim process is writing it (lock {lock_file} is "
                          "held); wait for it to finish or choose another output") from None
    return held


def _replaceable(folder: Path) -> None:
    if not folder.exists():
        return
    if not folder.is_dir():
        raise OutputError(f"{folder}: exists and is not a folder; choose another output folder")
    listed: set[str] = set()
    try:  # a set's own manifest vouches for the files it lists (a newer writer's file types too)
        listed = set(json.loads((folder / MANIFEST).read_text("utf-8")).get("files", {}))
    except (OSError, ValueError, AttributeError):
        pass
    strangers = [p.name for p in folder.iterdir()
                 if not (p.is_file() and (_OURS.match(p.name) or p.name in listed))]
    if strangers:
        raise OutputError(f"{folder}: holds {', '.join(sorted(strangers)[:3])}, which no concierge-sim "
                          "output set contains; refusing to replace it (choose an empty or new folder)")


class OutputSet:
    """One command's output folder. ``with OutputSet(folder, seed=...) as out:`` locks it and
    retires the previous set; ``out.write_text(name, text)`` (or a tool writing to ``out.path(name)``)
    fills the staging folder; ``out.commit()`` publishes it. Leaving the block without a commit (an
    error, a kill) publishes nothing.

    ``amend=True`` adds files to an existing, verified set (a gate's verdict written into the run it
    judged): the set is copied (hard links) with the new files into staging and swapped in whole.

    ``carry``: name patterns of inputs that live in the folder (``simulate --brain``'s cassette,
    read or recorded during the run). They are never removed: they stay in the folder while the run
    goes on, are listed in the new set when it is published, and are rescued from a killed writer's
    leftovers.
    """

    def __init__(self, folder: str | Path, *, seed: int | None = None, amend: bool = False,
                 carry: tuple[str, ...] = ()):
        self.folder = Path(folder)
        self.seed = seed
        self.amend = amend
        self.carry = carry
        self.started_at = _now()
        self.staging = self.folder.parent / f".{self.folder.name}.partial-{os.getpid()}"
        self._lock: FileLock | None = None
        self._base: dict[str, Any] | None = None
        self.committed = False

    def __enter__(self) -> OutputSet:
        self._lock = lock(self.folder)
        try:
            self._clear_leftovers()
            if self.amend:
                self._base = verify(self.folder)
            else:
                _replaceable(self.folder)
                if self.folder.exists():  # a rerun that dies must not leave the last run's evidence
                    self._retire_results()
            self.staging.mkdir()
            if self._base is not None:
                for name in self._base["files"]:
                    _link_or_copy(self.folder / name, self.staging / name)
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            if not self.committed and self.staging.exists():
                shutil.rmtree(self.staging, ignore_errors=True)
        finally:
            self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _clear_leftovers(self) -> None:
        """Staging folders of writers that were killed (the lock is ours: none of them is alive)."""
        for p in self.folder.parent.glob(f".{glob_escape(self.folder.name)}.*-*"):
            if p.is_dir() and (".partial-" in p.name or ".retired-" in p.name):
                for name in self._carried(p):  # killed between two renames: the inputs survive
                    if not (self.folder / name).exists():
                        self.folder.mkdir(exist_ok=True)
                        os.rename(p / name, self.folder / name)
                shutil.rmtree(p, ignore_errors=True)

    def _carried(self, folder: Path) -> set[str]:
        if not self.carry or not folder.is_dir():
            return set()
        return {p.name for p in folder.iterdir() if p.is_file() and any(fnmatch.fnmatch(p.name, c) for c in self.carry)}

    def _retire_results(self) -> None:
        keep = self._carried(self.folder)
        if keep:  # the inputs stay where the run reads them; every result goes
            for p in self.folder.iterdir():
                if p.name not in keep:
                    p.unlink()
            return
        retired = self.folder.parent / f".{self.folder.name}.retired-{os.getpid()}"
        os.rename(self.folder, retired)
        shutil.rmtree(retired, ignore_errors=True)

    # --- filling the set ---------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        return self.staging / name

    def write_bytes(self, name: str, data: bytes) -> Path:
        target = self.path(name)
        target.unlink(missing_ok=True)  # never write through a hard link into the set being amended
        _write_durable(target, data)
        return target

    def write_text(self, name: str, text: str) -> Path:
        return self.write_bytes(name, text.encode("utf-8"))

    # --- publishing --------------------------------------------------------------------------------
    def commit(self, *, complete: bool = True, **fields: Any) -> dict[str, Any]:
        """Write the manifest last and move the set into place. ``complete=False`` publishes a set
        that says it is not whole (a run that failed, with its error file): readers refuse it."""
        if self._base is None:
            for name in self._carried(self.folder) - {p.name for p in self.staging.iterdir()}:
                _link_or_copy(self.folder / name, self.staging / name)
        files = {}
        for p in sorted(self.staging.iterdir()):
            if p.name == MANIFEST:
                continue
            if p.is_file():
                fd = os.open(p, os.O_RDONLY)  # files a tool wrote too (pytest's junit, the pngs)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
                files[p.name] = _digest(p)
        if self._base is not None:
            manifest = {**self._base, "files": files,
                        "amended": [*self._base.get("amended", []), {
                            "command": _command(), "at": _now(),
                            "files": sorted(set(files) - set(self._base["files"])) or sorted(files)}]}
        else:
            manifest = {"format": FORMAT, "run_id": uuid.uuid4().hex, "command": _command(),
                        "seed": self.seed, "started_at": self.started_at, "finished_at": _now(),
                        **fields, "files": files, "complete": complete}
        _write_durable(self.staging / MANIFEST,
                       (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode())
        _fsync_dir(self.staging)
        if self.folder.exists():  # an amended set, or carried inputs: swap the whole folder
            retired = self.folder.parent / f".{self.folder.name}.retired-{os.getpid()}"
            os.rename(self.folder, retired)
            os.rename(self.staging, self.folder)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(self.staging, self.folder)
        _fsync_dir(self.folder.parent)
        self.committed = True
        return manifest


def published(folder: Path) -> Path:
    """The folder a staging folder becomes (``.NAME.partial-PID`` -> ``NAME``): the name to give
    the user in an error; any other folder is itself."""
    m = re.fullmatch(r"\.(.+)\.partial-\d+", folder.name)
    return folder.parent / m.group(1) if m else folder


def glob_escape(name: str) -> str:
    return re.sub(r"([\[\]*?])", r"[\1]", name)


def _command() -> str:
    return shlex.join(_COMMAND or ["concierge-sim", *sys.argv[1:]])


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # a file system without hard links
        shutil.copy2(src, dst)


def verify(folder: str | Path) -> dict[str, Any]:
    """The manifest of a whole output set, or ``OutputError`` naming what makes it not whole."""
    folder = Path(folder)
    if not folder.is_dir():
        raise OutputError(f"{folder}: no such output folder")
    path = folder / MANIFEST
    if not path.is_file():
        raise OutputError(f"{folder}: no {MANIFEST} manifest, so not a complete output set (a run that "
                          "was stopped, or one written by an older concierge-sim); run it again")
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise OutputError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise OutputError(f"{path}: not a concierge-sim manifest (no file list)")
    if manifest.get("complete") is not True:
        why = f": {manifest['error']}" if manifest.get("error") else ""
        raise OutputError(f"{folder}: the run did not complete ({MANIFEST} says complete: "
                          f"{json.dumps(manifest.get('complete'))}{why})")
    for name, want in manifest["files"].items():
        p = folder / name
        if not p.is_file():
            raise OutputError(f"{p}: listed in {MANIFEST} but missing")
        got = _digest(p)
        if got != {"size": want.get("size"), "sha256": want.get("sha256")}:
            raise OutputError(f"{p}: does not match {MANIFEST} (size {got['size']}, expected "
                              f"{want.get('size')}; or its sha256 differs): changed or cut off after the run")
    extra = sorted(p.name for p in folder.iterdir() if p.name != MANIFEST and p.name not in manifest["files"])
    if extra:
        raise OutputError(f"{folder}: {', '.join(extra[:3])} not in {MANIFEST}: files of another run "
                          "are mixed in")
    return manifest


def write_file(path: str | Path, data: bytes) -> None:
    """One output file (``ocr-eval --json``), whole or not at all: a temporary file beside it,
    fsync'd and renamed over it, under the file's lock. A single rename is atomic, so a lone file
    needs no manifest; a reader sees the old file or the new one, never part of one."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give a file name for the output")
    held = lock(path)
    tmp = path.parent / f".{path.name}.partial-{os.getpid()}"
    try:
        _write_durable(tmp, data)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)
        held.release()
