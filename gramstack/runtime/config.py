"""The one place that reads ``GRAMSTACK_*`` variables and the optional TOML file.

Everything else receives a frozen :class:`Settings`; nothing reads the
environment at import time, so a test can build as many differently
configured apps in one process as it likes.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

ENV_PREFIX = "GRAMSTACK_"


class ConfigError(ValueError):
    """A setting is missing, malformed or out of range."""


# A memcached server as (host, port).
Address = tuple[str, int]
CacheBackend = Literal["memory", "memcached", "none"]
# An address or CIDR block ("10.0.0.0/8", "::1"); a bare address is a /32 or /128.
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _one_worker_per_core() -> int:
    # The cores this process may run on (a container's CPU set), not the
    # host's: more workers than cores only adds memory and context switches.
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 256))


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./var")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = field(default_factory=_one_worker_per_core)
    region: str = "local"
    database_url: str = ""  # empty: SQLite in WAL mode under data_dir
    # PostgreSQL followers, {region: dsn} in the order given (written
    # "region=dsn,region=dsn"); reads go to the follower of the home region
    # when it has caught up.
    follower_urls: Mapping[str, str] = field(default_factory=dict)
    max_follower_lag_s: float = 5.0
    follower_poll_s: float = 0.05  # how often followers' replay positions are read
    cache_backend: CacheBackend = "memory"
    memcached_servers: tuple[Address, ...] = ()  # written "host:port,host:port"
    memcached_gutter_servers: tuple[Address, ...] = ()
    cache_max_bytes: int = 64 * 1024 * 1024
    cache_ttl_s: int = 300
    # How old the explore ranking snapshot may get before a request takes a new one.
    explore_refresh_s: int = 60
    # Leases (one loader per cold key); off only to measure what they save.
    cache_leases: bool = True
    cache_lease_s: int = 10  # lease and stale-value lifetime
    memcached_timeout_s: float = 0.5
    # Embedded cache: how often each worker reads the invalidation outbox
    # (it also reads it before each request's first cached read).
    outbox_poll_s: float = 0.2
    outbox_retention_s: int = 600
    # The invalidation service (``gramstack invalidator``).
    invalidator_slot: str = "gramstack_invalidator"
    invalidator_host: str = "127.0.0.1"
    invalidator_metrics_port: int = 9187
    invalidator_log_every_s: float = 60.0
    request_deadline_s: float = 12.0
    max_upload_bytes: int = 20 * 1024 * 1024
    max_image_pixels: int = 50_000_000
    max_json_bytes: int = 64 * 1024
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    login_rate_per_minute: int = 30
    signup_rate_per_minute: int = 10
    job_poll_interval_s: float = 0.2
    # How long a claimed job is its worker's alone; a worker that dies holding
    # it lets the claim run out and another worker runs the job again. A
    # webhook delivery holds its job's claim while in flight: a claim shorter
    # than webhook_deadline_s may send a slow delivery twice (never zero times).
    job_claim_s: float = 60.0
    # Each server worker also runs the job queue (the embedded default); the
    # scaled setup turns it off and runs ``gramstack worker`` processes.
    run_jobs_in_server: bool = True
    log_level: str = "info"
    # Seconds after it starts that a worker freezes what it has built
    # (gc.freeze), so that full collections skip it.
    worker_gc_freeze_after_s: float = 60.0
    expose_backend_header: bool = False
    # Prometheus multiprocess directory: each worker process writes its
    # samples there and /metrics merges them. None: this process's own
    # registry alone. ``gramstack serve`` uses data_dir/metrics when unset.
    metrics_dir: Path | None = None
    # Fault bounds (issue 12). Every PostgreSQL call ends within
    # db_command_timeout_s (client side: connect, pool wait, each statement),
    # below the request deadline; the server cancels a statement itself after
    # db_statement_timeout_s, before the client gives up on the connection.
    # A node whose heartbeat goes unanswered for db_unresponsive_after_s is
    # hung: its calls fail at once (503) until it answers again.
    db_command_timeout_s: float = 5.0
    db_statement_timeout_s: float = 4.0
    db_unresponsive_after_s: float = 2.0
    # A backend outage answers 503 with this Retry-After.
    unavailable_retry_after_s: int = 2
    # Request line plus headers, bytes; past it the answer is 431.
    max_header_bytes: int = 64 * 1024
    # How often the invalidator reads its slot's lag (the metric's freshness).
    invalidator_slot_lag_every_s: float = 5.0
    # Edge of the HTTP layer (issue 12). X-Forwarded-For (and -Proto) count
    # only when the connection comes from one of trusted_proxies (addresses
    # or CIDR blocks, written "10.0.0.1,10.1.0.0/16"); by default nobody is
    # trusted and the client address is the socket's peer, so the signup and
    # login rate limits cannot be dodged by inventing forwarded addresses.
    # cookie_secure marks the session and CSRF cookies Secure (set it when
    # the site is served over HTTPS, directly or behind a TLS proxy).
    trusted_proxies: tuple[Network, ...] = ()
    cookie_secure: bool = False
    # Regions (issue 13). Every region named here has its own regional store
    # (a SQLite file under data_dir/regions embedded, or the PostgreSQL
    # cluster of regional_urls), its own cache pool and, scaled out, its own
    # follower of the global primary; ``region`` is this process's home.
    # Empty: the home region alone.
    regions: tuple[str, ...] = ()  # written "us,eu,ap"
    regional_urls: Mapping[str, str] = field(default_factory=dict)  # region=dsn (leader)
    regional_follower_urls: Mapping[str, str] = field(default_factory=dict)
    # Each region's memcached pool, written "us=h:p|h:p,eu=h:p".
    region_memcached: Mapping[str, tuple[Address, ...]] = field(default_factory=dict)
    # One-way delay added to every call to another region's store or cache
    # (the WAN seam), so placement's benefit is measurable on one machine.
    wan_delay_ms: float = 0.0
    # Akkio-style placement: how long a worker trusts a cached location, the
    # share of reads another region must pass over the window to pull a
    # user's data there, the fewest decayed reads before moving anyone, and
    # how often each worker flushes its access counters; and how long after
    # a move the policy leaves the user where it is (no back-and-forth).
    placement_cache_ttl_s: float = 5.0
    placement_threshold: float = 0.7
    placement_window_s: float = 24 * 3600.0
    placement_min_reads: float = 20.0
    placement_flush_s: float = 2.0
    placement_cooldown_s: float = 6 * 3600.0
    # Authors with more followers than this are not fanned out on write:
    # their recent posts are merged into followers' feeds at read time.
    fanout_pull_threshold: int = 10_000
    # Webhooks (``gramstack.webhooks``), sent by the job worker in the
    # background: each attempt's total deadline, attempts per event and the
    # first retry's delay (doubling, jittered), deliveries in flight per
    # process, failures in a row that open a destination's circuit and how
    # long it stays open, and whether loopback/private addresses may be
    # used (off: a user could otherwise make the server call its own network).
    webhook_deadline_s: float = 5.0
    webhook_max_attempts: int = 5
    webhook_backoff_s: float = 2.0
    webhook_max_in_flight: int = 100
    webhook_breaker_failures: int = 5
    webhook_breaker_cooldown_s: float = 30.0
    webhook_allow_private: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def all_regions(self) -> tuple[str, ...]:
        """Every region, the home region included (first when unlisted)."""
        return self.regions if self.regions else (self.region,)

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "gramstack.db"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def regional_dir(self) -> Path:
        return self.data_dir / "regions"

    def with_home_memcached(self) -> Settings:
        """These settings with ``memcached_servers`` set to the home region's
        pool (``region_memcached``) when they name none: a server, worker and
        invalidator each use their home region's pool."""
        pool = self.region_memcached.get(self.region)
        if self.memcached_servers or not pool:
            return self
        return dataclasses.replace(self, memcached_servers=pool)

    def with_metrics_dir(self) -> Settings:
        """These settings with a multiprocess metrics directory, for servers
        that fork workers."""
        if self.metrics_dir is not None:
            return self
        return dataclasses.replace(self, metrics_dir=self.data_dir / "metrics")

    def describe(self) -> str:
        """A one-line summary for the start/stop log lines (no secrets)."""
        db = "sqlite" if not self.database_url else "postgresql"
        return (
            f"host={self.host} port={self.port} workers={self.workers} region={self.region} "
            f"data_dir={self.data_dir} database={db} cache={self.cache_backend} "
            f"deadline={self.request_deadline_s}s"
        )


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected a boolean, got {raw!r}")


