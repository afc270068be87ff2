"""lnpilot's configuration: one TOML file, every key overridable from the environment.

Where values come from, strongest first:

1. environment variables ``LNPILOT_<SECTION>__<KEY>`` (``LNPILOT_LNBITS__ADMIN_KEY``),
   so a deployment can inject secrets without writing them to the file;
2. the TOML file: ``--config FILE``, else ``$LNPILOT_CONFIG``, else ``./lnpilot.toml``
   when it exists (no file at all is fine: the environment alone may configure lnpilot);
3. the defaults below.

Everything is validated at load time, so a bad value fails the start instead of the first
call that reads it. An unknown key is an error, not ignored: a typo such as ``admin_kye``
would otherwise leave the real key unset and the failure would surface far from its cause.
Problems are reported by :class:`ConfigError`, one line each, naming the key, the bad value
(masked for secrets and for unknown keys, which may be mistyped secrets) and what is allowed.

Secrets are :class:`~pydantic.SecretStr` and may come from files (``admin_key_file``), which
keeps them out of the TOML file and out of the process environment.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, HttpUrl, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from lnpilot.base.redact import register_secret
from lnpilot.base.secrets import SecretFromFile
from lnpilot.base.tomlfile import (
    FileProblems,
    Loc,
    StrictModel,
    Wording,
    dotted,
    parse_toml,
    read_text,
    validate,
)
from lnpilot.lnbits import LNbitsClient, TransportSettings
from lnpilot.lnbits.ratelimit import DEFAULT_RATE_PER_MIN

if TYPE_CHECKING:
    # Imported where used: every command reads the configuration, and the store package
    # brings SQLAlchemy and Alembic, which `lnpilot --help` or `wallet show` never need.
    from lnpilot.node.composite import CompositeNode
    from lnpilot.store.levels import Retention

ENV_PREFIX = "LNPILOT_"
ENV_NESTED_DELIMITER = "__"
CONFIG_ENV_VAR = "LNPILOT_CONFIG"
DEFAULT_CONFIG_FILE = Path("lnpilot.toml")

#: Keys holding secrets: their values never appear in messages. Each has a ``*_file`` twin.
LNBITS_SECRET_KEYS = frozenset({"invoice_key", "admin_key", "password", "access_token"})
SECRET_KEYS = LNBITS_SECRET_KEYS | {"macaroon"}


class ConfigError(FileProblems):
    """The configuration cannot be used; ``problems`` holds one readable line per problem."""


class LNbitsSettings(StrictModel):
    """``[lnbits]``: where the LNbits server is and the credentials lnpilot may use there.

    Give only what the commands you run need: the invoice key reads and receives, the admin
    key spends, username/password (or an access token) reach the user and node APIs.
    """

    url: HttpUrl
    invoice_key: SecretStr | None = None
    invoice_key_file: SecretFromFile | None = None
    admin_key: SecretStr | None = None
    admin_key_file: SecretFromFile | None = None
    username: str | None = None
    password: SecretStr | None = None
    password_file: SecretFromFile | None = None
    access_token: SecretStr | None = None
    access_token_file: SecretFromFile | None = None
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    pay_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    resolve_deadline_s: float = Field(default=60.0, gt=0, le=86_400)
    rate_limit_per_min: float = Field(default=DEFAULT_RATE_PER_MIN, gt=0, le=100_000)

    @model_validator(mode="after")
    def _merge_secret_files(self) -> LNbitsSettings:
        _fold_secret_files(self, "lnbits", LNBITS_SECRET_KEYS)
        return self


def _read_macaroon_file(value: object) -> object:
    """LND writes macaroons as binary files: read the bytes and hold them as hex."""
    if not isinstance(value, str | Path):
        return value
    path = Path(value).expanduser()
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read macaroon file {str(path)!r}: {exc.strerror}") from None
    if not content:
        raise ValueError(f"macaroon file {str(path)!r} is empty")
    text = content.strip()
    try:  # a file that already holds hex text is taken as is
        bytes.fromhex(text.decode("ascii"))
        return text.decode("ascii")
    except (UnicodeDecodeError, ValueError):
        return content.hex()


class LndSettings(StrictModel):
    """``[lnd]``: an optional direct LND REST connection, for what LNbits does not expose.

    Forwarding history, failed HTLCs, inbound fees, HTLC limits, CLTV, disabling channels,
    routes and backups all need it; without it lnpilot says which feature is unavailable.
    """

    rest_url: HttpUrl
    macaroon: SecretStr | None = None
    macaroon_file: Annotated[SecretStr, BeforeValidator(_read_macaroon_file)] | None = None
    tls_cert: Path | None = None
    timeout_s: float = Field(default=30.0, gt=0, le=600)

    @model_validator(mode="after")
    def _merge_secret_files(self) -> LndSettings:
        _fold_secret_files(self, "lnd", {"macaroon"})
        if self.macaroon is None:
            raise ValueError("set lnd.macaroon (hex) or lnd.macaroon_file")
        try:
            bytes.fromhex(self.macaroon.get_secret_value())
        except ValueError:
            raise ValueError("lnd.macaroon must be hex (or use lnd.macaroon_file)") from None
        return self


def _fold_secret_files(model: BaseModel, section: str, names: frozenset[str] | set[str]) -> None:
    """Fold each ``*_file`` secret into its key, so readers look in one place only, and
    register every secret so it is masked even before a client is built from it."""
    for name in sorted(names):
        from_file: SecretStr | None = getattr(model, f"{name}_file")
        if from_file is None:
            continue
        if getattr(model, name) is not None:
            raise ValueError(f"set {section}.{name} or {section}.{name}_file, not both")
        object.__setattr__(model, name, from_file)  # still validating: frozen only after
    for name in names:
        secret: SecretStr | None = getattr(model, name)
        if secret is not None:
            register_secret(secret.get_secret_value())


class ServiceSettings(StrictModel):
    """``[service]``: the daemon (``lnpilot run``): its database and each loop's schedule.

    A loop runs again ``*_interval_s`` after its last run started; a loop that fails is
    retried sooner, backing off from one second up to ``backoff_max_s``. The fee engine and
    the rebalancer run only with a policy file (the rebalancer reads its ``[rebalance]``
    table), and act only with ``fees_apply`` / ``rebalance_apply = true`` (dry runs are
    journaled either way). With an LNbits client, the swaps lnpilot started are followed
    every ``swaps_interval_s``. On PostgreSQL the daemon acts only while it owns the node
    (:mod:`lnpilot.service.ownership`), checked every ``ownership_retry_s``. On SIGTERM
    each loop may finish its current run for up to ``stop_timeout_s``.
    """

    database_url: str | None = None
    collect_interval_s: float = Field(default=60.0, ge=1, le=86_400)
    retention_interval_s: float = Field(default=3600.0, ge=60, le=7 * 86_400)
    monitor_interval_s: float = Field(default=60.0, ge=1, le=86_400)
    notify_interval_s: float = Field(default=5.0, ge=0.1, le=3600)
    fees_interval_s: float = Field(default=3600.0, ge=60, le=7 * 86_400)
    fees_policy_file: Path | None = None
    fees_apply: bool = False
    rebalance_interval_s: float = Field(default=3600.0, ge=60, le=7 * 86_400)
    rebalance_apply: bool = False
    swaps_interval_s: float = Field(default=300.0, ge=10, le=86_400)
    ownership_retry_s: float = Field(default=30.0, ge=1, le=3600)
    alerts_file: Path | None = None
    backoff_max_s: float = Field(default=300.0, ge=1, le=86_400)
    stop_timeout_s: float = Field(default=30.0, gt=0, le=3600)


class BackupSettings(StrictModel):
    """``[backup]``: archives of the store and files, and the node's channel backup.

    The daemon writes an archive every ``interval_s`` into ``archive_dir`` (default: the
    data directory's ``backups`` folder) and keeps the newest ``keep``; the archive holds
    the configuration file lnpilot was started with (``config_file`` names another) and the
    fee policy and alerts files, secrets left out unless ``include_secrets``. With a
    direct LND connection it also follows the node's channel backup (a new one on every
    channel open and close), re-subscribing every ``scb_follow_s``, and writes each one to
    ``scb_dir`` as ``channel.backup`` when that is set (an external disk, a synced folder).
    With ``scb_notify_passphrase_file``, each new channel backup is also sealed with that
    passphrase (scrypt and AES-GCM) and queued as a notice for the routes matching
    ``alertname="channel_backup"`` (email attachment, webhook JSON).
    """

    enabled: bool = True
    interval_s: float = Field(default=86_400.0, ge=60, le=30 * 86_400)
    keep: int = Field(default=7, ge=1, le=10_000)
    archive_dir: Path | None = None
    include_secrets: bool = False
    config_file: Path | None = None
    scb_dir: Path | None = None
    scb_follow_s: float = Field(default=10.0, ge=1, le=3600)
    scb_notify_passphrase_file: SecretFromFile | None = None

    @model_validator(mode="after")
    def _register_passphrase(self) -> BackupSettings:
        if self.scb_notify_passphrase_file is not None:
            register_secret(self.scb_notify_passphrase_file.get_secret_value())
        return self


class RetentionSettings(StrictModel):
    """``[retention]``: with ``archive = true``, the raw rows retention deletes (old channel
    snapshots, failed forwards, and forwards when they have a retention) are first written
    to ``archive_dir`` (default: the data directory's ``archive`` folder) as compressed
    JSON lines, one folder per table and month, instead of being lost.

    Forwards are the node's accounts and are kept forever by default
    (``forwards_keep_days = 0``); a big node may keep them ``forwards_keep_days`` days
    instead. Only raw forwards go: their rollups (counts, volumes, fees per channel and
    bucket) stay as long as their levels are kept, the daily ones forever."""

    archive: bool = False
    archive_dir: Path | None = None
    forwards_keep_days: int = Field(default=0, ge=0, le=36_500)


class LoggingSettings(StrictModel):
    """``[logging]``: an optional log file beside the console, rotated by size.

    ``file`` is where (relative to the configuration file); it is rotated at ``max_bytes``
    with ``keep`` older files kept; ``format = "json"`` writes JSON lines. Secrets are
    masked there as everywhere. The level is the top-level ``log_level``.
    """

    file: Path | None = None
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=1024**4)
    keep: int = Field(default=5, ge=1, le=1000)
    format: Literal["text", "json"] = "text"


#: More API processes than this is a typo, not a deployment: each holds its own store pool.
MAX_API_WORKERS = 32


class ApiSettings(StrictModel):
    """``[api]``: the REST API, dashboard and ``/metrics`` served by ``lnpilot run``.

    It listens on localhost unless told otherwise, on port 8181 by default: not 8080, which
    is LND's REST port and often taken on the very machine lnpilot runs on. ``/metrics``
    asks for a read token like the API (Prometheus sends it as a bearer token) unless
    ``metrics_public = true``. ``workers`` processes serve it (Linux: ``SO_REUSEPORT``
    spreads connections between them) while the loops run in the daemon's own process
    only: one more worker lets the API use another core (``docs/limits.md``).
    """

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8181, ge=0, le=65_535)
    metrics_public: bool = False
    workers: int = Field(default=1, ge=1, le=MAX_API_WORKERS)


def _upper(value: object) -> object:
    """Log level names are accepted in any case (``info`` as well as ``INFO``)."""
    return value.upper() if isinstance(value, str) else value


class Settings(BaseSettings):
    """The whole configuration. Build it with :func:`load_settings`.

    Keyword arguments given to the constructor are the TOML file's content and rank below
    the environment: that ordering is what lets ``LNPILOT_…`` variables override the file.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        extra="forbid",
    )

    lnbits: LNbitsSettings
    lnd: LndSettings | None = None
    service: ServiceSettings = ServiceSettings()
    api: ApiSettings = ApiSettings()
    backup: BackupSettings = BackupSettings()
    retention: RetentionSettings = RetentionSettings()
    logging: LoggingSettings = LoggingSettings()
    data_dir: Path = Path("data")
    log_level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
    ] = "WARNING"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)


