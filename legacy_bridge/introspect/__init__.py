"""introspect."""
