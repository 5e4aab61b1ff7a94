"""User actions on rollouts (promote, abort, retry, restart, undo, set image, pause, terminate): the writes
upstream's kubectl plugin sends, shared by the CLI and the dashboard.

Each action is a plain async function taking a `ramp.kube.client.KubeClient`, a namespace and a name (plus
options); it raises `ActionError` with a message that names the object and the fix. Modules: `promote`,
`control` (abort, retry, pause, restart), `undo`, `set_image`, `experiments` (retry, terminate),
`flags` (FeatureFlag promote, abort, retry), with
`writes` (status-subresource patches with upstream's fallback), `ownership` and `errors`.
"""

from ramp.actions.control import abort, pause, restart, retry_rollout
from ramp.actions.errors import ActionError
from ramp.actions.experiments import retry_experiment, terminate_analysis_run, terminate_experiment
from ramp.actions.flags import abort_flag, get_flag, promote_flag, retry_flag
from ramp.actions.promote import PromotionPlan, plan_promotion, promote
from ramp.actions.set_image import ImageUpdate, set_image
from ramp.actions.undo import UndoResult, undo

__all__ = [
    "ActionError",
    "ImageUpdate",
    "PromotionPlan",
    "UndoResult",
    "abort",
    "abort_flag",
    "get_flag",
    "pause",
    "plan_promotion",
    "promote",
    "promote_flag",
    "restart",
    "retry_experiment",
    "retry_flag",
    "retry_rollout",
    "set_image",
    "terminate_analysis_run",
    "terminate_experiment",
    "undo",
]
