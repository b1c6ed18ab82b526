"""Tests over real sockets on loopback: the concierge service and the Cloud API emulator as processes."""
