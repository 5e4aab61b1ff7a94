"""Unit tests of the Experiment controller's pure decisions."""
