"""Fixtures that start real processes on free loopback ports, and always stop them."""

from .emulator_proc import emulator, emulator_factory, shared_emulator, webhook_receiver  # noqa: F401
from .service_proc import graph_receiver, service_env, service_factory  # noqa: F401
