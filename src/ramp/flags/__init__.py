"""Progressive feature flags: the FeatureFlag reconciler and its pure plan, the flagd definition a FeatureFlag
stands for, and the cluster-backed flag store the OFREP server reads."""
