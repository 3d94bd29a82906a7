"""facades of legacy-bridge (installed as legacy_bridge.facades)."""
