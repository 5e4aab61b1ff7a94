"""User actions on rollouts (promote, abort, retry, restart, undo, set image, pause): the patches upstream's kubectl plugin
sends, shared by the CLI and the dashboard."""
