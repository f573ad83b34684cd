"""Settings from the environment and a ``.env`` file, validated once at start.

Real environment variables win over ``.env``. ``load_settings`` collects every problem
and raises one ``ConfigError`` naming each bad or missing variable and what it is for.
Every variable is documented in ``.env.example``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from dotenv import dotenv_values

from .registry.settings import DEFAULT_URL, RegistrySettings

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


class ConfigError(Exception):
    """One or more settings are missing or malformed; ``problems`` lists each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    registry: RegistrySettings


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def str(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return value or None

    def bool(self, name: str, default: bool) -> bool:
        value = self.env.get(name)
        if value is None:
            return default
        if value.strip().lower() in TRUE:
            return True
        if value.strip().lower() in FALSE:
            return False
        self.problems.append(f"{name} must be true or false, not {value!r}.")
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


def load_settings(
    environ: Mapping[str, str] | None = None, *, dotenv_path: str | None = ".env"
) -> Settings:
    """Read and validate every setting; raise ConfigError listing all problems."""
    env = dict(environ) if environ is not None else _environment(dotenv_path)
    read = _Reader(env)

    url = read.str("REGISTRY_URL") or DEFAULT_URL
    try:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError
    except (ValueError, httpx.InvalidURL):
        read.problems.append(
            "REGISTRY_URL must be the registry's base URL, like https://registry.example.com "
            "(the address of the Docker Registry HTTP API v2)."
        )
    username = read.str("REGISTRY_USERNAME")
    password = env.get("REGISTRY_PASSWORD") or None
    if password and not username:
        read.problems.append("REGISTRY_PASSWORD is set but REGISTRY_USERNAME is not: set both.")
    ca_bundle = read.str("REGISTRY_CA_BUNDLE")
    if ca_bundle and not os.path.isfile(ca_bundle):
        read.problems.append(
            f"REGISTRY_CA_BUNDLE names {ca_bundle!r}, which is not a file: it must be a PEM file "
            "of the CA certificates that signed the registry's certificate."
        )
    registry = RegistrySettings(
        url=url,
        username=username,
        password=password,
        ca_bundle=ca_bundle,
        insecure=read.bool("REGISTRY_INSECURE", False),
        timeout=read.number("REGISTRY_TIMEOUT", 10.0, low=0.1, high=600),
        concurrency=read.number("REGISTRY_CONCURRENCY", 16, low=1, high=64, kind=int),
    )
    if read.problems:
        raise ConfigError(read.problems)
    return Settings(registry=registry)
