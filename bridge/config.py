"""The daemon's TOML configuration: parsed once at start, validated, frozen.

A missing or wrong key raises ConfigError whose message is one line naming the key; the CLI prints it and exits 2.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_CONFIG_PATH = "/etc/s3bridge/s3bridge.toml"
SOURCE_EMAIL_TEMPLATES = Path(__file__).resolve().parent.parent / "email_templates"  # in a source checkout
MIN_SECRET_LENGTH = 16


class ConfigError(Exception):
    """One line naming the file, the key and the problem (never a secret's value)."""


@dataclass(frozen=True)
class Listen:
    host: str = "127.0.0.1"
    port: int = 8750
    unix_path: str | None = None

    def describe(self) -> str:
        return f"unix:{self.unix_path}" if self.unix_path else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ListenerLimits:
    """What one listener lets a connection do before it has proven anything (README "Public listeners")."""

    header_timeout: float = 10.0  # seconds from connecting (or the previous answer) to a complete request head
    body_timeout: float = 30.0  # seconds to receive a request's whole body
    max_connections: int = 1024  # open connections at once; more are closed as they arrive
    keepalive_timeout: float = 15.0  # an idle kept-alive connection is closed after this


@dataclass(frozen=True)
class DaemonConfig:
    listen: Listen
    secrets: tuple[str, ...]
    shutdown_timeout: float = 30.0
    log_level: str = "info"
    email_templates: str | None = None  # default: the email_templates/ folder shipped beside the package
    # Keys sealing pending secrets in the database (first seals, all open); empty: derived from `secrets`.
    state_keys: tuple[str, ...] = ()
    lock_wait: float = 60.0  # seconds a call waits for another daemon's call on the same service
    limits: ListenerLimits = ListenerLimits(max_connections=4096)  # the shim's listener


@dataclass(frozen=True)
class DatabaseConfig:
    database: str
    user: str
    password: str
    host: str = "127.0.0.1"
    port: int = 3306
    unix_socket: str | None = None
    pool_size: int = 8
    connect_timeout: float = 5.0


@dataclass(frozen=True)
class BackendSettings:
    """How the daemon talks to storage servers (the servers themselves come from WHMCS with each call)."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_concurrency: int = 16  # admin calls in flight across all servers (thread pool size)
    max_crypto_concurrency: int = 2  # encrypted admin calls (each derives a ~64 MiB Argon2id key)
    ca_file: str | None = None  # extra CA bundle for storage servers with a private CA
    listing_budget: float = 10.0  # seconds an exact usage listing may take in one call (Recalculate, ChangePackage)
    max_queued: int = 64  # module calls waiting per storage server beyond max_concurrency; past it: 503
    retry_after: int = 2  # seconds the 503 asks the shim to wait


@dataclass(frozen=True)
class ApiConfig:
    """`[api]`: the panel API's bearer-token listener, separate from the shim's (publish it behind a reverse proxy)."""

    listen: Listen
    search_budget: float = 2.0  # seconds a substring search of get_files may spend before it says it stopped
    presign_expiry: int = 300  # seconds a presigned download URL or upload form stays valid
    max_upload_bytes: int = 5 * 1024**3  # the largest object a presigned upload form accepts (S3's single PUT)
    limits: ListenerLimits = ListenerLimits()


@dataclass(frozen=True)
class WhmcsApiConfig:
    """`[whmcs_api]`: WHMCS's api.php and an API credential, for what the bearer-token way does inside WHMCS."""

    url: str
    identifier: str
    secret: str
    accesskey: str = ""
    timeout: float = 20.0


@dataclass(frozen=True)
class MeterConfig:
    """Traffic metering from MinIO's audit webhook, on a listener of its own (off when `listen` is None)."""

    listen: Listen | None = None
    url: str = ""  # how MinIO reaches the listener; default http://<listen>
    flush_interval: float = 0.0  # seconds a batch waits for more events; 0 = group commit (write when the last ended)
    flush_events: int = 5000  # ... or until this many are waiting
    dedupe_hours: int = 48  # request ids kept to drop MinIO's resends
    queue_dir: str = "/var/lib/minio/s3bridge-audit"  # on the MinIO host: where MinIO keeps entries while we are down
    queue_size: int = 1_000_000  # entries MinIO may keep there (batches of batch_size)
    batch_size: int = 100  # entries per POST
    limits: ListenerLimits = ListenerLimits(max_connections=256, body_timeout=60.0)

    @property
    def endpoint(self) -> str:
        if self.url:
            return self.url.rstrip("/")
        assert self.listen is not None
        return f"http://{self.listen.describe()}"


@dataclass(frozen=True)
class FleetConfig:
    """The operator's view: reconcile's grace period before an orphan's data may be deleted, and the Prometheus
    metrics listener (off when `metrics_listen` is None) with the addresses allowed to scrape it."""

    orphan_grace_hours: float = 72.0
    metrics_listen: Listen | None = None
    metrics_allow: tuple[str, ...] = ("127.0.0.1/32", "::1/128")


@dataclass(frozen=True)
class Config:
    daemon: DaemonConfig
    whmcs_db: DatabaseConfig
    backend: BackendSettings
    source: str = "<memory>"
    api: ApiConfig | None = None  # no [api] section: no bearer-token listener
    whmcs_api: WhmcsApiConfig | None = None
    meter: MeterConfig = MeterConfig()
    fleet: FleetConfig = FleetConfig()

    def secret_values(self) -> list[str]:
        extra = [self.whmcs_api.secret, self.whmcs_api.accesskey] if self.whmcs_api else []
        return [*self.daemon.secrets, *self.daemon.state_keys, self.whmcs_db.password, *(v for v in extra if v)]

    def sealing_materials(self) -> tuple[str, ...]:
        return self.daemon.state_keys or self.daemon.secrets


def default_path() -> str:
    return os.environ.get("S3BRIDGE_CONFIG", DEFAULT_CONFIG_PATH)


def load_config(path: str | os.PathLike[str]) -> Config:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {p} does not exist") from None
    except OSError as e:
        raise ConfigError(f"config file {p} cannot be read: {e.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {p} is not valid TOML: {e}") from None
    return parse_config(data, source=str(p))


class _Section:
    """Typed access to one TOML table; every error names `[section] key`."""

    def __init__(self, data: dict[str, Any], name: str, source: str, allowed: set[str]) -> None:
        self.data, self.name, self.source = data, name, source
        unknown = sorted(set(data) - allowed)
        if unknown:
            self.fail(unknown[0], "is not a known key (typo?)")

    def fail(self, key: str, problem: str) -> None:
        raise ConfigError(f"{self.source}: [{self.name}] {key} {problem}")

    def get(self, key: str, kind: type, default: Any = ..., *, required: bool = False) -> Any:
        if key not in self.data:
            if required or default is ...:
                self.fail(key, "is missing")
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(key, f"must be {kind.__name__}, got {type(value).__name__}")
        return value

    def positive(self, key: str, kind: type, default: Any) -> Any:
        value = self.get(key, kind, default)
        if value <= 0:
            self.fail(key, f"must be greater than 0, got {value}")
        return value


def _table(data: dict[str, Any], name: str, source: str, *, required: bool) -> dict[str, Any]:
    if name not in data:
        if required:
            raise ConfigError(f"{source}: section [{name}] is missing")
        return {}
    value = data[name]
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [{name}] must be a table")
    return value


def parse_listen(value: str, section: _Section) -> Listen:
    if value.startswith("unix:"):
        path = value[len("unix:") :]
        if not path.startswith("/"):
            section.fail("listen", f'must be "unix:/absolute/path", got "{value}"')
        return Listen(unix_path=path)
    host, sep, port_s = value.rpartition(":")
    if not sep or not host or not port_s.isdigit() or not 0 < int(port_s) < 65536:
        section.fail("listen", f'must be "host:port" or "unix:/path", got "{value}"')
    return Listen(host=host.strip("[]"), port=int(port_s))


LIMIT_KEYS = {"header_timeout", "body_timeout", "max_connections", "keepalive_timeout"}


def parse_limits(section: _Section, default: ListenerLimits) -> ListenerLimits:
    """A listener's limits from its section (`header_timeout`, `body_timeout`, `max_connections`,
    `keepalive_timeout`), each defaulting to the listener's own default."""
    return ListenerLimits(
        header_timeout=section.positive("header_timeout", float, default.header_timeout),
        body_timeout=section.positive("body_timeout", float, default.body_timeout),
        max_connections=section.positive("max_connections", int, default.max_connections),
        keepalive_timeout=section.positive("keepalive_timeout", float, default.keepalive_timeout),
    )


def parse_config(data: dict[str, Any], source: str = "<memory>") -> Config:
    unknown = sorted(set(data) - {"daemon", "whmcs_db", "backend", "api", "whmcs_api", "meter", "fleet"})
    if unknown:
        raise ConfigError(f"{source}: section [{unknown[0]}] is not a known section (typo?)")

    d = _Section(
        _table(data, "daemon", source, required=True),
        "daemon",
        source,
        {"listen", "secrets", "shutdown_timeout", "log_level", "email_templates", "state_keys", "lock_wait"}
        | LIMIT_KEYS,
    )
    listen = parse_listen(d.get("listen", str, "127.0.0.1:8750"), d)
    secrets = d.get("secrets", list, required=True)
    if not secrets:
        d.fail("secrets", "must list at least one secret")
    for i, s in enumerate(secrets):
        if not isinstance(s, str):
            d.fail(f"secrets[{i}]", "must be a string")
        elif len(s) < MIN_SECRET_LENGTH:
            d.fail(f"secrets[{i}]", f"is too short ({len(s)} characters; at least {MIN_SECRET_LENGTH})")
    log_level = d.get("log_level", str, "info")
    if log_level not in {"debug", "info", "warning", "error"}:
        d.fail("log_level", f'must be one of debug, info, warning, error, got "{log_level}"')
    email_templates = d.get("email_templates", str, None)
    if email_templates is not None and not (Path(email_templates) / "_layout.html.j2").is_file():
        d.fail("email_templates", f"names {email_templates}, which holds no _layout.html.j2")
    if email_templates is None and not (SOURCE_EMAIL_TEMPLATES / "_layout.html.j2").is_file():
        d.fail(
            "email_templates",
            "is missing and no email_templates/ folder sits beside the package: copy the"
            " source tree's email_templates/ (e.g. to /etc/s3bridge/email_templates) and name it",
        )
    state_keys = d.get("state_keys", list, [])
    for i, s in enumerate(state_keys):
        if not isinstance(s, str) or len(s) < 32:
            d.fail(f"state_keys[{i}]", "must be a string of at least 32 characters (`openssl rand -hex 32`)")
    daemon = DaemonConfig(
        listen=listen,
        secrets=tuple(secrets),
        shutdown_timeout=d.positive("shutdown_timeout", float, 30.0),
        log_level=log_level,
        email_templates=email_templates,
        state_keys=tuple(state_keys),
        lock_wait=d.positive("lock_wait", float, 60.0),
        limits=parse_limits(d, DaemonConfig.limits),
    )

    w = _Section(
        _table(data, "whmcs_db", source, required=True),
        "whmcs_db",
        source,
        {"host", "port", "user", "password", "database", "unix_socket", "pool_size", "connect_timeout"},
    )
    unix_socket = w.get("unix_socket", str, None)
    port = w.get("port", int, 3306)
    if not 0 < port < 65536:
        w.fail("port", f"must be 1-65535, got {port}")
    db = DatabaseConfig(
        host=w.get("host", str, "127.0.0.1", required=unix_socket is None),
        port=port,
        user=w.get("user", str, required=True),
        password=w.get("password", str, required=True),
        database=w.get("database", str, required=True),
        unix_socket=unix_socket,
        pool_size=w.positive("pool_size", int, 8),
        connect_timeout=w.positive("connect_timeout", float, 5.0),
    )

    b = _Section(
        _table(data, "backend", source, required=False),
        "backend",
        source,
        {"connect_timeout", "read_timeout", "max_concurrency", "max_crypto_concurrency", "ca_file", "listing_budget"}
        | {"max_queued", "retry_after"},
    )
    ca_file = b.get("ca_file", str, None)
    if ca_file is not None and not Path(ca_file).is_file():
        b.fail("ca_file", f"names {ca_file}, which is not a file")
    backend = BackendSettings(
        connect_timeout=b.positive("connect_timeout", float, 5.0),
        read_timeout=b.positive("read_timeout", float, 30.0),
        max_concurrency=b.positive("max_concurrency", int, 16),
        max_crypto_concurrency=b.positive("max_crypto_concurrency", int, 2),
        ca_file=ca_file,
        listing_budget=b.positive("listing_budget", float, 10.0),
        max_queued=b.positive("max_queued", int, 64),
        retry_after=b.positive("retry_after", int, 2),
    )
    return Config(
        daemon=daemon,
        whmcs_db=db,
        backend=backend,
        source=source,
        api=_api(data, source),
        whmcs_api=_whmcs_api(data, source),
        meter=parse_meter(data, source),
        fleet=parse_fleet(data, source),
    )


def _api(data: dict[str, Any], source: str) -> ApiConfig | None:
    if "api" not in data:
        return None
    a = _Section(_table(data, "api", source, required=True), "api", source,
                 {"listen", "search_budget", "presign_expiry", "max_upload_bytes"} | LIMIT_KEYS)  # fmt: skip
    return ApiConfig(
        listen=parse_listen(a.get("listen", str, required=True), a),
        search_budget=a.positive("search_budget", float, 2.0),
        presign_expiry=_at_most(a, "presign_expiry", 300, MAX_PRESIGN_EXPIRY),
        max_upload_bytes=a.positive("max_upload_bytes", int, 5 * 1024**3),
        limits=parse_limits(a, ApiConfig.limits),
    )


MAX_PRESIGN_EXPIRY = 900  # a form or link outlives the moment it was issued; keep that short


def _at_most(section: _Section, key: str, default: int, most: int) -> int:
    value: int = section.positive(key, int, default)
    if value > most:
        section.fail(key, f"must be at most {most}, got {value}")
    return value


def _whmcs_api(data: dict[str, Any], source: str) -> WhmcsApiConfig | None:
    if "whmcs_api" not in data:
        return None
    w = _Section(_table(data, "whmcs_api", source, required=True), "whmcs_api", source,
                 {"url", "identifier", "secret", "accesskey", "timeout"})  # fmt: skip
    url = w.get("url", str, required=True)
    if not url.startswith(("http://", "https://")) or not url.endswith("api.php"):
        w.fail("url", f'must be the http(s):// URL of WHMCS\'s includes/api.php, got "{url}"')
    return WhmcsApiConfig(
        url=url,
        identifier=w.get("identifier", str, required=True),
        secret=w.get("secret", str, required=True),
        accesskey=w.get("accesskey", str, ""),
        timeout=w.positive("timeout", float, 20.0),
    )


def _not_negative(section: _Section, key: str, default: float) -> float:
    value: float = section.get(key, float, default)
    if value < 0:
        section.fail(key, f"must be 0 or more, got {value}")
    return value


def parse_meter(data: dict[str, Any], source: str) -> MeterConfig:
    m = _Section(
        _table(data, "meter", source, required=False),
        "meter",
        source,
        {"listen", "url", "flush_interval", "flush_events", "dedupe_hours", "queue_dir", "queue_size", "batch_size"}
        | LIMIT_KEYS,
    )
    if "listen" not in m.data:
        return MeterConfig()
    listen = parse_listen(m.get("listen", str), m)
    if listen.unix_path:
        m.fail("listen", "must be host:port: MinIO posts audit entries over HTTP")
    url = m.get("url", str, "")
    if url and not url.startswith(("http://", "https://")):
        m.fail("url", f'must start with http:// or https://, got "{url}"')
    queue_dir = m.get("queue_dir", str, MeterConfig.queue_dir)
    if not queue_dir.startswith("/") or any(c.isspace() for c in queue_dir):
        m.fail("queue_dir", f'must be an absolute path without spaces, got "{queue_dir}"')
    return MeterConfig(
        listen=listen,
        url=url,
        flush_interval=_not_negative(m, "flush_interval", 0.0),
        flush_events=m.positive("flush_events", int, 5000),
        dedupe_hours=m.positive("dedupe_hours", int, 48),
        queue_dir=queue_dir,
        queue_size=m.positive("queue_size", int, 1_000_000),
        batch_size=m.positive("batch_size", int, 100),
        limits=parse_limits(m, MeterConfig.limits),
    )


def parse_fleet(data: dict[str, Any], source: str) -> FleetConfig:
    f = _Section(
        _table(data, "fleet", source, required=False),
        "fleet",
        source,
        {"orphan_grace_hours", "metrics_listen", "metrics_allow"},
    )
    listen = None
    if "metrics_listen" in f.data:
        listen = parse_listen(f.get("metrics_listen", str), f)
        if listen.unix_path:
            f.fail("metrics_listen", "must be host:port: Prometheus scrapes over HTTP")
    allow: list[Any] = f.get("metrics_allow", list, list(FleetConfig.metrics_allow))
    nets: list[str] = []
    for item in allow:
        try:
            nets.append(str(ipaddress.ip_network(str(item), strict=False)))
        except ValueError:
            f.fail("metrics_allow", f'holds "{item}", which is not an address or network such as 10.0.0.0/8')
    return FleetConfig(
        orphan_grace_hours=_not_negative(f, "orphan_grace_hours", 72.0),
        metrics_listen=listen,
        metrics_allow=tuple(nets),
    )
