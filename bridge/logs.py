"""structlog JSON logging with a request id per call and secrets redacted last."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from bridge import redact


def configure_logging(level: str = "info", stream: Any = None) -> None:
    logging.basicConfig(format="%(message)s", stream=stream or sys.stderr, level=level.upper(), force=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact.structlog_processor,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str = "s3bridge") -> Any:
    return structlog.get_logger(name)
