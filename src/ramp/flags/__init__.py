"""Progressive feature flags: flagd-format definitions and their evaluation (pure), the OFREP server and the flag
stores it reads (a file, or FeatureFlags through an informer), the FeatureFlag reconciler and its pure plan, and the
flagd definition a FeatureFlag stands for."""
