"""The concierge under test: a pure core (no I/O, no wall clock) driven through ``concierge.ports``."""

__version__ = "0.1.0"
