"""The concierge as a real webhook service: Meta's webhook contract over HTTP (Starlette on
uvicorn), configuration from the environment, a durable inbox, one writer thread driving
``concierge.engine.Concierge`` and a wall-clock scheduler for its timers. See docs/service.md.

``service`` may import ``concierge`` and the production-shaped adapters (``simulators.adapters``,
the vendor fixture loader); never the fakes of the simulated world (import-linter enforces it).
"""
