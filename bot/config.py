"""Settings from the environment and a ``.env`` file (and the configuration file that
``REGISTRY_BOT_CONFIG`` names, for several registries and owner rules: see
``config_file``), validated once at start.

Real environment variables win over ``.env``. ``load_settings`` collects every problem
and raises one ``ConfigError`` naming each bad or missing variable (or key of the file,
with where it is) and what it is for. Every variable is documented in ``.env.example``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from dotenv import dotenv_values
from sqlalchemy.engine import make_url

from .config_file import RegistryEntry, read_config_file
from .database import DEFAULT_DATABASE_URL, normalize_url
from .deletions import DEFAULT_LEASE, DEFAULT_TTL, DEFAULT_UNDO_RETENTION, OwnerRule
from .durations import parse_duration
from .patterns import SYNTAX, Pattern, PatternError, compile_regex
from .registry import DEFAULT_URL, RegistrySettings

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


class ConfigError(Exception):
    """One or more settings are missing or malformed; ``problems`` lists each
    (``config_file``: the configuration file that was read, if one was)."""

    def __init__(self, problems: list[str], config_file: str | None = None) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
        self.config_file = config_file


SLACK_API_DEFAULT = "https://slack.com/api/"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class SlackSettings:
    """How the bot talks to Slack. Secrets never show in ``repr``."""

    bot_token: str = field(repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    app_token: str | None = field(default=None, repr=False)
    api_url: str = SLACK_API_DEFAULT
    port: int = 3000

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None


@dataclass(frozen=True)
class DeletionSettings:
    """Who approves deletions, how many approvals, where requests and the audit go."""

    approver_users: tuple[str, ...] = ()
    approver_groups: tuple[str, ...] = ()
    approvals_required: int = 1
    approval_channel: str | None = None
    audit_channel: str | None = None
    ttl: timedelta = DEFAULT_TTL
    execution_lease: timedelta = DEFAULT_LEASE
    undo_retention: timedelta = DEFAULT_UNDO_RETENTION
    protected_tags: Pattern | None = None
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)  # may hold a password

    @property
    def approvers(self) -> tuple[str, ...]:
        """Every approver ID, people first (as the request message lists them)."""
        return self.approver_users + self.approver_groups


@dataclass(frozen=True)
class EventSettings:
    """The registry's notifications endpoint: the token it must present, and where
    pushes and outside deletions are posted (None: recorded, not posted)."""

    token: str | None = field(default=None, repr=False)
    channel: str | None = None


@dataclass(frozen=True)
class PolicySettings:
    """Upkeep that runs itself: the time zone cleanup policies' cron expressions are
    in, and whether the whole registry's storage is read once a day (for the trend)."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    storage_snapshots: bool = True
    report_channel: str | None = None  # where the weekly storage report goes (Mondays)


