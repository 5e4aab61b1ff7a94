"""The embedded default cluster: build a real control plane from upstream Go modules and run it with kwokctl."""
