"""contracts of legacy-bridge (installed as legacy_bridge.contracts)."""
