"""TLS: a registry with a private CA, REGISTRY_CA_BUNDLE and REGISTRY_INSECURE."""

import logging

import pytest

from bot.registry import RegistryUnreachableError, Unreachable
from bot.slack.render.hints import explain
from testkit.registry_server import RegistryServer
from testkit.tls import make_ca_and_server_cert


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    ca, cert, key = make_ca_and_server_cert(folder)
    server = RegistryServer(tls=(str(cert), str(key))).start()
    yield server, str(ca)
    server.stop()


def test_unknown_ca_is_refused_with_a_hint(tls_registry, make_client):
    server, _ = tls_registry
    c = make_client(server.url)
    with pytest.raises(RegistryUnreachableError) as info:
        c.catalog()
    assert "TLS verification failed" in str(info.value)
    assert info.value.cause == Unreachable.TLS
    assert "REGISTRY_CA_BUNDLE" in explain(info.value)
    assert c.requests_sent == 1  # not retried


def test_ca_bundle(tls_registry, make_client):
    server, ca = tls_registry
    assert make_client(server.url, ca_bundle=ca).catalog() == []


def test_insecure_skips_verification_with_a_warning(tls_registry, make_client, caplog):
    server, _ = tls_registry
    with caplog.at_level(logging.WARNING):
        c = make_client(server.url, insecure=True)
    assert c.catalog() == []
    assert "NOT verified" in caplog.text
