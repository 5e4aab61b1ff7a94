"""The Rollout reconciler: snapshot, canary steps, ReplicaSets, status (one write)."""
