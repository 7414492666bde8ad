"""What a module function receives and returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bridge.backends.base import BackendFactory
from bridge.db import Database
from bridge.params import Params


@dataclass
class Services:
    """The resources a use case may use; built by the app factory, faked nowhere."""

    db: Database
    backend_for: BackendFactory


@dataclass
class Outcome:
    result: Any
    effects: list[dict[str, Any]] = field(default_factory=list)


Handler = Callable[[Services, Params], Awaitable[Outcome]]


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    handler: Handler
    required: tuple[str, ...] = ()