def config_file_path(explicit: Path | None) -> Path | None:
    """The file to read: ``explicit`` (``--config``), ``$LNPILOT_CONFIG``, ``./lnpilot.toml``.

    A named file that does not exist is an error; the implicit ``./lnpilot.toml`` is optional.
    """
    from_env = os.environ.get(CONFIG_ENV_VAR)
    named = explicit or (Path(from_env) if from_env else None)
    if named is not None:
        if not named.is_file():
            source = "--config" if explicit else CONFIG_ENV_VAR
            raise ConfigError([f"config file {str(named)!r} (from {source}) does not exist"])
        return named
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def load_settings(config_file: Path | None = None) -> Settings:
    """Read and validate the configuration; raises :class:`ConfigError` on any problem."""
    path = config_file_path(config_file)
    values: dict[str, Any] = {}
    if path is not None:
        values = parse_toml(read_text(path, ConfigError), str(path), ConfigError)
        _anchor_paths(values, path.parent)
    origin = str(path) if path is not None else "config"
    wording = Wording(
        context=lambda loc: (_origin(loc, origin), loc), secret=_secret, missing=_missing
    )
    # no source before each line: its origin, the file or a variable, starts it instead
    return validate(Settings, values, "", ConfigError, wording)


def _anchor_paths(values: dict[str, Any], base: Path) -> None:
    """Make relative paths in the file (``data_dir``, ``*_file``) relative to the file itself,
    so a configuration works the same from any working directory."""
    for key, value in values.items():
        if isinstance(value, dict):
            _anchor_paths(value, base)
        elif isinstance(value, str) and (
            key in ("tls_cert", "file") or key.endswith(("_file", "_dir"))
        ):
            expanded = Path(value).expanduser()
            values[key] = str(expanded if expanded.is_absolute() else base / expanded)


