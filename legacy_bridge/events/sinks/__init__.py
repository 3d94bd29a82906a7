"""Event sinks: change events published to message brokers as CloudEvents (see base.py)."""
