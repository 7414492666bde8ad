"""Which module functions the daemon serves, and the params each one requires."""

from __future__ import annotations

from bridge.functions.connection import test_connection
from bridge.functions.context import FunctionSpec

SERVER_PARAMS = ("serverusername", "serverpassword")

FUNCTIONS: dict[str, FunctionSpec] = {
    spec.name: spec for spec in (FunctionSpec("TestConnection", test_connection, required=SERVER_PARAMS),)
}
