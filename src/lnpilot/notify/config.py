"""The ``[notify]`` table of the alerts file: receivers, routes and delivery settings.

Receivers are named (``[notify.receivers.ops_mail]``) and typed (``type = "email"``,
``"telegram"``, ``"webhook"`` or ``"apprise"``); routes send notices to receivers by
severity and labels, in order, the first match winning unless it says ``continue = true``.
Secrets (SMTP password, bot token, webhook HMAC secret, Apprise URLs, which embed their
credentials) are :class:`~pydantic.SecretStr`, may come from ``*_file`` keys, and are
registered for redaction as soon as they are read, so no log line or error shows them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from lnpilot.base.redact import register_secret
from lnpilot.base.secrets import SecretFromFile
from lnpilot.store.alerts import Matcher
from lnpilot.store.outbox import Severity


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _WithSecrets(_Strict):
    """A receiver whose ``_SECRETS`` keys each have a ``*_file`` twin: the file's content
    becomes the key's value (never both), and every secret is registered for redaction."""

    _SECRETS: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _fold_files(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name in cls._SECRETS:
            from_file = data.pop(f"{name}_file", None)
            if from_file is None:
                continue
            if data.get(name) is not None:
                raise ValueError(f"set {name} or {name}_file, not both")
            data[name] = _read_secret(name, from_file)
        return data

    @model_validator(mode="after")
    def _register(self) -> Self:
        for name in self._SECRETS:
            value = getattr(self, name)
            for secret in value if isinstance(value, tuple) else (value,):
                if isinstance(secret, SecretStr):
                    register_secret(secret.get_secret_value())
        return self


class _SecretFile(BaseModel):
    value: SecretFromFile


def _read_secret(name: str, path: object) -> SecretStr:
    """The secret in the file at ``path``; the error names the key, never the content."""
    try:
        return _SecretFile.model_validate({"value": path}).value
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ValueError(f"{name}_file: {reason}") from None


class EmailReceiver(_WithSecrets):
    """SMTP. ``security``: ``starttls`` (upgrade on port 587, required, not opportunistic),
    ``tls`` (implicit TLS, port 465) or ``none`` (a local relay only). ``ca_file`` trusts a
    private CA or a self-signed server certificate; certificates are always verified."""

    _SECRETS: ClassVar[tuple[str, ...]] = ("password",)

    type: Literal["email"]
    host: str
    port: int = Field(default=587, gt=0, lt=65536)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(min_length=3)
    to: tuple[str, ...] = Field(min_length=1)
    subject_prefix: str = "[lnpilot]"
    ca_file: Path | None = None
    timeout_s: float = Field(default=30, gt=0, le=600)


class TelegramReceiver(_WithSecrets):
    """The Bot API's ``sendMessage``; ``base_url`` points elsewhere for a local Bot API
    server. Notices below ``loud_from`` arrive without a sound."""

    _SECRETS: ClassVar[tuple[str, ...]] = ("bot_token",)

    type: Literal["telegram"]
    bot_token: SecretStr
    chat_id: int | str
    base_url: HttpUrl = HttpUrl("https://api.telegram.org")
    loud_from: Severity = Severity.WARNING
    timeout_s: float = Field(default=15, gt=0, le=600)


class WebhookReceiver(_WithSecrets):
    """JSON POSTed to ``url``, signed with HMAC-SHA256 over ``TIMESTAMP.BODY`` with
    ``secret`` (headers in ``docs/alerts.md``)."""

    _SECRETS: ClassVar[tuple[str, ...]] = ("secret",)

    type: Literal["webhook"]
    url: HttpUrl
    secret: SecretStr | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(default=10, gt=0, le=600)


class AppriseReceiver(_WithSecrets):
    """Any of Apprise's services by URL (needs ``pip install 'lnpilot[apprise]'``)."""

    _SECRETS: ClassVar[tuple[str, ...]] = ("urls",)

    type: Literal["apprise"]
    urls: tuple[SecretStr, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _urls_file(cls, data: Any) -> Any:
        """``urls_file`` holds one URL per line."""
        if isinstance(data, dict) and "urls_file" in data:
            data = dict(data)
            text = _read_secret("urls", data.pop("urls_file"))
            data["urls"] = [u for u in text.get_secret_value().splitlines() if u.strip()]
        return data


Receiver = Annotated[
    EmailReceiver | TelegramReceiver | WebhookReceiver | AppriseReceiver,
    Field(discriminator="type"),
]


class Route(_Strict):
    """Notices whose severity is in ``severities`` (all when empty) and whose common labels
    match every matcher in ``match`` go to ``receivers``; at most ``rate_limit_per_hour``
    deliveries per rolling hour (the rest wait, they are not dropped)."""

    name: str = Field(min_length=1, max_length=64)
    receivers: tuple[str, ...] = Field(min_length=1)
    severities: tuple[Severity, ...] = ()
    match: tuple[str, ...] = ()
    continue_: bool = Field(default=False, alias="continue")
    rate_limit_per_hour: int | None = Field(default=None, gt=0)

    @field_validator("match")
    @classmethod
    def _matchers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            Matcher.parse(text)
        return value

    def matchers(self) -> tuple[Matcher, ...]:
        return tuple(Matcher.parse(t) for t in self.match)


class DeliverySettings(_Strict):
    """Retries: the n-th failed attempt waits ``retry_initial_s * 2^(n-1)``, at most
    ``retry_max_s``, then the next is made; there is no last attempt. ``lease_s`` is how
    long a claimed delivery is left to its notifier before another may retry it."""

    retry_initial_s: float = Field(default=30, gt=0)
    retry_max_s: float = Field(default=3600, gt=0)
    lease_s: float = Field(default=120, gt=0)
    batch: int = Field(default=50, gt=0)


class NotifyConfig(_Strict):
    receivers: dict[str, Receiver] = Field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    delivery: DeliverySettings = DeliverySettings()

    @model_validator(mode="after")
    def _known_receivers(self) -> Self:
        names = set()
        for route in self.routes:
            if route.name in names:
                raise ValueError(f"two routes are named {route.name!r}")
            names.add(route.name)
            unknown = sorted(set(route.receivers) - set(self.receivers))
            if unknown:
                raise ValueError(
                    f"route {route.name!r} names unknown receivers {unknown}; "
                    f"defined: {sorted(self.receivers)}"
                )
        return self
