"""Fixtures for the Cloud API emulator as a real process on a free loopback port, stopped at teardown.

``emulator_factory(**options)`` starts one per call (options: ``webhook_url``, ``handshake``,
``retry_schedule``, ``delivery_timeout``, ``extra_args``); ``emulator`` is one started with the
defaults below and no subscriber yet (``emulator.subscribe(url)`` sets one, with the handshake);
``shared_emulator`` is one per test module.
``webhook_receiver`` is a loopback subscriber that knows the shared verify token.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulators.emulator.spawn import EmulatorProcess, start_emulator

from .webhook_receiver import WebhookReceiver

# The same secrets as the service fixtures' (service_proc.py): one world, one app.
SECRETS = dict(app_secret="sockets-app-secret", verify_token="sockets-verify-token",
               access_token="sockets-access-token", phone_number_id="106540352242922")
FAST_RETRIES = "0.05,0.1,0.2"  # tests must not wait for Meta's real backoff
FAST_TIMEOUT = 1.0


class EmulatorFactory:
    def __init__(self) -> None:
        self.started: list[EmulatorProcess] = []

    def __call__(self, *, webhook_url: str | None = None, handshake: bool = False,
                 retry_schedule: str = FAST_RETRIES, delivery_timeout: float = FAST_TIMEOUT,
                 extra_args: tuple[str, ...] = ()) -> EmulatorProcess:
        emulator = start_emulator(
            **SECRETS, webhook_url=webhook_url, handshake=handshake,
            extra_args=("--retry-schedule", retry_schedule, "--delivery-timeout", str(delivery_timeout),
                        "--timeout-hang", "3", *extra_args),
        )
        self.started.append(emulator)
        return emulator

    def stop_all(self) -> None:
        for emulator in self.started:
            emulator.stop()


@pytest.fixture
def emulator_factory() -> Iterator[EmulatorFactory]:
    factory = EmulatorFactory()
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture
def emulator(emulator_factory: EmulatorFactory) -> EmulatorProcess:
    return emulator_factory()


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[EmulatorProcess]:
    """One emulator for a whole test module (starting a process costs most of a second): tests
    sharing it use their own phones, and find their faults cleared."""
    factory = EmulatorFactory()
    try:
        yield factory()
    finally:
        factory.stop_all()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(SECRETS["verify_token"]).start()
    try:
        yield receiver
    finally:
        receiver.stop()
