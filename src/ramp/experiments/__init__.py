"""The Experiment controller: ReplicaSets run side by side for a while, with analyses."""
