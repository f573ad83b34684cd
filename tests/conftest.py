"""Shared fixtures: real registry processes (delete on/off, Basic auth, token auth),
a token server, and client factories that close what they open; and the test tiers.

Tiers, each runnable alone with ``-m``:
- ``unit``: no process of ours or the registry's (parsing, rendering, the transport
  against MockTransport or scripted loopback servers, Hypothesis);
- ``registry``: against real ``docker-registry`` processes (and PostgreSQL when
  ``TEST_DATABASE_URL`` is set);
- ``bot``: the real registry-bot process, over signed HTTP, with the Slack stand-in.
A test is ``bot`` when its module says so, ``registry`` when it uses a registry
fixture (or its module says so), and ``unit`` otherwise.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.registry import RegistryClient, RegistrySettings
from testkit.deletions import service_factory
from testkit.proxy import RegistryProxy
from testkit.registry_server import RegistryServer, TokenAuthConfig
from testkit.token_server import ISSUER, SERVICE, TokenServer

BASIC_USER, BASIC_PASSWORD = "alice", "s3cret-Basic-pw"
TOKEN_USERS = {"admin": "admin-Token-pw", "reader": "reader-Token-pw"}
TOKEN_GRANTS = {"admin": {"*"}, "reader": {"pull"}}


TIERS = ("unit", "registry", "bot")
_REGISTRY_FIXTURES = {"client", "counting", "make_client", "make_service", "token_server"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.get_closest_marker(tier) for tier in TIERS):
            continue
        names = set(getattr(item, "fixturenames", ()))
        uses_registry = names & _REGISTRY_FIXTURES or any(n.startswith("registry") for n in names)
        item.add_marker("registry" if uses_registry else "unit")


def _server(**kwargs) -> Iterator[RegistryServer]:
    server = RegistryServer(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def registry() -> Iterator[RegistryServer]:
    """A registry with deletion enabled."""
    yield from _server(delete_enabled=True)


@pytest.fixture(scope="session")
def registry_nodelete() -> Iterator[RegistryServer]:
    """A registry started without REGISTRY_STORAGE_DELETE_ENABLED."""
    yield from _server(delete_enabled=False)


@pytest.fixture(scope="session")
def registry_basic() -> Iterator[RegistryServer]:
    """A registry behind htpasswd Basic auth (bcrypt, made with htpasswd -B)."""
    if shutil.which("htpasswd") is None:
        pytest.fail("htpasswd is missing: scripts/test installs apache2-utils")
    folder = Path(tempfile.mkdtemp(prefix="htpasswd-"))
    line = subprocess.run(
        ["htpasswd", "-Bbn", BASIC_USER, BASIC_PASSWORD],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (folder / "htpasswd").write_text(line + "\n")
    yield from _server(htpasswd=str(folder / "htpasswd"))
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def token_server() -> Iterator[TokenServer]:
    folder = Path(tempfile.mkdtemp(prefix="token-"))
    server = TokenServer(folder, TOKEN_USERS, TOKEN_GRANTS).start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def registry_token(token_server: TokenServer) -> Iterator[RegistryServer]:
    """A registry with ``auth: token`` trusting the test token server."""
    config = TokenAuthConfig(
        realm=token_server.realm,
        service=SERVICE,
        issuer=ISSUER,
        root_cert_bundle=str(token_server.bundle),
    )
    yield from _server(token=config)


@pytest.fixture
def make_client() -> Iterator:
    """``make_client(url, **settings)``: a RegistryClient closed after the test."""
    clients: list[RegistryClient] = []

    def make(url: str, **kwargs) -> RegistryClient:
        kwargs.setdefault("timeout", 10.0)
        client = RegistryClient(RegistrySettings(url=url, **kwargs))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(registry: RegistryServer, make_client) -> RegistryClient:
    """A client of the delete-enabled registry."""
    return make_client(registry.url)


@pytest.fixture
def counting(registry: RegistryServer) -> Iterator[RegistryProxy]:
    """A counting proxy in front of the delete-enabled registry."""
    with RegistryProxy(registry.url) as proxy:
        yield proxy


@pytest.fixture
def make_service(database_url: str, counting: RegistryProxy) -> Iterator:
    """``make_service(**options)``: a DeletionService on a fresh database, talking to
    the registry through ``counting`` (see testkit.deletions)."""
    make, close = service_factory(database_url, counting.url)
    yield make
    close()


# -- databases ---------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a schema of its own in the PostgreSQL
    named by TEST_DATABASE_URL (skipped, with the reason, when that is unset)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry-bot.db'}"
        return
    yield from _postgres_schema()


def _postgres_schema() -> Iterator[str]:
    import os
    import uuid

    from sqlalchemy import create_engine, text

    from bot.database import normalize_url

    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip(
            "PostgreSQL tests need TEST_DATABASE_URL (CI sets it; e.g. "
            "postgresql://postgres@127.0.0.1:5432/test)"
        )
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(base))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
