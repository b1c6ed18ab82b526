"""Adapters from the concierge's ports to the wire protocols of real services (httpx-based)."""