def _origin(loc: Loc, config_file: str) -> str:
    """Where a value came from: the environment variable when one is set, else the file."""
    env = _env_name(loc)
    return f"env {env}" if env in {name.upper() for name in os.environ} else config_file


def _secret(loc: Loc) -> bool:
    return bool(loc) and loc[-1] in SECRET_KEYS


def _env_name(loc: Loc) -> str:
    return ENV_PREFIX + ENV_NESTED_DELIMITER.join(str(part) for part in loc).upper()


def _missing(loc: Loc) -> list[str]:
    """A missing section stands for its required keys, which are what the user must set;
    each line says where the key can be set."""
    lines = []
    for path in _required_paths(loc):
        where = f"[{dotted(path[:-1])}] {path[-1]}" if len(path) > 1 else str(path[-1])
        lines.append(
            f"{dotted(path)}: required; set {where} in lnpilot.toml or env {_env_name(path)}"
        )
    return lines


def _required_paths(loc: Loc) -> list[Loc]:
    section = _model_at(loc)
    if section is None:
        return [loc]
    return [(*loc, name) for name, field in section.model_fields.items() if field.is_required()]


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model of the section at ``loc``, or None when ``loc`` is a plain key."""
    model: type[BaseModel] = Settings
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def retention_of(settings: Settings) -> Retention:
    """The store's retention as ``[retention]`` configures it."""
    from lnpilot.store.levels import Retention

    section = settings.retention
    days = section.forwards_keep_days
    return Retention(
        forwards=timedelta(days=days) if days else None,
        archive_dir=(section.archive_dir or settings.data_dir / "archive")
        if section.archive
        else None,
    )


