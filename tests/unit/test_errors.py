"""The error table: registry answers become typed errors with actionable messages."""

import httpx
import pytest

from bot.registry import (
    AuthenticationError,
    BlobNotFoundError,
    DeleteDisabledError,
    ManifestNotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RegistryResponseError,
    RepositoryNotFoundError,
)
from bot.registry.errors import error_from_response, parse_error_body
from bot.registry.http import parse_www_authenticate

REG = "https://reg.example"


def _err(
    status, *, codes=(), method="GET", path="/v2/app/manifests/v1", headers=None, body=None, **kw
):
    if body is None:
        entries = ",".join(
            f'{{"code": "{c}", "message": "{c.lower()} says", "detail": {{}}}}' for c in codes
        )
        body = f'{{"errors": [{entries}]}}'
    request = httpx.Request(method, f"https://bob:hunter2@reg.example{path}")
    response = httpx.Response(status, headers=headers or {}, content=body.encode(), request=request)
    kw.setdefault("action", "delete manifest" if method == "DELETE" else "get manifest")
    kw.setdefault("target", "app:v1")
    return error_from_response(response, registry=REG, **kw)


def test_parse_error_body():
    errors = parse_error_body(
        b'{"errors":[{"code":"NAME_UNKNOWN","message":"m","detail":{"n":1}}]}'
    )
    assert errors[0].code == "NAME_UNKNOWN" and errors[0].detail == {"n": 1}
    assert parse_error_body(b"<html>") == []
    assert parse_error_body(b'{"errors": "x"}') == []


@pytest.mark.parametrize(
    "status,codes", [(405, ()), (405, ("UNSUPPORTED",)), (400, ("UNSUPPORTED",))]
)
def test_delete_disabled(status, codes):
    err = _err(status, codes=codes, method="DELETE")
    assert isinstance(err, DeleteDisabledError)
    assert "deletion is disabled" in str(err)
    assert "REGISTRY_STORAGE_DELETE_ENABLED=true" in str(err)
    assert "storage.delete.enabled: true" in str(err)


def test_not_found_names_what():
    e = _err(404, codes=["NAME_UNKNOWN"], target="ghost:v1")
    assert isinstance(e, RepositoryNotFoundError) and "Repository ghost not found" in str(e)
    e = _err(404, codes=["MANIFEST_UNKNOWN"], target="app:v9")
    assert isinstance(e, ManifestNotFoundError) and "app:v9 not found" in str(e)
    e = _err(404, codes=["BLOB_UNKNOWN"], path="/v2/app/blobs/sha256:x", target="app@sha256:x")
    assert isinstance(e, BlobNotFoundError) and "Blob app@sha256:x" in str(e)
    e = _err(404, body="", path="/v2/app/blobs/sha256:x", target="app@sha256:x")
    assert isinstance(e, BlobNotFoundError)


def test_unauthorized_anonymous_and_with_credentials():
    e = _err(401, codes=["UNAUTHORIZED"])
    assert isinstance(e, AuthenticationError)
    assert "requires authentication" in str(e) and e.username is None
    e = _err(401, codes=["UNAUTHORIZED"], username="ci")
    assert isinstance(e, AuthenticationError)
    assert "rejected the credentials of user 'ci'" in str(e) and e.username == "ci"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": 403, "codes": ["DENIED"]},
        {"status": 401, "codes": ["DENIED"]},
        {
            "status": 401,
            "codes": ["UNAUTHORIZED"],
            "headers": {
                "WWW-Authenticate": 'Bearer realm="https://auth/token",service="reg",'
                'scope="repository:app:delete",error="insufficient_scope"'
            },
        },
    ],
)
def test_permission_denied_names_credential_and_scope(kwargs):
    e = _err(method="DELETE", username="ci", **kwargs)
    assert isinstance(e, PermissionDeniedError)
    assert "user 'ci' is not allowed" in str(e)
    if "headers" in kwargs:
        assert e.scope == "repository:app:delete"
        assert "repository:app:delete" in str(e)


def test_rate_limited_with_retry_after():
    e = _err(429, codes=["TOOMANYREQUESTS"], headers={"Retry-After": "17"})
    assert isinstance(e, RateLimitedError) and e.retry_after == 17
    assert "Retry after 17 s" in str(e)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors(status):
    e = _err(status, body="<html>bad gateway</html>")
    assert isinstance(e, RegistryResponseError) and f"HTTP {status}" in str(e)


def test_messages_never_contain_url_credentials():
    for status in (400, 401, 403, 404, 405, 429, 500):
        e = _err(status, codes=["X"])
        assert "hunter2" not in str(e) and "bob" not in str(e)
        assert "hunter2" not in (e.url or "")


def test_parse_www_authenticate():
    scheme, params = parse_www_authenticate(
        'Bearer realm="https://auth.example/token",service="registry.example",'
        'scope="repository:a/b:pull,push"'
    )
    assert scheme == "bearer"
    assert params == {
        "realm": "https://auth.example/token",
        "service": "registry.example",
        "scope": "repository:a/b:pull,push",
    }
    assert parse_www_authenticate('Basic realm="x"') == ("basic", {"realm": "x"})


def test_retry_after_as_http_date():
    import time
    from email.utils import formatdate

    from bot.registry.http import retry_after_seconds

    request = httpx.Request("GET", "https://reg.example/v2/")
    later = formatdate(time.time() + 120, usegmt=True)
    seconds = retry_after_seconds(
        httpx.Response(429, headers={"Retry-After": later}, request=request)
    )
    assert 110 <= seconds <= 121
    assert retry_after_seconds(httpx.Response(429, request=request)) is None
    assert (
        retry_after_seconds(httpx.Response(429, headers={"Retry-After": "soon"}, request=request))
        is None
    )
