"""The `ramp` and `kubectl-ramp` command line."""
