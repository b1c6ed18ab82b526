"""The front door: ``concierge-sim`` and its gates, above the scenario replay (``replay/``) and the
rollout simulator (``rollout/``). The only package that imports both (an import contract)."""