def _items(raw: Any) -> list[str]:
    """A comma-separated string (environment) or a list of strings (TOML)."""
    if isinstance(raw, str):
        return [item.strip() for item in raw.split(",") if item.strip()]
    if isinstance(raw, list | tuple) and all(isinstance(item, str) for item in raw):
        return [item.strip() for item in raw if item.strip()]
    raise ValueError(f"expected a comma-separated string, got {type(raw).__name__}")


def _parse_address(item: str) -> Address:
    host, colon, port = item.rpartition(":")
    # "[::1]:11211" is an IPv6 host; ":11211" is the loopback.
    host = host.removeprefix("[").removesuffix("]") or "127.0.0.1"
    if not colon or not port.isdigit() or not 1 <= int(port) <= 65535 or " " in host:
        raise ValueError(f"expected host:port, got {item!r}")
    return host, int(port)


def _parse_addresses(raw: Any) -> tuple[Address, ...]:
    if isinstance(raw, tuple) and all(isinstance(a, tuple) for a in raw):
        return tuple(_parse_address(f"{host}:{port}") for host, port in raw)
    return tuple(dict.fromkeys(_parse_address(item) for item in _items(raw)))


def _parse_followers(raw: Any) -> dict[str, str]:
    pairs: dict[str, str] = {}
    if isinstance(raw, Mapping):
        items = [(str(region), str(dsn)) for region, dsn in raw.items()]
    else:
        items = [(r, d) for r, _, d in (item.partition("=") for item in _items(raw))]
    for number, (region, dsn) in enumerate(items, 1):
        # The DSN may hold a password: name the item, never echo it.
        if not region.strip().isidentifier() or not dsn.strip():
            raise ValueError(f"expected region=dsn pairs separated by commas (item {number})")
        pairs[region.strip()] = dsn.strip()
    return pairs


