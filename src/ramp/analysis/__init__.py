"""Analysis: the AnalysisRun reconciler, the assessment of measurements (pure), and the condition language.

Providers (`ramp.providers`) take the measurements; this package decides what they mean and when to take the next.
"""
