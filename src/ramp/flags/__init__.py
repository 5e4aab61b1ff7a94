"""Feature flags: flagd-format definitions, their evaluation (pure) and the OFREP server that serves them."""
