"""Structured log lines for long-running commands: `--logformat text|json`, `--loglevel debug|...|error`.

Code logs a short message plus fields through the standard library:
`log.info("leader acquired", extra={"lease": "argo-rollouts/argo-rollouts-controller-lock", "identity": id})`.
Text renders `2025-01-01T00:00:00.123Z INFO  leader acquired lease=argo-rollouts/... identity=...`;
JSON renders one object per line: `{"time": ..., "level": "info", "msg": "leader acquired", "lease": ...}`.
Used by `ramp.cli.controller`.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

LEVELS = {
    "trace": logging.DEBUG,  # logrus' levels, as upstream's --loglevel takes them
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
    "panic": logging.CRITICAL,
}

# Attributes every LogRecord has; anything else on a record came in through `extra=` and is a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
# Chatty libraries: httpx logs every request at INFO.
_QUIET = ("httpx", "httpcore", "asyncio")


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """`time LEVEL message key=value ...`; values with spaces or quotes are JSON-quoted."""

    def format(self, record: logging.LogRecord) -> str:
        level = "WARN" if record.levelno == logging.WARNING else record.levelname
        parts = [_timestamp(record), f"{level:<5}", record.getMessage()]
        parts += [f"{k}={_text_value(v)}" for k, v in record_fields(record).items()]
        line = " ".join(parts)
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, msg, logger, then the fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
            "logger": record.name,
        }
        for key, value in record_fields(record).items():
            doc.setdefault(key, value)
        if record.exc_info:
            doc["error_trace"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def configure_logging(level: str, fmt: str, stream: TextIO | None = None) -> None:
    """Install the formatter on the root logger; raises ValueError naming the bad flag value."""
    if level.lower() not in LEVELS:
        raise ValueError(f"--loglevel {level!r}: use one of debug, info, warn, error")
    fmt = fmt or "text"  # upstream's default is empty: its text format
    if fmt not in ("text", "json"):
        raise ValueError(f"--logformat {fmt!r}: use text or json")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(LEVELS[level.lower()])
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def _text_value(value: object) -> str:
    text = str(value)
    if not text or any(c in text for c in ' "=\n\t'):
        return json.dumps(text)
    return text
