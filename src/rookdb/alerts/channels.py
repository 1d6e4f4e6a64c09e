"""Alert channels: where notifications go (a webhook, a Slack incoming webhook, email).

One validated model per kind, chosen by `kind`. Configured once per server
(in the system store, so cluster-wide in a cluster). Secrets — the webhook
signing key, the Slack URL (whoever has it may post), the SMTP password —
are `SecretStr`: never in a repr, an error message or a response
(`public_json` shows MASK instead), and sealed before they are stored.

A channel takes the incidents of every task, or of the tasks it names
(`"shop/t-3f2a"`, or `"shop/*"` for every task of a database).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeAlias
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from rookdb.errors import InvalidInput

MASK = "********"  # stands for a stored secret in responses, and when sent back
ChannelKind = Literal["webhook", "slack", "email"]
CHANNEL_KINDS: tuple[ChannelKind, ...] = ("webhook", "slack", "email")
SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "webhook": ("secret",),
    "slack": ("url",),
    "email": ("password",),
}

_SELECTOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}/(\*|[A-Za-z0-9][A-Za-z0-9_.-]{0,99})$")
# An address without spaces or line breaks: one that could not add a mail header.
_ADDRESS = re.compile(r"^[^\s@<>,;\"]+@[^\s@<>,;\"]+$")


def _http_url(value: str) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port outside 0-65535
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if any(ch.isspace() for ch in value):
        raise ValueError("must not contain spaces or line breaks")
    return value


def _secret_url(value: SecretStr) -> SecretStr:
    try:
        _http_url(value.get_secret_value())
    except ValueError:
        # The message must not echo the URL: it is the secret.
        raise ValueError("must be an http:// or https:// URL with a host") from None
    return value


def _address(value: str) -> str:
    if not _ADDRESS.match(value):
        raise ValueError("must be one email address such as ops@example.com")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
Address = Annotated[str, AfterValidator(_address)]


class ChannelBase(BaseModel):
    """What every channel has; `id` and `disabled_reason` are the server's to set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ChannelKind
    name: Annotated[str, Field(min_length=1, max_length=100)]
    id: str = ""
    enabled: bool = True
    # Why the server turned it off (a receiver that answered 410 Gone); cleared on enable.
    disabled_reason: str | None = None
    tasks: list[str] | None = None  # None: every task
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        # Names reach tables, logs and metric labels: no line breaks or other controls.
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("must not contain control characters")
        return value

    @field_validator("tasks")
    @classmethod
    def _selectors(cls, value: list[str] | None) -> list[str] | None:
        for selector in value or []:
            if not _SELECTOR.match(selector):
                raise ValueError(
                    f"{selector!r} is not a task: use DATABASE/TASK_ID (e.g. shop/t-3f2a) "
                    "or DATABASE/* for every task of a database"
                )
        return value

    def selects(self, database: str, task_id: str) -> bool:
        """Whether this channel takes the incidents of a task."""
        if self.tasks is None:
            return True
        wanted = {s.lower() for s in self.tasks}
        return (
            f"{database.lower()}/{task_id.lower()}" in wanted or f"{database.lower()}/*" in wanted
        )

    def target(self) -> str:
        """Where it sends, for a person (never a secret)."""
        raise NotImplementedError


class WebhookChannel(ChannelBase):
    """POST of a JSON body, signed with HMAC-SHA256 when a secret is set."""

    kind: Literal["webhook"] = "webhook"
    url: HttpUrl
    secret: SecretStr | None = None

    def target(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


class SlackChannel(ChannelBase):
    """A Slack-compatible incoming webhook (Mattermost, Rocket.Chat ... take the same body)."""

    kind: Literal["slack"] = "slack"
    url: Annotated[SecretStr, AfterValidator(_secret_url)]

    def target(self) -> str:
        host = urlsplit(self.url.get_secret_value()).hostname or ""
        return f"{host} (incoming webhook)"


class EmailChannel(ChannelBase):
    """Email over SMTP: STARTTLS (default), TLS from the first byte, or none (a local relay)."""

    kind: Literal["email"] = "email"
    host: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9.:\[\]_-]+$")]
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: Address
    recipients: Annotated[list[Address], Field(min_length=1, max_length=50)]
    # A PEM file on the server to trust for the SMTP server's certificate (a private CA).
    ca_file: str | None = None

    @model_validator(mode="after")
    def _login_encrypted(self) -> EmailChannel:
        if self.security == "none" and (self.username or self.password):
            raise ValueError(
                "a login is never sent unencrypted: use security 'starttls' or 'tls' "
                "with a username and password"
            )
        if bool(self.username) != bool(self.password):
            raise ValueError("a login needs both username and password")
        return self

    def target(self) -> str:
        return f"{', '.join(self.recipients)} via {self.host}:{self.port}"


