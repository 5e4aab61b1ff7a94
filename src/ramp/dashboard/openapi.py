"""The OpenAPI 3.1 document of the dashboard's JSON API (`GET /api/v1/openapi.json`), written out by hand so it
says what `ramp.dashboard.api` answers, in its words. Pure data.
"""

from __future__ import annotations

from typing import Any

from ramp import __version__

_NS = {
    "name": "namespace",
    "in": "path",
    "required": True,
    "description": "A namespace's name (RFC 1123 label); anything else is answered 400 naming the field",
    "schema": {"type": "string", "maxLength": 63, "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
}
_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "A Rollout's name (RFC 1123 subdomain); anything else is answered 400 naming the field",
    "schema": {"type": "string", "maxLength": 253},
}
_TICKET = {
    "name": "ticket",
    "in": "query",
    "description": "A single-use ticket from POST /api/v1/stream-ticket (instead of the Authorization header)",
    "schema": {"type": "string"},
}
_ERROR = {
    "description": "Refused or failed, with the reason in plain words",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_UNAUTHORIZED = {"401": {**_ERROR, "description": "No valid bearer token"}}


def _json(ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


def _stream(event: str) -> dict[str, Any]:
    return {
        "description": f"Server-sent events: `{event}` at once and after every change (from watches)",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }


def _action(summary: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": [_NS, _NAME],
        "responses": {
            "200": _json("#/components/schemas/ActionResult", "Done; the message the CLI prints"),
            "400": _ERROR,
            **_UNAUTHORIZED,
            "403": {**_ERROR, "description": "Forbidden by the cluster's RBAC"},
            "404": {**_ERROR, "description": "No such Rollout"},
            "409": {**_ERROR, "description": "Changed by someone else meanwhile; try again"},
            "413": {**_ERROR, "description": "The body is larger than 64 KiB"},
        },
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return {"post": operation}


def build_openapi() -> dict[str, Any]:
    """The document."""
    actions = {
        "promote": _action("Promote a paused rollout one step (`ramp promote`)"),
        "promote-full": _action("Skip the remaining steps (`ramp promote --full`)"),
        "abort": _action("Abort the update (`ramp abort`)"),
        "retry": _action("Retry an aborted update (`ramp retry rollout`)"),
        "pause": _action("Pause the rollout (`ramp pause`)"),
        "restart": _action("Restart its pods (`ramp restart`)"),
        "undo": _action(
            "Roll back to a revision (`ramp undo --to-revision`)",
            {"type": "object", "properties": {"revision": {"type": "integer", "minimum": 0}}},
        ),
        "set-image": _action(
            "Set container images (`ramp set image`)",
            {
                "type": "object",
                "required": ["images"],
                "properties": {"images": {"type": "object", "additionalProperties": {"type": "string"}}},
            },
        ),
    }
    base = "/api/v1/namespaces/{namespace}/rollouts"
    paths: dict[str, Any] = {
        "/api/v1/config": {"get": {"summary": "Default namespace and access mode", "responses": {"200": {}}}},
        "/api/v1/namespaces": {
            "get": {"summary": "Namespaces to switch to", "responses": {"200": {}, **_UNAUTHORIZED}}
        },
        base: {
            "get": {
                "summary": "List the Rollouts of a namespace",
                "parameters": [_NS],
                "responses": {"200": _json("#/components/schemas/RolloutList", "The rows"), **_UNAUTHORIZED},
            }
        },
        f"{base}/watch": {
            "get": {
                "summary": "Watch the list",
                "parameters": [_NS, _TICKET],
                "responses": {"200": _stream("rollouts"), **_UNAUTHORIZED},
            }
        },
        f"{base}/{{name}}": {
            "get": {
                "summary": "One Rollout: summary, revisions, steps, containers, analysis runs",
                "parameters": [_NS, _NAME],
                "responses": {
                    "200": _json("#/components/schemas/RolloutDetail", "The rollout"),
                    **_UNAUTHORIZED,
                    "404": _ERROR,
                },
            }
        },
        f"{base}/{{name}}/watch": {
            "get": {
                "summary": "Watch one Rollout",
                "parameters": [_NS, _NAME, _TICKET],
                "responses": {"200": _stream("rollout"), **_UNAUTHORIZED},
            }
        },
        "/api/v1/stream-ticket": {
            "post": {
                "summary": "A single-use ticket, valid for 30 s, that opens one event stream (`?ticket=`)",
                "responses": {
                    "200": {
                        "description": "The ticket",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"ticket": {"type": "string"}, "expiresIn": {"type": "number"}},
                                }
                            }
                        },
                    },
                    **_UNAUTHORIZED,
                },
            }
        },
        "/api/v1/audit": {"get": {"summary": "The newest actions: who, what, when", "responses": {"200": {}}}},
    }
    for verb, item in actions.items():
        paths[f"{base}/{{name}}/{verb}"] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": "Ramp dashboard API", "version": __version__},
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "reason": {"type": "string"}},
                },
                "ActionResult": {
                    "type": "object",
                    "properties": {"ok": {"type": "boolean"}, "message": {"type": "string"}},
                },
                "RolloutSummary": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "namespace": {"type": "string"},
                        "phase": {"enum": ["Healthy", "Progressing", "Paused", "Degraded"]},
                        "message": {"type": "string"},
                        "strategy": {"type": "string"},
                        "step": {"type": "string"},
                        "setWeight": {"type": "string"},
                        "actualWeight": {"type": "string"},
                        "images": {"type": "array", "items": {"type": "object"}},
                        "needsAttention": {"type": "boolean"},
                    },
                },
                "RolloutList": {
                    "type": "object",
                    "properties": {
                        "namespace": {"type": "string"},
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/RolloutSummary"}},
                    },
                },
                "RolloutDetail": {
                    "type": "object",
                    "properties": {
                        "summary": {"$ref": "#/components/schemas/RolloutSummary"},
                        "view": {"type": "object", "description": "The `ramp get rollout` tree"},
                        "containers": {"type": "array", "items": {"type": "object"}},
                        "steps": {"type": "array", "items": {"type": "object"}},
                        "analysisRuns": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
        },
    }
