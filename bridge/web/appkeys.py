"""Typed keys for what the app factory stores on the application."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from bridge.backends.directory import ServerDirectory
from bridge.config import Config
from bridge.functions.context import FunctionSpec, Resources
from bridge.functions.panel.entry import PanelRuntime
from bridge.web.admission import Admission
from bridge.web.signing import RequestVerifier
from bridge.whmcs.db import Database

CONFIG = web.AppKey("config", Config)
DB = web.AppKey("db", Database)
VERIFIER = web.AppKey("verifier", RequestVerifier)
RESOURCES = web.AppKey("resources", Resources)
FUNCTIONS = web.AppKey("functions", dict[str, FunctionSpec])
SERVERS = web.AppKey("servers", ServerDirectory)
ADMISSION = web.AppKey("admission", Admission)
CLOCK: web.AppKey[Callable[[], float]] = web.AppKey("clock")
PANEL = web.AppKey("panel", PanelRuntime)
BODY_TIMEOUT = web.AppKey("body_timeout", float)  # seconds the listener waits for a whole request body
