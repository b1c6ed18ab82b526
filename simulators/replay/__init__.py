"""Scenario replay: load scenario files, run them against the simulated world, report."""