def _parse_names(raw: Any) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(_items(raw)))
    for name in names:
        if not name.isidentifier():
            raise ValueError(f"expected simple names separated by commas, got {name!r}")
    return names


def _parse_networks(raw: Any) -> tuple[Network, ...]:
    if isinstance(raw, tuple) and all(isinstance(n, Network) for n in raw):
        return raw
    try:
        return tuple(
            dict.fromkeys(ipaddress.ip_network(item, strict=False) for item in _items(raw))
        )
    except ValueError as exc:
        raise ValueError(f"expected addresses or CIDR blocks separated by commas: {exc}") from None


def _parse_region_pools(raw: Any) -> dict[str, tuple[Address, ...]]:
    if isinstance(raw, Mapping):
        items = [(str(region), pool) for region, pool in raw.items()]
    else:
        items = [(r, p) for r, _, p in (item.partition("=") for item in _items(raw))]
    pools: dict[str, tuple[Address, ...]] = {}
    for region, pool in items:
        if not region.strip().isidentifier():
            raise ValueError(f"expected region=host:port|host:port pairs, got {region!r}")
        servers = pool.split("|") if isinstance(pool, str) else pool
        pools[region.strip()] = _parse_addresses(list(servers))
    return pools


def _parse_literal(raw: Any, choices: tuple[str, ...]) -> str:
    if raw not in choices:
        raise ValueError(f"expected one of {', '.join(choices)}, got {raw!r}")
    return str(raw)


def _parse(raw: Any, hint: Any) -> Any:
    """``raw`` (a string from the environment, or a TOML or Python value)
    as the field type ``hint``."""
    if get_origin(hint) is Literal:
        return _parse_literal(raw, get_args(hint))
    if hint == tuple[Address, ...]:
        return _parse_addresses(raw)
    if hint == Mapping[str, str]:
        return _parse_followers(raw)
    if hint == tuple[str, ...]:
        return _parse_names(raw)
    if hint == tuple[Network, ...]:
        return _parse_networks(raw)
    if hint == Mapping[str, tuple[Address, ...]]:
        return _parse_region_pools(raw)
    if hint == Path | None:
        return None if raw in ("", None) else Path(str(raw))
    if hint is bool:
        return _parse_bool(raw)
    if hint in (int, float):
        if isinstance(raw, bool):
            raise ValueError(f"expected a number, got {raw!r}")
        return hint(raw)
    if hint is Path:
        return Path(str(raw))
    if hint is str:
        return str(raw)
    raise AssertionError(f"no parser for {hint!r}")


_FIELD_TYPES = get_type_hints(Settings)


def _coerce(name: str, raw: Any) -> Any:
    try:
        return _parse(raw, _FIELD_TYPES[name])
    except ValueError as exc:
        # One line naming the setting and its variable, for the start-up error.
        raise ConfigError(f"{name} ({ENV_PREFIX}{name.upper()}): {exc}") from None


