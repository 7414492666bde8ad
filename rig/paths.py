"""Where the rig keeps things."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("S3BRIDGE_CACHE", Path.home() / ".cache" / "s3bridge"))
SCHEMA_SQL = REPO / "rig" / "whmcs_schema.sql"
SHIM_DIR = REPO / "hooks_php_shim" / "modules" / "servers" / "s3bridge"
STANDIN = REPO / "rig" / "whmcs_standin" / "standin.php"
