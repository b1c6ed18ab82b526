"""Import of a production team's JSON golden scenarios into scenario YAML (`concierge-sim import golden`)."""