Channel: TypeAlias = WebhookChannel | SlackChannel | EmailChannel
_ADAPTER: TypeAdapter[Channel] = TypeAdapter(Annotated[Channel, Field(discriminator="kind")])
_MODELS: dict[str, type[ChannelBase]] = {
    "webhook": WebhookChannel,
    "slack": SlackChannel,
    "email": EmailChannel,
}


def parse_channel(body: object) -> Channel:
    """A channel from JSON; InvalidInput names the field and what is allowed (never a secret)."""
    if not isinstance(body, dict):
        raise InvalidInput("an alert channel is a JSON object", field="channel")
    kind = body.get("kind")
    if kind not in CHANNEL_KINDS:
        raise InvalidInput(f"field 'kind' must be one of {', '.join(CHANNEL_KINDS)}", field="kind")
    try:
        return _ADAPTER.validate_python(body)
    except ValidationError as exc:
        raise _invalid(str(kind), exc) from None


def _invalid(kind: str, exc: ValidationError) -> InvalidInput:
    # From the error's location and type only: pydantic's text may echo the input.
    error = exc.errors()[0]
    loc = [str(p) for p in error["loc"]]
    if loc and loc[0] == kind:
        loc = loc[1:]
    field = ".".join(loc) or None
    what = f"{kind} channel"
    if error["type"] == "missing":
        return InvalidInput(f"{what}: field '{field}' is required", field=field)
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(sorted(_MODELS[kind].model_fields))
        return InvalidInput(f"{what}: unknown field '{field}' (allowed: {allowed})", field=field)
    message = str(error["msg"]).removeprefix("Value error, ")
    return InvalidInput(f"{what}: field '{field}': {message}", field=field)


def secrets_of(channel: Channel) -> dict[str, str]:
    """The channel's secrets in clear text, by field (for sealing; never shown)."""
    found = {}
    for name in SECRET_FIELDS[channel.kind]:
        value = getattr(channel, name)
        if isinstance(value, SecretStr):
            found[name] = value.get_secret_value()
    return found


def plain_json(channel: Channel) -> dict[str, Any]:
    """The channel as JSON with its secrets in clear (to seal and store, never to show)."""
    body = channel.model_dump(mode="json")
    body.update(secrets_of(channel))
    return body


def public_json(channel: Channel) -> dict[str, Any]:
    """The channel as the API shows it: secrets masked, plus where it sends."""
    body = channel.model_dump(mode="json")
    for name in SECRET_FIELDS[channel.kind]:
        body[name] = MASK if getattr(channel, name) is not None else None
    body["target"] = channel.target()
    return body


def with_stored_secrets(stored: Channel | None, body: dict[str, Any]) -> dict[str, Any]:
    """An edited channel: MASK sent back for a secret stands for the stored value.

    Only while the secret still goes to the same place: a changed URL or SMTP
    server needs the secret entered again, so an edit cannot send it elsewhere.
    """
    kind = body.get("kind")
    masked = [k for k in SECRET_FIELDS.get(str(kind), ()) if body.get(k) == MASK]
    if not masked:
        return body
    if stored is None or stored.kind != kind:
        raise InvalidInput(
            f"field '{masked[0]}': there is no stored secret for it; enter it again "
            f"({MASK} stands for a stored secret)",
            field=masked[0],
        )
    moved = _scope_change(stored, body)
    if moved is not None:
        raise InvalidInput(
            f"field '{masked[0]}': the {moved} changed; enter the secret again "
            f"({MASK} stands for a stored secret)",
            field=masked[0],
        )
    return {**body, **{k: v for k, v in secrets_of(stored).items() if k in masked}}


def _scope_change(stored: Channel, body: dict[str, Any]) -> str | None:
    if isinstance(stored, WebhookChannel) and body.get("url") != stored.url:
        return "url"
    if isinstance(stored, EmailChannel):
        for name in ("host", "port", "username"):
            if body.get(name, EmailChannel.model_fields[name].default) != getattr(stored, name):
                return name
    return None
