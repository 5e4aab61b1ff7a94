"""Read-only views of rollouts (the revision → ReplicaSet → pod tree, list rows), shared by the CLI and the dashboard."""
