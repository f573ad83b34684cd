"""The auth flow, driven step by step: scopes, token cache and expiry, one retry."""

import json

import httpx
import pytest

from bot.registry import AuthenticationError, RegistryResponseError
from bot.registry.auth import RegistryAuth, scope_for

CHALLENGE = 'Bearer realm="https://auth.test/token",service="reg.test",scope="{scope}"'


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/v2/_catalog", "registry:catalog:*"),
        ("GET", "/v2/a/b/tags/list", "repository:a/b:pull"),
        ("HEAD", "/v2/a/manifests/v1", "repository:a:pull"),
        ("DELETE", "/v2/a/manifests/sha256:1", "repository:a:delete"),
        ("DELETE", "/v2/a/blobs/sha256:1", "repository:a:delete"),
        ("POST", "/v2/a/blobs/uploads/", "repository:a:pull,push"),
        ("PUT", "/v2/x/manifests/y/manifests/latest", "repository:x/manifests/y:pull,push"),
        ("GET", "/v2/", None),
    ],
)
def test_scope_for(method, path, scope):
    assert scope_for(method, path) == scope


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _token_response(request, token, expires_in=None):
    body = {"token": token}
    if expires_in is not None:
        body["expires_in"] = expires_in
    return httpx.Response(200, content=json.dumps(body).encode(), request=request)


def _challenge(request, scope):
    return httpx.Response(
        401, headers={"WWW-Authenticate": CHALLENGE.format(scope=scope)}, request=request
    )


def run_flow(auth, request, answer):
    """Drive the flow; ``answer(request) -> response``. Returns the requests sent."""
    flow = auth.sync_auth_flow(request)
    sent = [next(flow)]
    try:
        while True:
            sent.append(flow.send(answer(sent[-1])))
    except StopIteration:
        pass
    return sent


def test_bearer_flow_fetches_token_with_basic_and_caches_it_for_the_scope():
    clock = Clock()
    auth = RegistryAuth("ci", "pw", clock=clock)
    tokens = iter(["t1", "t2"])

    def answer(req):
        if req.url.host == "auth.test":
            assert req.headers["Authorization"].startswith("Basic ")
            assert req.url.params["scope"] == "repository:app:pull"
            assert req.url.params["service"] == "reg.test"
            return _token_response(req, next(tokens))  # no expires_in: 60 s
        if req.headers.get("Authorization") in ("Bearer t1", "Bearer t2"):
            return httpx.Response(200, request=req)
        return _challenge(req, "repository:app:pull")

    sent = run_flow(auth, httpx.Request("GET", "https://reg.test/v2/app/tags/list"), answer)
    assert [r.url.host for r in sent] == ["reg.test", "auth.test", "reg.test"]
    # Cached: the next request goes straight out with the token.
    sent = run_flow(auth, httpx.Request("HEAD", "https://reg.test/v2/app/manifests/v1"), answer)
    assert len(sent) == 1 and sent[0].headers["Authorization"] == "Bearer t1"
    # 60 s later it has expired; the realm is known, so a new token is fetched first.
    clock.now += 61
    sent = run_flow(auth, httpx.Request("HEAD", "https://reg.test/v2/app/manifests/v1"), answer)
    assert [r.url.host for r in sent] == ["auth.test", "reg.test"]
    assert sent[-1].headers["Authorization"] == "Bearer t2"


def test_expires_in_is_honoured():
    clock = Clock()
    auth = RegistryAuth(clock=clock)

    def answer(req):
        if req.url.host == "auth.test":
            return _token_response(req, "tok", expires_in=600)
        if "Authorization" in req.headers:
            return httpx.Response(200, request=req)
        return _challenge(req, "repository:app:pull")

    run_flow(auth, httpx.Request("GET", "https://reg.test/v2/app/tags/list"), answer)
    clock.now += 500
    sent = run_flow(auth, httpx.Request("GET", "https://reg.test/v2/app/tags/list"), answer)
    assert len(sent) == 1


@pytest.mark.parametrize("expires_in", [float("inf"), 10**12])
def test_a_token_lives_at_most_a_day_whatever_the_server_says(expires_in):
    clock = Clock()
    auth = RegistryAuth(clock=clock)

    def answer(req):
        if req.url.host == "auth.test":
            return _token_response(req, "tok", expires_in=expires_in)
        if "Authorization" in req.headers:
            return httpx.Response(200, request=req)
        return _challenge(req, "repository:app:pull")

    run_flow(auth, httpx.Request("GET", "https://reg.test/v2/app/tags/list"), answer)
    clock.now += 23 * 3600
    assert (
        len(run_flow(auth, httpx.Request("GET", "https://reg.test/v2/app/tags/list"), answer)) == 1
    )
    clock.now += 3600
    sent = run_flow(auth, httpx.Request("GET", "https://reg.test/v2/app/tags/list"), answer)
    assert [r.url.host for r in sent] == ["auth.test", "reg.test"]  # asked again


