"""`s3bridge serve | migrate | check | grants | token | reconcile`."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import socket
import sys
from collections.abc import Sequence

from bridge import __version__, redact
from bridge.app import LISTENERS, running
from bridge.config import Config, ConfigError, default_path, load_config
from bridge.domain.drift import EXIT_UNKNOWN, exit_status
from bridge.errors import BridgeError
from bridge.functions.panel.tokens import create_admin_token
from bridge.logs import configure_logging, get_logger
from bridge.views.drift_text import describe
from bridge.web.module_client import call_daemon
from bridge.whmcs.db import Database, connect
from bridge.whmcs.grants import grant_statements
from bridge.whmcs.migrations import migrate
from bridge.whmcs.panel_store import PanelStore


def sd_notify(state: str) -> None:
    """Tell systemd (Type=notify) our state; a no-op outside systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.connect(address)
        s.sendall(state.encode())


async def serve(config: Config, only: Sequence[str] = ()) -> None:
    """Run the listeners (`bridge.app.running` starts and stops everything, in order) until SIGTERM or SIGINT."""
    log = get_logger("s3bridge")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with running(config, only) as guards:
        # What start-up made (modules, config, clients: about 80,000 objects) lives as long as the process: out of
        # the collector's way, a full collection no longer walks them (about 50 ms of one usage cycle each time the
        # cycle's own objects trigger one: bench/usage.py).
        gc.freeze()
        log.info("ready", listeners=sorted(guards), version=__version__, pid=os.getpid())
        sd_notify("READY=1")
        await stop.wait()
        sd_notify("STOPPING=1")
    log.info("stopped")


async def token_command(config: Config, args: argparse.Namespace) -> str:
    db = Database(config.whmcs_db)
    try:
        store = PanelStore(db)
        if args.what == "create":
            return await create_admin_token(store, args.name)
        if not await store.revoke_token(args.token_id, None):
            raise BridgeError(f"no active token {args.token_id}")
        return f"token {args.token_id} revoked"
    finally:
        db.close()


async def reconcile_command(config: Config, args: argparse.Namespace) -> int:
    """Ask the running daemon to reconcile one server (it holds the server's credentials from WHMCS's calls)."""
    params = {"serverid": args.server, "bridge_fix": args.fix, "delete": args.delete or []}
    result = await call_daemon(config.daemon.listen, config.daemon.secrets[0], "Reconcile", params, wait_s=args.timeout)
    print(json.dumps(result, indent=2, sort_keys=True) if args.json else describe(result))
    left = [(f["kind"], f["expected"]) for f in result["findings"] if f.get("outcome") != "repaired"]
    return exit_status(left)


def _load(path: str | None) -> Config:
    return load_config(path or default_path())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="s3bridge", description="WHMCS S3 bridge daemon")
    parser.add_argument("--version", action="version", version=f"s3bridge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("serve", "run the daemon"),
        ("migrate", "create or update the mod_s3bridge_* tables in the WHMCS database"),
        ("check", "validate the config file and reach the WHMCS database"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--config", help="TOML config file (default: $S3BRIDGE_CONFIG or /etc/s3bridge/s3bridge.toml)")
        if name == "serve":
            p.add_argument(
                "--only",
                action="append",
                choices=LISTENERS,
                default=[],
                help="run only this listener (repeatable); default: every configured one",
            )
    g = sub.add_parser("grants", help="print the least-privilege GRANT statements for the daemon's DB user")
    g.add_argument("--config", help="TOML config file (the database name and user are read from it)")
    g.add_argument("--host", default="localhost", help="the host part of the MySQL account (default: localhost)")
    t = sub.add_parser("token", help="panel API tokens: create an admin token, revoke any token")
    t.add_argument("--config", help="TOML config file")
    tsub = t.add_subparsers(dest="what", required=True)
    tc = tsub.add_parser("create", help="print a new token (shown once; only its hash is stored)")
    tc.add_argument("--admin", action="store_true", required=True, help="an administrator's token (required)")
    tc.add_argument("--name", default="", help="a label for the token")
    tr = tsub.add_parser("revoke", help="revoke a token by its id (the 12 hex digits after s3b_x_)")
    tr.add_argument("token_id")
    for sp in (tc, tr):
        sp.add_argument("--config", default=argparse.SUPPRESS, help="TOML config file")
    r = sub.add_parser(
        "reconcile",
        help="compare a storage server with WHMCS (exit 0 clean, 1 drift, 2 a suspended service can still write,"
        " 3 could not run)",
    )
    r.add_argument("--config", help="TOML config file (the daemon's address and secret are read from it)")
    r.add_argument("--server", type=int, required=True, help="the WHMCS server id (Setup > Servers)")
    r.add_argument("--json", action="store_true", help="print the findings as JSON")
    r.add_argument("--fix", choices=("none", "safe"), default="none", help="safe: apply what WHMCS says")
    r.add_argument(
        "--delete",
        action="append",
        metavar="ACCOUNT",
        help="delete this orphan account's data (type its name; only after the grace period); repeatable",
    )
    r.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the daemon (default 600)")
    args = parser.parse_args(argv)

    try:
        config = _load(args.config)
    except ConfigError as e:
        print(f"s3bridge: config error: {e}", file=sys.stderr)
        return EXIT_UNKNOWN if args.command == "reconcile" else 2
    redact.register_static(config.secret_values())
    configure_logging(config.daemon.log_level)

    if args.command == "reconcile":
        try:
            return asyncio.run(reconcile_command(config, args))
        except BridgeError as e:
            print(f"s3bridge: {redact.scrub(e.message)}", file=sys.stderr)
            return EXIT_UNKNOWN
    try:
        if args.command == "serve":
            asyncio.run(serve(config, args.only))
        elif args.command == "migrate":
            conn = connect(config.whmcs_db)
            try:
                applied = migrate(conn)
            finally:
                conn.close()
            if applied:
                for m in applied:
                    print(f"applied migration {m.version}: {m.name}")
            else:
                print("database schema is up to date; nothing to do")
        elif args.command == "grants":
            for statement in grant_statements(config.whmcs_db.database, config.whmcs_db.user, args.host):
                print(statement + ";")
        elif args.command == "token":
            print(asyncio.run(token_command(config, args)))
        elif args.command == "check":
            conn = connect(config.whmcs_db)
            conn.close()
            print(f"config {config.source} is valid; WHMCS database reachable")
    except BridgeError as e:
        print(f"s3bridge: {redact.scrub(e.message)}", file=sys.stderr)
        return 1
    except ValueError as e:
        print(f"s3bridge: {redact.scrub(str(e))}", file=sys.stderr)
        return 2
    return 0
