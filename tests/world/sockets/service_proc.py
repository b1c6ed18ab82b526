"""Fixtures for the concierge service as a real process: its environment, a Graph API to send
to, and a factory whose every started process is stopped at teardown."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.spawn import ServiceProcess, start_service
from simulators.whatsapp import FakeWhatsAppCloud

from .graph_receiver import GraphReceiver

APP_SECRET = "sockets-app-secret"
VERIFY_TOKEN = "sockets-verify-token"
ACCESS_TOKEN = "sockets-access-token"
PHONE_NUMBER_ID = "106540352242922"
# Backstops for a loaded machine (2 shared cores, a dozen processes): a service that starts in 1 s
# when quiet took 15-20 s there. Every wait returns as soon as its condition holds.
START_S = 120.0
HTTP = {"timeout": 60.0}  # for httpx calls to the service
ENV = {
    "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN, "WHATSAPP_APP_SECRET": APP_SECRET,
    "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
}


@pytest.fixture
def service_env() -> dict[str, str]:
    return dict(ENV)


@pytest.fixture
def graph_receiver() -> Iterator[GraphReceiver]:
    receiver = GraphReceiver(ACCESS_TOKEN).start()
    try:
        yield receiver
    finally:
        receiver.stop()


class ServiceFactory:
    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.started: list[ServiceProcess] = []

    def __call__(self, api_url: str, db_path: str | None = None, env: dict[str, str] | None = None,
                 extra_args: tuple[str, ...] = (), port: int = 0) -> ServiceProcess:
        db = db_path or str(self.tmp_path / "ledger.sqlite")
        service = start_service(api_url, db, env={**ENV, **(env or {})}, extra_args=extra_args, port=port,
                                timeout=START_S)
        self.started.append(service)
        return service

    def stop_all(self) -> None:
        for service in self.started:
            service.kill()


@pytest.fixture
def service_factory(tmp_path: Path) -> Iterator[ServiceFactory]:
    factory = ServiceFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.stop_all()


def signed_messages(seed: int = 0) -> FakeWhatsAppCloud:
    """Builds Meta-signed inbound webhooks for the service's app secret (only the builder is used)."""
    return FakeWhatsAppCloud(phone_number_id=PHONE_NUMBER_ID, access_token=ACCESS_TOKEN,
                             app_secret=APP_SECRET, seed=seed, now=time.time)


def ledger_rows(db_path: str, table: str) -> list[sqlite3.Row]:
    """Read the service's ledger from outside (WAL: a reader does not disturb the writer)."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return db.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 (test-chosen names)
    finally:
        db.close()


def wait_for_rows(db_path: str, table: str, holds, what: str, timeout: float = 60.0) -> list[sqlite3.Row]:
    """Until ``holds(rows of table)``: the ledger is another process's file, so this polls it; the
    bound is a backstop for a writer that never gets there, generous because load only delays it."""
    deadline = time.monotonic() + timeout
    while True:
        rows = ledger_rows(db_path, table)
        if holds(rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} in {table}")
        time.sleep(0.02)


def inbox_high_water(db_path: str) -> int:
    """The highest sequence number the service's durable inbox ever gave a webhook (0: none). It
    only grows: a webhook stored and already handled still counts."""
    rows = ledger_rows(f"{db_path}.inbox", "sqlite_sequence")
    return max((int(r["seq"]) for r in rows if r["name"] == "inbox"), default=0)

