"""Registry authentication as an ``httpx.Auth`` flow: anonymous, Basic, and Bearer tokens.

The Bearer flow is the one Harbor, GitLab, Docker Hub and distribution's ``auth: token``
use: a 401 carries ``WWW-Authenticate: Bearer realm=...,service=...,scope=...``; we ask
the realm for a token (with Basic credentials when configured), cache it per scope until
it expires (``expires_in``, 60 s when absent) and retry once. Once the realm is known,
tokens for new scopes are fetched before the request, saving the 401 round trip.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import httpx

from .errors import AuthenticationError, RegistryResponseError
from .http import load_json, origin, parse_www_authenticate, redact_url

DEFAULT_TOKEN_TTL = 60.0
MAX_TOKEN_TTL = 24 * 3600.0  # whatever a token server says ("expires_in": Infinity...)
# Renew a little early so a token never expires in flight.
EXPIRY_MARGIN = 5.0

_TOKEN_RE = re.compile(r"[\x21-\x7e]+")  # what an Authorization header may carry
_REPO_PATH_RE = re.compile(
    r"^/v2/(?P<name>.+)/(?:manifests/[^/]+|blobs/uploads/[^/]*|blobs/[^/]+|tags/list)$"
)


def scope_for(method: str, path: str) -> str | None:
    """The token scope a request needs: ``repository:NAME:pull`` to read,
    ``repository:NAME:delete`` to delete, ``pull,push`` to write, and
    ``registry:catalog:*`` for the catalog."""
    if path.rstrip("/") == "/v2/_catalog":
        return "registry:catalog:*"
    match = _REPO_PATH_RE.match(path)
    if not match:
        return None
    if method in ("GET", "HEAD"):
        action = "pull"
    elif method == "DELETE":
        action = "delete"
    else:
        action = "pull,push"
    return f"repository:{match.group('name')}:{action}"


@dataclass
class _Token:
    value: str
    expires_at: float


class RegistryAuth(httpx.Auth):
    """Anonymous, Basic or Bearer, whichever the registry asks for. With ``home`` (the
    registry's URL), a request to any other origin goes out bare: no credentials, no
    token, and its 401 starts nothing."""

    requires_response_body = True

    def __init__(
        self,
        username: str | None = None,
        password: str | None = None,
        *,
        home: httpx.URL | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._home = origin(home) if home is not None else None
        self._basic = httpx.BasicAuth(username, password or "") if username else None
        self._username = username
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        self._realm: dict[str, str] | None = None  # realm and service, once challenged
        self._use_basic = False

    # -- token cache -------------------------------------------------------------------
    def _cached(self, scope: str | None) -> str | None:
        if scope is None:
            return None
        with self._lock:
            token = self._tokens.get(scope)
            if token and token.expires_at - EXPIRY_MARGIN > self._clock():
                return token.value
            return None

    def _store(self, scope: str, value: str, ttl: float) -> None:
        with self._lock:
            self._tokens[scope] = _Token(value, self._clock() + ttl)

    # -- flow --------------------------------------------------------------------------
    def _token_request(self, params: dict[str, str], scope: str | None) -> httpx.Request:
        realm = params["realm"]
        try:
            url: httpx.URL | None = httpx.URL(realm)
        except httpx.InvalidURL:
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            shown = redact_url(url) if url is not None else realm
            raise RegistryResponseError(
                f"The registry asks for a token from {shown[:120]!r}, which is not an http(s) "
                "address, so none was asked for.",
                hint="The registry's token settings (auth: token: realm) need fixing.",
                status=401,
            )
        query = {}
        if params.get("service"):
            query["service"] = params["service"]
        if scope:
            query["scope"] = scope
        request = httpx.Request("GET", url, params=query)
        if self._basic:
            request = next(self._basic.auth_flow(request))
        return request

    def _read_token(
        self, response: httpx.Response, realm: str, scope: str | None
    ) -> tuple[str, float]:
        who = f"user {self._username!r}" if self._username else "anonymous access"
        if response.status_code in (401, 403):
            raise AuthenticationError(
                f"The token server at {redact_url(realm)} refused {who} "
                f"(HTTP {response.status_code}) for scope {scope or '(none)'}.",
                username=self._username,
                status=response.status_code,
                url=redact_url(realm),
            )
        try:
            data = load_json(response.content)
            if not isinstance(data, dict):
                raise ValueError
            token = data.get("token") or data.get("access_token")
            if response.status_code != 200 or not isinstance(token, str):
                raise ValueError
        except ValueError:
            raise AuthenticationError(
                f"The token server at {redact_url(realm)} gave no token "
                f"(HTTP {response.status_code}) for scope {scope or '(none)'}.",
                username=self._username,
                status=response.status_code,
                url=redact_url(realm),
            ) from None
        if not _TOKEN_RE.fullmatch(token):
            raise RegistryResponseError(
                f"The token server at {redact_url(realm)} gave a token with characters a "
                "header can't carry (spaces, line breaks, or beyond ASCII); it was not used.",
                url=redact_url(realm),
            )
        ttl = data.get("expires_in")
        ttl = float(ttl) if isinstance(ttl, (int, float)) and ttl > 0 else DEFAULT_TOKEN_TTL
        ttl = min(ttl, MAX_TOKEN_TTL)
        return token, ttl

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._home is not None and origin(request.url) != self._home:
            yield request  # another host (blob storage a redirect named): nothing of ours
            return
        scope = scope_for(request.method, request.url.path)
        token = self._cached(scope)
        if token is None and self._realm is not None and scope is not None:
            token_response = yield self._token_request(self._realm, scope)
            token, ttl = self._read_token(token_response, self._realm["realm"], scope)
            self._store(scope, token, ttl)
        if token is not None:
            request.headers["Authorization"] = f"Bearer {token}"
        elif self._use_basic and self._basic:
            request = next(self._basic.auth_flow(request))

        response = yield request
        if response.status_code != 401:
            return
        scheme, params = parse_www_authenticate(response.headers.get("WWW-Authenticate", ""))
        if scheme == "basic" and self._basic and not self._use_basic:
            self._use_basic = True
            yield next(self._basic.auth_flow(request))
            return
        if scheme != "bearer" or "realm" not in params:
            return
        if params.get("error") == "insufficient_scope" and token is not None:
            # We already presented a token for this scope: a new one will not do better.
            return
        wanted = params.get("scope") or scope
        self._realm = {"realm": params["realm"], "service": params.get("service", "")}
        token_response = yield self._token_request(params, wanted)
        token, ttl = self._read_token(token_response, params["realm"], wanted)
        if scope:
            self._store(scope, token, ttl)
        if wanted and wanted != scope:
            self._store(wanted, token, ttl)
        request.headers["Authorization"] = f"Bearer {token}"
        yield request