def _validate(settings: Settings) -> None:
    checks = [
        (1 <= settings.port <= 65535, "port must be 1..65535"),
        (1 <= settings.workers <= 256, "workers must be 1..256"),
        (settings.request_deadline_s > 0, "request_deadline_s must be positive"),
        (settings.worker_gc_freeze_after_s >= 0, "worker_gc_freeze_after_s must be >= 0"),
        (settings.max_upload_bytes > 0, "max_upload_bytes must be positive"),
        (settings.max_image_pixels > 0, "max_image_pixels must be positive"),
        (settings.explore_refresh_s >= 1, "explore_refresh_s must be at least 1"),
        (
            settings.cache_backend != "memcached"
            or bool(settings.memcached_servers)
            or settings.region in settings.region_memcached,
            "cache_backend = memcached needs memcached_servers (or region_memcached[region])",
        ),
        (settings.cache_lease_s >= 1, "cache_lease_s must be at least 1"),
        (settings.memcached_timeout_s > 0, "memcached_timeout_s must be positive"),
        (settings.outbox_poll_s > 0, "outbox_poll_s must be positive"),
        (settings.outbox_retention_s >= 60, "outbox_retention_s must be at least 60"),
        (
            not settings.follower_urls or bool(settings.database_url),
            "follower_urls need database_url (the leader)",
        ),
        (settings.region.isidentifier(), "region must be a simple name"),
        (
            settings.region in settings.all_regions,
            "region (the home region) must be one of regions",
        ),
        (
            set(settings.regional_urls) <= set(settings.all_regions)
            and set(settings.regional_follower_urls) <= set(settings.regional_urls)
            and set(settings.region_memcached) <= set(settings.all_regions),
            "regional_urls, regional_follower_urls and region_memcached name unknown regions",
        ),
        (settings.wan_delay_ms >= 0, "wan_delay_ms must not be negative"),
        (0.5 <= settings.placement_threshold <= 1, "placement_threshold must be 0.5..1"),
        (settings.placement_window_s > 0, "placement_window_s must be positive"),
        (settings.placement_cache_ttl_s > 0, "placement_cache_ttl_s must be positive"),
        (settings.placement_cooldown_s >= 0, "placement_cooldown_s must not be negative"),
        (settings.fanout_pull_threshold >= 1, "fanout_pull_threshold must be at least 1"),
        (settings.job_claim_s >= 1, "job_claim_s must be at least 1"),
        (settings.webhook_deadline_s > 0, "webhook_deadline_s must be positive"),
        (settings.webhook_max_attempts >= 1, "webhook_max_attempts must be at least 1"),
        (settings.webhook_backoff_s > 0, "webhook_backoff_s must be positive"),
        (settings.webhook_max_in_flight >= 1, "webhook_max_in_flight must be at least 1"),
        (settings.webhook_breaker_failures >= 1, "webhook_breaker_failures must be at least 1"),
        (settings.webhook_breaker_cooldown_s > 0, "webhook_breaker_cooldown_s must be positive"),
        (settings.job_poll_interval_s > 0, "job_poll_interval_s must be positive"),
        (settings.max_follower_lag_s > 0, "max_follower_lag_s must be positive"),
        (settings.follower_poll_s > 0, "follower_poll_s must be positive"),
        (settings.argon2_memory_kib >= 8, "argon2_memory_kib must be >= 8"),
        (
            0 < settings.db_command_timeout_s < settings.request_deadline_s,
            "db_command_timeout_s must be positive and below request_deadline_s",
        ),
        (
            0 < settings.db_statement_timeout_s <= settings.db_command_timeout_s,
            "db_statement_timeout_s must be positive and at most db_command_timeout_s",
        ),
        (
            0 < settings.db_unresponsive_after_s < settings.request_deadline_s,
            "db_unresponsive_after_s must be positive and below request_deadline_s",
        ),
        (settings.unavailable_retry_after_s >= 1, "unavailable_retry_after_s must be at least 1"),
        (settings.max_header_bytes >= 1024, "max_header_bytes must be at least 1024"),
        (
            settings.invalidator_slot_lag_every_s > 0,
            "invalidator_slot_lag_every_s must be positive",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)


def load_settings(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build settings from defaults < TOML file < environment < explicit overrides.

    The TOML file is named by ``GRAMSTACK_CONFIG``; its keys are the field names.
    """
    env = os.environ if environ is None else environ
    known = {f.name: f for f in dataclasses.fields(Settings) if f.name != "extra"}
    defaults = Settings()
    values: dict[str, Any] = {}

    config_path = env.get(ENV_PREFIX + "CONFIG")
    if config_path:
        try:
            with open(config_path, "rb") as fh:
                document = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {config_path}: {exc}") from None
        for key, raw in document.items():
            if key not in known:
                raise ConfigError(f"unknown setting {key!r} in {config_path}")
            values[key] = raw

    for key in known:
        raw = env.get(ENV_PREFIX + key.upper())
        if raw is not None:
            values[key] = raw

    for key, raw in (overrides or {}).items():
        if key not in known:
            raise ConfigError(f"unknown setting {key!r}")
        if raw is not None:
            values[key] = raw

    coerced = {key: _coerce(key, raw) for key, raw in values.items()}
    settings = dataclasses.replace(defaults, **coerced)
    _validate(settings)
    return settings
