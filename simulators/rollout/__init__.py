"""Population runs of the concierge for the runbook's Phases 1-3: simulate, measure, gate."""