def make_client(settings: Settings) -> LNbitsClient:
    """The LNbits client for the configured server, credentials and limits."""
    lnbits = settings.lnbits

    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value is not None else None

    return LNbitsClient(
        str(lnbits.url),
        invoice_key=secret(lnbits.invoice_key),
        admin_key=secret(lnbits.admin_key),
        username=lnbits.username,
        password=secret(lnbits.password),
        access_token=secret(lnbits.access_token),
        settings=TransportSettings(
            timeout_s=lnbits.timeout_s, rate_limit_per_min=lnbits.rate_limit_per_min
        ),
        pay_timeout_s=lnbits.pay_timeout_s,
        resolve_deadline_s=lnbits.resolve_deadline_s,
    )


def make_node(settings: Settings, client: LNbitsClient | None = None) -> CompositeNode:
    """The node backends in preference order: direct LND first (it can do everything and
    LNbits' fee updates reset the CLTV delta), then the LNbits node API when a login is
    configured for it."""
    from lnpilot.node.backend import NodeBackend
    from lnpilot.node.composite import CompositeNode
    from lnpilot.node.lnbits_node import LNbitsNode
    from lnpilot.node.lnd_rest import LndRest

    backends: list[NodeBackend] = []
    if settings.lnd is not None:
        lnd = settings.lnd
        assert lnd.macaroon is not None  # the validator guarantees it
        backends.append(
            LndRest(
                str(lnd.rest_url).rstrip("/"),
                lnd.macaroon.get_secret_value(),
                tls_cert=lnd.tls_cert,
                timeout_s=lnd.timeout_s,
            )
        )
    lnbits = settings.lnbits
    if lnbits.access_token is not None or (lnbits.username and lnbits.password is not None):
        backends.append(LNbitsNode(client or make_client(settings)))
    if not backends:
        # The invoice and admin keys reach wallets only: LNbits' node API wants a login.
        # Say exactly which keys would give a node, since [lnbits] alone looks configured.
        half = (
            "lnbits.username is set but lnbits.password (or password_file) is not"
            if lnbits.username
            else "lnbits.password is set but lnbits.username is not"
            if lnbits.password is not None
            else "[lnbits] has wallet keys only"
        )
        raise ValueError(
            f"no node backend: [lnd] is not configured and {half}; LNbits' node API needs "
            "lnbits.username with lnbits.password (or password_file), or lnbits.access_token "
            "(or access_token_file), of an LNbits admin (the superuser to change fees); or "
            "configure [lnd] rest_url and macaroon_file (docs/node-backends.md)"
        )
    return CompositeNode(backends)
