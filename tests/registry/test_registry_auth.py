"""Basic (htpasswd) and Bearer token auth against real registries."""

import logging

import pytest

from bot.registry import (
    AuthenticationError,
    CatalogNotAllowedError,
    PermissionDeniedError,
    describe,
)
from bot.slack.render.hints import explain
from testkit.accounts import BASIC_PASSWORD, BASIC_USER, TOKEN_USERS
from testkit.images import push_image


def test_basic_auth(registry_basic, make_client):
    c = make_client(registry_basic.url, username=BASIC_USER, password=BASIC_PASSWORD)
    pushed = push_image(c, "basic/app", ["v1"])
    assert c.catalog() == ["basic/app"]
    assert describe(c, "basic/app", "v1").digest == pushed.digest


def test_basic_anonymous_is_told_to_set_credentials(registry_basic, make_client):
    c = make_client(registry_basic.url)
    with pytest.raises(AuthenticationError) as info:
        c.tags("basic/app")
    assert "requires authentication" in str(info.value)
    assert "Set REGISTRY_USERNAME and REGISTRY_PASSWORD" in explain(info.value)


def test_basic_wrong_password_names_user_never_password(registry_basic, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    c = make_client(registry_basic.url, username=BASIC_USER, password="wrong-pw-123")
    with pytest.raises(AuthenticationError) as info:
        c.tags("basic/app")
    message = str(info.value)
    assert f"user '{BASIC_USER}'" in message
    assert "Check REGISTRY_USERNAME and REGISTRY_PASSWORD" in explain(info.value)
    assert "wrong-pw-123" not in message
    assert "wrong-pw-123" not in caplog.text and BASIC_PASSWORD not in caplog.text
    assert "wrong-pw-123" not in repr(c.settings)


def test_token_auth_reader_can_read_and_tokens_are_cached(
    registry_token, token_server, make_client
):
    admin = make_client(registry_token.url, username="admin", password=TOKEN_USERS["admin"])
    pushed = push_image(admin, "tok/app", ["v1", "v2", "v3"])
    reader = make_client(registry_token.url, username="reader", password=TOKEN_USERS["reader"])
    token_server.requests.clear()
    assert sorted(reader.tags("tok/app")) == ["v1", "v2", "v3"]
    for tag in ("v1", "v2", "v3"):
        assert describe(reader, "tok/app", tag).digest == pushed.digest
    scopes = [r["scope"] for r in token_server.requests]
    # One token for repository:tok/app:pull serves every read.
    assert scopes == [["repository:tok/app:pull"]]
    assert token_server.requests[0]["user"] == "reader"
    assert token_server.requests[0]["service"] == "test-registry"


def test_token_auth_delete_scope(registry_token, token_server, make_client):
    admin = make_client(registry_token.url, username="admin", password=TOKEN_USERS["admin"])
    pushed = push_image(admin, "tok/del", ["v1"])
    reader = make_client(registry_token.url, username="reader", password=TOKEN_USERS["reader"])
    with pytest.raises(PermissionDeniedError) as info:
        reader.delete_manifest("tok/del", pushed.digest)
    assert info.value.scope == "repository:tok/del:delete"
    assert "user 'reader' is not allowed" in str(info.value)
    assert TOKEN_USERS["reader"] not in str(info.value)
    token_server.requests.clear()
    admin.delete_manifest("tok/del", pushed.digest)
    assert [r["scope"] for r in token_server.requests] == [["repository:tok/del:delete"]]


def test_token_auth_catalog_needs_catalog_scope(registry_token, make_client):
    admin = make_client(registry_token.url, username="admin", password=TOKEN_USERS["admin"])
    push_image(admin, "tok/cat", ["v1"])
    assert "tok/cat" in admin.catalog()
    reader = make_client(registry_token.url, username="reader", password=TOKEN_USERS["reader"])
    with pytest.raises(CatalogNotAllowedError, match="does not allow listing repositories"):
        reader.catalog()


def test_token_server_refuses_wrong_password(registry_token, make_client):
    c = make_client(registry_token.url, username="reader", password="not-it-42")
    with pytest.raises(AuthenticationError) as info:
        c.tags("tok/app")
    assert "token server" in str(info.value) and "not-it-42" not in str(info.value)


def test_anonymous_on_token_registry_gets_denied(registry_token, make_client):
    c = make_client(registry_token.url)
    with pytest.raises((AuthenticationError, PermissionDeniedError)) as info:
        c.tags("tok/app")
    assert "anonymous" in str(info.value) or "REGISTRY_USERNAME" in str(info.value)
