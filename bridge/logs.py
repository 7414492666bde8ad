"""structlog JSON logs, one line per event, with the request id bound per call and secrets redacted last.

Standard-library loggers (aiohttp, urllib3, asyncio) go through the same processors, so every line is JSON and
every line is redacted.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

from bridge import redact

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact.structlog_processor,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # Library chatter stays out unless it is a warning: one line per admin call is ours to write.
    for noisy in ("urllib3", "asyncio", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str = "s3bridge") -> Any:
    return structlog.get_logger(name)


def request_id() -> str:
    """The id of the request being handled (bound by the web layer), "" outside one (the cron's loop, a listener)."""
    return str(structlog.contextvars.get_contextvars().get("request_id", ""))
