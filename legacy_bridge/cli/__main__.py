"""``python -m legacy_bridge.cli``: the ``legacy-bridge`` command."""

from legacy_bridge.cli import main

main()
