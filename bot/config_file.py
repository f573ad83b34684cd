"""The configuration file (``REGISTRY_BOT_CONFIG``): TOML, read with the standard
library's ``tomllib``, for what environment variables can't express: several registries
(``[registries.NAME]``, the first the default) and owner rules (``[[owners]]``). Secrets
are named by environment variable, never written in the file, so it can be committed.

``read_config_file`` checks all of it and returns every problem at once, each saying
where it is (``[registries.prod] url``, ``[[owners]] #2 repositories``); bot.config
folds them into its one ``ConfigError``."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from .deletions import ApprovalGroup, OwnerRule
from .patterns import SYNTAX, Pattern, PatternError, compile_regex, glob_pattern
from .registry import InvalidReferenceError, RegistrySettings, validate_repository

REGISTRY_KEYS = frozenset(
    {
        "url",
        "username_env",
        "password_env",
        "events_token_env",
        "ca_bundle",
        "insecure",
        "timeout",
        "concurrency",
    }
)
OWNER_KEYS = frozenset(
    {
        "registries",
        "repositories",
        "approvers",
        "approvals_required",
        "protected_tags",
        "approval_channel",
        "events_channel",
        "also_required",
    }
)
ALSO_KEYS = frozenset({"approvers", "approvals"})
TOP_KEYS = frozenset({"registries", "owners"})
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")  # it goes into /registry/events/NAME
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SLACK_ID_RE = re.compile(r"^[UWS][A-Z0-9]{2,}$")
CHANNEL_RE = re.compile(r"^[CGD][A-Z0-9]{2,}$")
MIN_TOKEN = 16


@dataclass(frozen=True)
class RegistryEntry:
    """One registry the bot serves: its name (``default`` without a file), how to reach
    it, and the token its notifications must carry (``/registry/events/NAME``)."""

    name: str
    settings: RegistrySettings
    events_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ConfigFile:
    """What the file holds (``registries`` empty: the environment's one registry)."""

    registries: tuple[RegistryEntry, ...] = ()
    owners: tuple[OwnerRule, ...] = ()


class _Checker:
    """Reads values out of the file's tables, noting each problem with where it is."""

    def __init__(self, path: str, env: Mapping[str, str]) -> None:
        self.path, self.env = path, env
        self.problems: list[str] = []

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{self.path}: {where}: {text}")

    def unknown_keys(self, where: str, table: dict[str, Any], known: frozenset[str]) -> None:
        for key in sorted(set(table) - known):
            self.problem(where, f"unknown key {key!r} (known: {', '.join(sorted(known))}).")

    def string(self, where: str, table: dict[str, Any], key: str) -> str | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(f"{where} {key}", "must be a non-empty string.")
            return None
        return value.strip()

    def strings(self, where: str, table: dict[str, Any], key: str) -> tuple[str, ...] | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.problem(f"{where} {key}", "must be a list of strings.")
            return None
        return tuple(v.strip() for v in value)

    def number(
        self, where: str, table: dict[str, Any], key: str, low: float, high: float, integer: bool
    ) -> Any:
        value = table.get(key)
        if value is None:
            return None
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
            kind = "a whole number" if integer else "a number"
            self.problem(f"{where} {key}", f"must be {kind} from {low:g} to {high:g}.")
            return None
        return value

    def secret(self, where: str, table: dict[str, Any], key: str) -> str | None:
        """The value of the environment variable ``key`` names (a problem when unset)."""
        name = self.string(where, table, key)
        if name is None:
            return None
        if not ENV_NAME_RE.match(name):
            self.problem(f"{where} {key}", f"must name an environment variable, not {name!r}.")
            return None
        value = self.env.get(name) or None
        if value is None:
            self.problem(f"{where} {key}", f"names {name}, which is not set.")
        return value

    def channel(self, where: str, table: dict[str, Any], key: str) -> str | None:
        value = self.string(where, table, key)
        if value is not None and not CHANNEL_RE.match(value):
            self.problem(f"{where} {key}", f"must be a channel ID like C0123ABCD, not {value!r}.")
            return None
        return value

    def approvers(self, where: str, table: dict[str, Any]) -> tuple[str, ...]:
        ids = self.strings(where, table, "approvers")
        if not ids:
            if ids is not None or "approvers" not in table:
                self.problem(f"{where} approvers", "must list at least one approver.")
            return ()
        bad = [a for a in ids if not SLACK_ID_RE.match(a)]
        if bad:
            self.problem(
                f"{where} approvers",
                f"must be Slack user IDs (U..., W...) or user group IDs (S...); these are "
                f"not: {', '.join(bad)}.",
            )
        return tuple(a for a in ids if SLACK_ID_RE.match(a))


def _registry(check: _Checker, name: str, table: Any) -> RegistryEntry | None:
    where = f"[registries.{name}]"
    if not isinstance(table, dict):
        check.problem(where, "must be a table (url = ..., and the rest).")
        return None
    check.unknown_keys(where, table, REGISTRY_KEYS)
    if not NAME_RE.match(name):
        check.problem(where, "a registry's name is lowercase letters, digits and dashes.")
    url = check.string(where, table, "url")
    if url is None:
        if "url" not in table:
            check.problem(f"{where} url", "is missing: the registry's base URL.")
    else:
        try:
            parsed = httpx.URL(url)
            if parsed.scheme not in ("http", "https") or not parsed.host or parsed.userinfo:
                raise ValueError
        except (ValueError, httpx.InvalidURL):
            check.problem(
                f"{where} url",
                "must be the registry's base URL, like https://registry.example.com (no "
                "credentials in it: name them with username_env and password_env).",
            )
            url = None
    username = check.secret(where, table, "username_env")
    password = check.secret(where, table, "password_env")
    if ("password_env" in table) != ("username_env" in table):
        check.problem(where, "give both username_env and password_env, or neither.")
    token = check.secret(where, table, "events_token_env")
    if token is not None and len(token) < MIN_TOKEN:
        check.problem(
            f"{where} events_token_env",
            f"the token must be at least {MIN_TOKEN} characters (openssl rand -hex 24).",
        )
    ca_bundle = check.string(where, table, "ca_bundle")
    if ca_bundle is not None and not os.path.isfile(ca_bundle):
        check.problem(f"{where} ca_bundle", f"names {ca_bundle!r}, which is not a file.")
    insecure = table.get("insecure", False)
    if not isinstance(insecure, bool):
        check.problem(f"{where} insecure", "must be true or false.")
        insecure = False
    timeout = check.number(where, table, "timeout", 0.1, 600, integer=False)
    concurrency = check.number(where, table, "concurrency", 1, 64, integer=True)
    if url is None:
        return None
    settings = RegistrySettings(
        url=url,
        username=username,
        password=password,
        ca_bundle=ca_bundle,
        insecure=insecure,
        timeout=float(timeout or 10.0),
        concurrency=int(concurrency or 24),
    )
    return RegistryEntry(name, settings, token)


def _globs(check: _Checker, where: str, table: dict[str, Any]) -> tuple[str, ...]:
    globs = check.strings(where, table, "repositories")
    if not globs:
        check.problem(f"{where} repositories", "must list at least one repository glob.")
        return ()
    good = []
    for glob in globs:
        try:
            validate_repository(glob.replace("*", "a").replace("?", "a"))
            glob_pattern(glob, segments=True)
        except (InvalidReferenceError, PatternError) as exc:
            check.problem(f"{where} repositories", f"{glob!r} is not a repository glob: {exc}")
            continue
        good.append(glob)
    return tuple(good)


def _regex(check: _Checker, where: str, table: dict[str, Any], key: str) -> Pattern | None:
    text = check.string(where, table, key)
    if text is None:
        return None
    try:
        return compile_regex(text)
    except PatternError as exc:
        check.problem(f"{where} {key}", f"must be a regular expression in {SYNTAX}: {exc.reason}.")
        return None


def _owner(check: _Checker, position: int, table: Any, registries: set[str]) -> OwnerRule | None:
    where = f"[[owners]] #{position + 1}"
    if not isinstance(table, dict):
        check.problem(where, "must be a table.")
        return None
    check.unknown_keys(where, table, OWNER_KEYS)
    named = check.strings(where, table, "registries") or ()
    for name in named:
        if name not in registries:
            known = ", ".join(sorted(registries))
            check.problem(f"{where} registries", f"names {name!r}, not a registry here ({known}).")
    repositories = _globs(check, where, table)
    approvers = check.approvers(where, table)
    required = check.number(where, table, "approvals_required", 1, 20, integer=True) or 1
    also = table.get("also_required")
    group = None
    if also is not None:
        also_where = f"{where} also_required"
        if not isinstance(also, dict):
            check.problem(also_where, "must be a table: { approvers = [...], approvals = 1 }.")
        else:
            check.unknown_keys(also_where, also, ALSO_KEYS)
            others = check.approvers(also_where, also)
            count = check.number(also_where, also, "approvals", 1, 20, integer=True) or 1
            group = ApprovalGroup(others, count) if others else None
    return OwnerRule(
        position=position,
        repositories=repositories,
        approvers=approvers,
        approvals_required=required,
        registries=named,
        protected_tags=_regex(check, where, table, "protected_tags"),
        approval_channel=check.channel(where, table, "approval_channel"),
        events_channel=check.channel(where, table, "events_channel"),
        also_required=group,
    )


def read_config_file(path: str, env: Mapping[str, str]) -> tuple[ConfigFile, list[str]]:
    """The file at ``path`` and every problem in it (none: it can be used). ``env``
    holds the variables its ``*_env`` keys name."""
    check = _Checker(path, env)
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        return ConfigFile(), [f"REGISTRY_BOT_CONFIG names {path!r}, which can't be read: {exc}."]
    except tomllib.TOMLDecodeError as exc:
        return ConfigFile(), [f"{path}: not valid TOML: {exc}."]
    check.unknown_keys("the top level", data, TOP_KEYS)
    tables = data.get("registries", {})
    entries: list[RegistryEntry] = []
    if not isinstance(tables, dict):
        check.problem("registries", "must be tables: [registries.NAME].")
        tables = {}
    seen: dict[str, str] = {}
    for name, table in tables.items():
        if name.lower() in seen:
            check.problem(f"[registries.{name}]", f"names the registry {seen[name.lower()]} again.")
            continue
        seen[name.lower()] = name
        entry = _registry(check, name, table)
        if entry is not None:
            entries.append(entry)
    urls: dict[str, str] = {}
    for entry in entries:
        host = httpx.URL(entry.settings.url).netloc.decode().lower()
        if host in urls:
            check.problem(
                f"[registries.{entry.name}] url",
                f"is the host of [registries.{urls[host]}] too: a reference by host must "
                "name one registry.",
            )
        urls.setdefault(host, entry.name)
    rules = data.get("owners", [])
    if not isinstance(rules, list):
        check.problem("owners", "must be an array of tables: [[owners]].")
        rules = []
    names = set(seen.values()) if tables else {"default"}
    owners = [_owner(check, i, table, names) for i, table in enumerate(rules)]
    return (
        ConfigFile(tuple(entries), tuple(o for o in owners if o is not None)),
        check.problems,
    )
