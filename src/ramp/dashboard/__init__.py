"""Ramp's web dashboard: the rollouts of a namespace live, each rollout's page with its revisions, steps and
analysis charts, and the CLI's actions behind a token.

`app` (the Starlette app and the page's static files), `api` (the JSON API under /api/v1), `live` (informer
caches and change notifications), `serialize` (views as JSON), `auth` (token and audit log), `openapi`.
Started by `ramp.cli.dashboard`; reads through `ramp.views`, writes through `ramp.actions`.
"""