@pytest.mark.parametrize("token", ["abc\r\nX-Evil: 1", "é", "two words"])
def test_a_token_a_header_cannot_carry_is_refused(token):
    auth = RegistryAuth()

    def answer(req):
        if req.url.host == "auth.test":
            return _token_response(req, token)
        return _challenge(req, "repository:app:pull")

    with pytest.raises(RegistryResponseError, match="header can't carry"):
        run_flow(auth, httpx.Request("GET", "https://reg.test/v2/app/tags/list"), answer)


def test_only_one_retry_on_a_new_challenge():
    auth = RegistryAuth()

    def answer(req):
        if req.url.host == "auth.test":
            return _token_response(req, "useless")
        return _challenge(req, "repository:app:delete")

    sent = run_flow(
        auth, httpx.Request("DELETE", "https://reg.test/v2/app/manifests/sha256:1"), answer
    )
    assert [r.url.host for r in sent] == ["reg.test", "auth.test", "reg.test"]


def test_separate_tokens_per_scope():
    auth = RegistryAuth()
    issued = []

    def answer(req):
        if req.url.host == "auth.test":
            issued.append(req.url.params["scope"])
            return _token_response(req, f"tok-{len(issued)}")
        if "Authorization" in req.headers:
            return httpx.Response(200, request=req)
        return _challenge(req, scope_for(req.method, req.url.path))

    run_flow(auth, httpx.Request("GET", "https://reg.test/v2/a/tags/list"), answer)
    run_flow(auth, httpx.Request("DELETE", "https://reg.test/v2/a/manifests/sha256:1"), answer)
    run_flow(auth, httpx.Request("GET", "https://reg.test/v2/_catalog"), answer)
    assert issued == ["repository:a:pull", "repository:a:delete", "registry:catalog:*"]


def test_basic_challenge_answered_once_with_credentials():
    auth = RegistryAuth("ci", "pw")

    def answer(req):
        if req.headers.get("Authorization", "").startswith("Basic "):
            return httpx.Response(200, request=req)
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'}, request=req)

    sent = run_flow(auth, httpx.Request("GET", "https://reg.test/v2/a/tags/list"), answer)
    assert len(sent) == 2
    # Afterwards Basic is sent up front.
    sent = run_flow(auth, httpx.Request("GET", "https://reg.test/v2/b/tags/list"), answer)
    assert len(sent) == 1 and sent[0].headers["Authorization"].startswith("Basic ")


def test_token_server_refusal_names_the_user_not_the_password():
    auth = RegistryAuth("ci", "topsecret")

    def answer(req):
        if req.url.host == "auth.test":
            return httpx.Response(401, request=req)
        return _challenge(req, "repository:app:pull")

    with pytest.raises(AuthenticationError) as info:
        run_flow(auth, httpx.Request("GET", "https://reg.test/v2/app/tags/list"), answer)
    assert "user 'ci'" in str(info.value) and info.value.username == "ci"
    assert "topsecret" not in str(info.value)


def test_requests_to_another_origin_go_out_bare():
    """With its home set, the auth gives nothing to another host: not the password, not
    a cached token, and a 401 there starts no token request."""
    auth = RegistryAuth("ci", "pw", home=httpx.URL("https://reg.test/"))

    def answer(req):
        if req.url.host == "auth.test":
            return _token_response(req, "tok")
        if req.url.host == "storage.test":
            return _challenge(req, "repository:app:pull")  # it asks too
        if "Authorization" in req.headers:
            return httpx.Response(200, request=req)
        return _challenge(req, "repository:app:pull")

    run_flow(auth, httpx.Request("GET", "https://reg.test/v2/app/tags/list"), answer)
    sent = run_flow(auth, httpx.Request("GET", "https://storage.test/v2/app/tags/list"), answer)
    assert len(sent) == 1 and "Authorization" not in sent[0].headers
    # At home, the cached token is still used.
    sent = run_flow(auth, httpx.Request("GET", "https://reg.test/v2/app/tags/list"), answer)
    assert sent[0].headers["Authorization"] == "Bearer tok"
