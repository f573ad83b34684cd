"""Shared fixtures: real registry processes (delete on/off, Basic auth, token auth),
a token server, and client factories that close what they open; and the test tiers.

Tiers, each runnable alone with ``-m``:
- ``unit``: no process of ours or the registry's (parsing, rendering, the transport
  against MockTransport or scripted loopback servers, Hypothesis);
- ``registry``: against real ``docker-registry`` processes (and PostgreSQL when
  ``TEST_DATABASE_URL`` is set);
- ``bot``: the real registry-bot process, over signed HTTP, with the Slack stand-in.
A test's tier is its folder: ``tests/unit``, ``tests/registry``, ``tests/bot``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.registry import RegistryClient, RegistrySettings
from testkit.accounts import BASIC_PASSWORD, BASIC_USER, TOKEN_GRANTS, TOKEN_USERS
from testkit.databases import postgres_schema
from testkit.deletions import service_factory
from testkit.proxy import RegistryProxy
from testkit.registry_server import RegistryServer, TokenAuthConfig
from testkit.token_server import ISSUER, SERVICE, TokenServer

TIERS = ("unit", "registry", "bot")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test is marked with its folder's tier; a test outside them is an error."""
    for item in items:
        tier = Path(item.path).parent.name
        if tier not in TIERS:
            raise pytest.UsageError(f"{item.nodeid}: tests live in tests/{{{','.join(TIERS)}}}/")
        item.add_marker(tier)


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


@pytest.fixture
def own_registry() -> Iterator[RegistryServer]:
    """A registry of this test's own (garbage collection, or storage figures, cover
    every repository in it), deletion enabled."""
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
    yield from postgres_schema()
