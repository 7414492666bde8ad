"""Typed keys for what the app factory stores on the application."""

from __future__ import annotations

from aiohttp import web

from bridge.config import Config
from bridge.db import Database
from bridge.functions.context import FunctionSpec, Services
from bridge.signing import RequestVerifier

CONFIG = web.AppKey("config", Config)
DB = web.AppKey("db", Database)
VERIFIER = web.AppKey("verifier", RequestVerifier)
SERVICES = web.AppKey("services", Services)
FUNCTIONS = web.AppKey("functions", dict[str, FunctionSpec])