@dataclass(frozen=True)
class Settings:
    """Every setting. ``registry`` is the default registry's (the first of
    ``registries``: the environment's one, named ``default``, without a file)."""

    registry: RegistrySettings
    slack: SlackSettings | None = None
    log_level: str = "INFO"
    deletions: DeletionSettings = field(default_factory=DeletionSettings)
    events: EventSettings = field(default_factory=EventSettings)
    policies: PolicySettings = field(default_factory=PolicySettings)
    registries: tuple[RegistryEntry, ...] = ()
    owners: tuple[OwnerRule, ...] = ()  # the configuration file's [[owners]], in order
    warnings: tuple[str, ...] = ()  # said in the log at start (nothing stops the bot)

    @property
    def served(self) -> tuple[RegistryEntry, ...]:
        """The registries the bot serves, the first the default (without a file: the
        environment's one, ``default``)."""
        return self.registries or (RegistryEntry("default", self.registry, self.events.token),)


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def text(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return value or None

    def flag(self, name: str, default: bool) -> bool:
        value = self.env.get(name)
        if value is None:
            return default
        if value.strip().lower() in TRUE:
            return True
        if value.strip().lower() in FALSE:
            return False
        self.problems.append(f"{name} must be true or false, not {value!r}.")
        return default

    def duration(self, name: str, default: timedelta) -> timedelta:
        value = self.text(name)
        if not value:
            return default
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.problems.append(f"{name}: {exc}.")
            return default

    def number(self, name: str, default: float, *, low: float, high: float, kind=float):
        value = self.env.get(name, "").strip()
        if not value:
            return default
        try:
            number = kind(value)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            self.problems.append(
                f"{name} must be a number from {low:g} to {high:g}, not {value!r}."
            )
            return default
        return number


def _environment(dotenv_path: str | None) -> dict[str, str]:
    values: dict[str, str] = {}
    if dotenv_path and os.path.isfile(dotenv_path):
        values.update({k: v or "" for k, v in dotenv_values(dotenv_path).items()})
    values.update(os.environ)
    return values


def _slack(read: _Reader) -> SlackSettings | None:
    bot_token = read.text("SLACK_BOT_TOKEN")
    app_token = read.text("SLACK_APP_TOKEN")
    secret = read.text("SLACK_SIGNING_SECRET")
    if not bot_token:
        read.problems.append(
            "SLACK_BOT_TOKEN is missing: the bot token (xoxb-...) from your Slack app's "
            "OAuth & Permissions page, used to call Slack's Web API."
        )
    elif not bot_token.startswith("xoxb-"):
        read.problems.append("SLACK_BOT_TOKEN must be a bot token, starting with xoxb-.")
    if app_token and not app_token.startswith("xapp-"):
        read.problems.append(
            "SLACK_APP_TOKEN must be an app-level token starting with xapp- "
            "(with the connections:write scope), for Socket Mode."
        )
    if not app_token and not secret:
        read.problems.append(
            "SLACK_SIGNING_SECRET is missing: the signing secret from your Slack app's Basic "
            "Information page, used to verify that requests come from Slack. (Or set "
            "SLACK_APP_TOKEN to use Socket Mode instead of HTTP.)"
        )
    api_url = read.text("SLACK_API_URL") or SLACK_API_DEFAULT
    try:
        parsed = httpx.URL(api_url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError
    except (ValueError, httpx.InvalidURL):
        read.problems.append(
            "SLACK_API_URL must be the base URL of Slack's Web API, like https://slack.com/api/."
        )
    port = read.number("PORT", 3000, low=1, high=65535, kind=int)
    if not bot_token:
        return None
    return SlackSettings(
        bot_token=bot_token,
        signing_secret=secret,
        app_token=app_token,
        api_url=api_url.rstrip("/") + "/",
        port=port,
    )


_SLACK_ID_RE = re.compile(r"^[UWS][A-Z0-9]{2,}$")
_CHANNEL_RE = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def _deletions(read: _Reader) -> DeletionSettings:
    approvers = tuple(a.strip() for a in (read.text("APPROVERS") or "").split(",") if a.strip())
    bad = [a for a in approvers if not _SLACK_ID_RE.match(a)]
    if bad:
        read.problems.append(
            f"APPROVERS must list Slack user IDs (U..., W...) and user group IDs (S...), "
            f"comma-separated; these are not: {', '.join(bad)}. (Find a user's ID in their "
            "profile, under \u22ee > Copy member ID.)"
        )
    channels = {}
    for name in ("APPROVAL_CHANNEL", "AUDIT_CHANNEL"):
        value = read.text(name)
        if value and not _CHANNEL_RE.match(value):
            read.problems.append(
                f"{name} must be a channel ID like C0123ABCD (in Slack: channel details, "
                f"at the bottom), not {value!r}."
            )
            value = None
        channels[name] = value
    ttl = read.duration("APPROVAL_TTL", DEFAULT_TTL)
    lease = read.duration("EXECUTION_LEASE", DEFAULT_LEASE)
    undo_retention = read.duration("UNDO_RETENTION", DEFAULT_UNDO_RETENTION)
    protected: Pattern | None = None
    if read.text("PROTECTED_TAGS"):
        try:
            protected = compile_regex(read.text("PROTECTED_TAGS") or "")
        except PatternError as exc:
            read.problems.append(
                f"PROTECTED_TAGS must be a regular expression, like ^(latest|stable)$, in "
                f"{SYNTAX}: {exc.reason}."
            )
    database_url = read.text("DATABASE_URL") or DEFAULT_DATABASE_URL
    try:
        make_url(normalize_url(database_url))
    except Exception:
        read.problems.append(
            "DATABASE_URL must be a database URL, like sqlite:///registry-bot.db or "
            "postgresql://user:password@host:5432/dbname."
        )
    return DeletionSettings(
        approver_users=tuple(a for a in approvers if not a.startswith("S")),
        approver_groups=tuple(a for a in approvers if a.startswith("S")),
        approvals_required=read.number("APPROVALS_REQUIRED", 1, low=1, high=20, kind=int),
        approval_channel=channels["APPROVAL_CHANNEL"],
        audit_channel=channels["AUDIT_CHANNEL"],
        ttl=ttl,
        execution_lease=lease,
        undo_retention=undo_retention,
        protected_tags=protected,
        database_url=database_url,
    )


# The settings of the one registry a configuration file's registries replace.
ENV_REGISTRY = ("REGISTRY_URL", "REGISTRY_USERNAME", "REGISTRY_PASSWORD", "REGISTRY_CA_BUNDLE")


def _registry(read: _Reader) -> RegistrySettings:
    url = read.text("REGISTRY_URL") or DEFAULT_URL
    username = read.text("REGISTRY_USERNAME")
    password = read.env.get("REGISTRY_PASSWORD") or None
    try:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError
        if parsed.userinfo:
            # Credentials in the URL move to the credential settings, so the URL can be
            # shown and logged safely.
            username = username or parsed.username or None
            password = password or parsed.password or None
            url = str(parsed.copy_with(username=None, password=None))
    except (ValueError, httpx.InvalidURL):
        read.problems.append(
            "REGISTRY_URL must be the registry's base URL, like https://registry.example.com "
            "(the address of the Docker Registry HTTP API v2)."
        )
    if password and not username:
        read.problems.append("REGISTRY_PASSWORD is set but REGISTRY_USERNAME is not: set both.")
    ca_bundle = read.text("REGISTRY_CA_BUNDLE")
    if ca_bundle and not os.path.isfile(ca_bundle):
        read.problems.append(
            f"REGISTRY_CA_BUNDLE names {ca_bundle!r}, which is not a file: it must be a PEM file "
            "of the CA certificates that signed the registry's certificate."
        )
    return RegistrySettings(
        url=url,
        username=username,
        password=password,
        ca_bundle=ca_bundle,
        insecure=read.flag("REGISTRY_INSECURE", False),
        timeout=read.number("REGISTRY_TIMEOUT", 10.0, low=0.1, high=600),
        concurrency=read.number("REGISTRY_CONCURRENCY", 24, low=1, high=64, kind=int),
    )


def _log_level(read: _Reader) -> str:
    level = (read.text("LOG_LEVEL") or "INFO").upper()
    if level in LOG_LEVELS:
        return level
    read.problems.append(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}.")
    return "INFO"


def _events(read: _Reader) -> EventSettings:
    token = read.env.get("REGISTRY_EVENTS_TOKEN") or None
    if token is not None and len(token) < 16:
        read.problems.append(
            "REGISTRY_EVENTS_TOKEN must be at least 16 characters (a random string: "
            "openssl rand -hex 24); the registry sends it as a Bearer token."
        )
    channel = read.text("EVENTS_CHANNEL")
    if channel and not _CHANNEL_RE.match(channel):
        read.problems.append(
            f"EVENTS_CHANNEL must be a channel ID like C0123ABCD, not {channel!r}."
        )
        channel = None
    return EventSettings(token=token, channel=channel)


def _policies(read: _Reader) -> PolicySettings:
    name = read.text("POLICY_TIMEZONE") or "UTC"
    snapshots = read.flag("STORAGE_SNAPSHOTS", True)
    channel = read.text("STORAGE_REPORT_CHANNEL")
    if channel and not _CHANNEL_RE.match(channel):
        read.problems.append(
            f"STORAGE_REPORT_CHANNEL must be a channel ID like C0123ABCD, not {channel!r}."
        )
        channel = None
    if channel and not snapshots:
        read.problems.append(
            "STORAGE_REPORT_CHANNEL needs STORAGE_SNAPSHOTS: the weekly report is the "
            "day's snapshot."
        )
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        read.problems.append(
            f"POLICY_TIMEZONE must be an IANA time zone like UTC or Europe/Berlin, not {name!r}."
        )
        zone = ZoneInfo("UTC")
    return PolicySettings(zone, snapshots, channel)


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    dotenv_path: str | None = ".env",
    require_slack: bool = True,
) -> Settings:
    """Read and validate every setting; raise ConfigError listing all problems.

    ``require_slack=False`` reads the registry settings alone (for tools that do not
    talk to Slack).
    """
    env = dict(environ) if environ is not None else _environment(dotenv_path)
    read = _Reader(env)
    before = len(read.problems)
    registry = _registry(read)
    after = len(read.problems)  # its problems are moot when a file's registries replace it
    events = _events(read)
    registries: tuple[RegistryEntry, ...] = (RegistryEntry("default", registry, events.token),)
    owners: tuple[OwnerRule, ...] = ()
    warnings = []
    path = read.text("REGISTRY_BOT_CONFIG")
    if path:
        found, problems = read_config_file(path, env)
        read.problems += problems
        owners = found.owners
        if found.registries:
            set_too = [n for n in ENV_REGISTRY if read.text(n)]
            if set_too:
                warnings.append(
                    f"{', '.join(set_too)} {'is' if len(set_too) == 1 else 'are'} set, but "
                    f"the registries of {path} replace {'it' if len(set_too) == 1 else 'them'}."
                )
            del read.problems[before:after]
            registries = found.registries
            registry = registries[0].settings
            events = EventSettings(registries[0].events_token, events.channel)
    settings = Settings(
        slack=_slack(read) if require_slack else None,
        log_level=_log_level(read),
        registry=registry,
        deletions=_deletions(read),
        events=events,
        policies=_policies(read),
        registries=registries,
        owners=owners,
        warnings=tuple(warnings),
    )
    if read.problems:
        raise ConfigError(read.problems, path or None)
    return settings
