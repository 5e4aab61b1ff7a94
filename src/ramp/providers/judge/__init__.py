"""Ramp's statistical canary judge (Kayenta's method), a metric provider beyond upstream's.

A metric selects it with `provider: {plugin: {"ramp/judge": {...}}}`, which upstream's CRD accepts as an opaque
plugin config. Modules: `statistics` (Hodges-Lehmann shift and effect size), `classify` (one metric: Pass,
High, Low, Nodata), `score` (groups, weights, thresholds, intervals), `config` (the plugin's settings) and
`provider` (queries Prometheus and returns the decided phase). Only `provider` does I/O.
"""

from ramp.providers.judge.config import PLUGIN_NAME, JudgeConfig, parse_judge_config
from ramp.providers.judge.provider import JudgeProvider

__all__ = ["PLUGIN_NAME", "JudgeConfig", "JudgeProvider", "parse_judge_config"]
