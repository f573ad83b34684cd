"""Typed errors of the registry layer. They carry facts: what was being done, the URL
(without credentials), the status, the registry's error codes and messages, and
per class what else is known (the user name, the missing scope, why the registry could
not be reached). What a person should do about them is the front end's to say (the
bot's own settings and commands are not known here); ``hint`` holds only advice about
the registry itself, such as how to enable deletes on it.

``error_from_response`` turns a registry's HTTP answer (status, ``errors`` body,
``WWW-Authenticate`` and ``Retry-After`` headers) into one of these classes.
No message ever contains a credential: URLs are shown without their user info.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypedDict, Unpack

import httpx

from .http import load_json, parse_www_authenticate, redact_url, retry_after_seconds


@dataclass(frozen=True)
class ErrorDetail:
    """One entry of a registry's ``{"errors": [...]}`` body."""

    code: str
    message: str
    detail: object = None


def parse_error_body(body: bytes) -> list[ErrorDetail]:
    """The ``errors`` list of a distribution error body; empty when the body is not one."""
    try:
        data = load_json(body)
    except ValueError:
        return []
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return []
    out = []
    for entry in errors:
        if isinstance(entry, dict):
            out.append(
                ErrorDetail(
                    code=str(entry.get("code") or ""),
                    message=str(entry.get("message") or ""),
                    detail=entry.get("detail"),
                )
            )
    return out


class ErrorFacts(TypedDict, total=False):
    """The keyword arguments every RegistryError takes."""

    hint: str | None
    url: str | None
    status: int | None
    errors: list[ErrorDetail] | None


class RegistryError(Exception):
    """Base class: ``message`` is a complete sentence of facts; ``hint``, when set, is
    advice about the registry (not about whoever uses this client)."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        url: str | None = None,
        status: int | None = None,
        errors: list[ErrorDetail] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.url = url
        self.status = status
        self.errors = errors or []

    @property
    def codes(self) -> list[str]:
        return [e.code for e in self.errors]

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class InvalidReferenceError(RegistryError, ValueError):
    """A repository name, tag or digest that breaks the distribution grammar."""

    def __init__(self, text: str, part: str, rule: str) -> None:
        super().__init__(f"Invalid {part} in {text!r}: {rule}.")
        self.text = text
        self.part = part
        self.rule = rule


class DeleteByTagError(RegistryError, ValueError):
    """A manifest delete was asked for by tag: registry v2 deletes by digest only."""


class Unreachable(StrEnum):
    """Why no HTTP answer came."""

    DNS = "its host name does not resolve (DNS)"
    REFUSED = "connection refused"
    TLS = "TLS verification failed"
    TIMEOUT = "no answer in time"
    OTHER = "the connection failed"


def unreachable_cause(exc: httpx.TransportError) -> Unreachable:
    """Why no HTTP answer came, from the transport error's own words."""
    text = str(exc) or type(exc).__name__
    if (
        "Name or service not known" in text
        or "nodename nor servname" in text
        or "getaddrinfo" in text
        or "Temporary failure in name resolution" in text
    ):
        return Unreachable.DNS
    if "Connection refused" in text or "Errno 111" in text:
        return Unreachable.REFUSED
    if (isinstance(exc, httpx.ConnectError) and "SSL" in text) or "certificate" in text:
        return Unreachable.TLS
    return Unreachable.OTHER


class RegistryUnreachableError(RegistryError):
    """Connection refused, DNS failure, TLS failure, timeout: no HTTP answer at all.
    ``elsewhere``: the host that failed is not the registry but one it sent the request
    on to (its token server, blob storage); ``url`` names it."""

    def __init__(
        self,
        message: str,
        *,
        cause: Unreachable = Unreachable.OTHER,
        url: str | None = None,
        elsewhere: bool = False,
    ) -> None:
        super().__init__(message, url=url)
        self.cause = cause
        self.elsewhere = elsewhere


class RegistryTimeoutError(RegistryUnreachableError):
    """No answer within the client's deadline (``seconds``)."""

    def __init__(
        self, message: str, *, seconds: float, url: str | None = None, elsewhere: bool = False
    ) -> None:
        super().__init__(message, cause=Unreachable.TIMEOUT, url=url, elsewhere=elsewhere)
        self.seconds = seconds


class RateLimitedError(RegistryError):
    """429 / TOOMANYREQUESTS. ``retry_after`` is in seconds when the registry said."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, **facts: Unpack[ErrorFacts]
    ) -> None:
        super().__init__(message, **facts)
        self.retry_after = retry_after


class AuthenticationError(RegistryError):
    """401: no credentials, or credentials the registry (or its token server) refused.
    ``username`` is the user presented (None: anonymous)."""

    def __init__(
        self, message: str, *, username: str | None = None, **facts: Unpack[ErrorFacts]
    ) -> None:
        super().__init__(message, **facts)
        self.username = username


class PermissionDeniedError(RegistryError):
    """403 / DENIED / insufficient_scope: authenticated, but not allowed to do this."""

    def __init__(
        self, message: str, *, scope: str | None = None, **facts: Unpack[ErrorFacts]
    ) -> None:
        super().__init__(message, **facts)
        self.scope = scope


class NotFoundError(RegistryError):
    """Something named does not exist. Subclasses say what."""


class RepositoryNotFoundError(NotFoundError):
    """NAME_UNKNOWN."""


class ManifestNotFoundError(NotFoundError):
    """MANIFEST_UNKNOWN: the tag or digest is not in the repository."""


class BlobNotFoundError(NotFoundError):
    """BLOB_UNKNOWN."""


class DeleteDisabledError(RegistryError):
    """405 / UNSUPPORTED on a delete: the registry was started without delete enabled."""


class CatalogNotAllowedError(RegistryError):
    """The registry refuses ``/v2/_catalog`` (Harbor for non-admins, GHCR, Docker Hub...)."""


class RegistryResponseError(RegistryError):
    """Any other unexpected answer: a 5xx, a malformed body, a body too large."""


class DigestMismatchError(RegistryResponseError):
    """The registry named one digest and sent content with another: nothing it says
    about that content can be pinned."""


ENABLE_DELETE_HINT = (
    "Start the registry with REGISTRY_STORAGE_DELETE_ENABLED=true "
    "(storage.delete.enabled: true in its config.yml)."
)


class _Facts(TypedDict):
    """What every error made from a response carries (no hint: the classifier adds
    its own)."""

    url: str
    status: int
    errors: list[ErrorDetail]


@dataclass(frozen=True)
class _Answer:
    """A failed answer, read once: what every classifier below looks at."""

    response: httpx.Response
    action: str
    target: str  # "busybox:1.36"
    what: str  # "(get manifest busybox:1.36)"
    base: str  # the registry's URL as messages show it
    codes: frozenset[str]
    said: str  # " (registry said: ...)" or ""
    challenge: dict[str, str]  # WWW-Authenticate parameters
    username: str | None
    facts: _Facts

    @property
    def status(self) -> int:
        return self.response.status_code


def _unsupported(a: _Answer) -> RegistryError | None:
    if a.status != 405 and "UNSUPPORTED" not in a.codes:
        return None
    if a.action.startswith("delete"):
        return DeleteDisabledError(
            f"Cannot {a.action} {a.target}: deletion is disabled on the registry at {a.base}.",
            hint=ENABLE_DELETE_HINT,
            **a.facts,
        )
    return RegistryResponseError(
        f"The registry at {a.base} does not support this operation {a.what}{a.said}.", **a.facts
    )


def _rate_limited(a: _Answer) -> RegistryError | None:
    if a.status != 429 and "TOOMANYREQUESTS" not in a.codes:
        return None
    retry_after = retry_after_seconds(a.response)
    wait = f" Retry after {retry_after:.0f} s." if retry_after is not None else ""
    return RateLimitedError(
        f"The registry at {a.base} is rate limiting requests {a.what}.{wait}",
        hint="Try again later.",
        retry_after=retry_after,
        **a.facts,
    )


def _denied(a: _Answer) -> RegistryError | None:
    insufficient = a.challenge.get("error") == "insufficient_scope"
    if not (insufficient or a.status == 403 or "DENIED" in a.codes):
        return None
    scope = a.challenge.get("scope")
    who = f"user {a.username!r}" if a.username else "anonymous access (no credentials)"
    needs = f" It needs the scope {scope}." if scope else ""
    return PermissionDeniedError(
        f"Permission denied to {a.action} {a.target} on the registry at {a.base}: "
        f"{who} is not allowed to.{needs}{a.said}",
        scope=scope,
        **a.facts,
    )


def _unauthorized(a: _Answer) -> RegistryError | None:
    if a.status != 401 and "UNAUTHORIZED" not in a.codes:
        return None
    if a.username:
        return AuthenticationError(
            f"The registry at {a.base} rejected the credentials of user {a.username!r} "
            f"{a.what}{a.said}.",
            username=a.username,
            **a.facts,
        )
    return AuthenticationError(
        f"The registry at {a.base} requires authentication {a.what}.", **a.facts
    )


def _not_found(a: _Answer) -> RegistryError | None:
    if a.status != 404 and not a.codes & {"NAME_UNKNOWN", "MANIFEST_UNKNOWN", "BLOB_UNKNOWN"}:
        return None
    if "NAME_UNKNOWN" in a.codes:
        repository = a.target.split(":")[0].split("@")[0]
        return RepositoryNotFoundError(
            f"Repository {repository} not found on the registry at {a.base}.", **a.facts
        )
    if "BLOB_UNKNOWN" in a.codes or "/blobs/" in a.facts["url"]:
        return BlobNotFoundError(
            f"Blob {a.target} not found on the registry at {a.base}.", **a.facts
        )
    return ManifestNotFoundError(f"{a.target} not found on the registry at {a.base}.", **a.facts)


def _server_error(a: _Answer) -> RegistryError | None:
    if a.status < 500:
        return None
    return RegistryResponseError(
        f"The registry at {a.base} failed with HTTP {a.status} {a.what}{a.said}.",
        hint="The registry or a proxy in front of it is in trouble; try again shortly.",
        **a.facts,
    )


# In order: the first that recognises the answer names the error.
_CLASSIFIERS = (_unsupported, _rate_limited, _denied, _unauthorized, _not_found, _server_error)


def error_from_response(
    response: httpx.Response,
    *,
    action: str,
    target: str,
    username: str | None = None,
    registry: str | None = None,
) -> RegistryError:
    """The typed error for a failed registry answer.

    ``action`` is a verb phrase ("list tags of", "delete manifest"), ``target`` what it
    was about ("busybox:1.36"), ``username`` the user the client presents (None for
    anonymous access), ``registry`` the registry's URL as messages show it.
    """
    errors = parse_error_body(response.content)
    challenge = response.headers.get("WWW-Authenticate", "")
    first = errors[0].message if errors else ""
    answer = _Answer(
        response=response,
        action=action,
        target=target,
        what=f"({action} {target})",
        base=registry or redact_url(response.request.url.copy_with(raw_path=b"/")).rstrip("/"),
        codes=frozenset(e.code for e in errors),
        said=f" (registry said: {first})" if first else "",
        challenge=parse_www_authenticate(challenge)[1] if challenge else {},
        username=username,
        facts={
            "url": redact_url(response.request.url),
            "status": response.status_code,
            "errors": errors,
        },
    )
    for classify in _CLASSIFIERS:
        error = classify(answer)
        if error is not None:
            return error
    return RegistryResponseError(
        f"Unexpected HTTP {answer.status} from the registry at {answer.base} "
        f"{answer.what}{answer.said}.",
        **answer.facts,
    )
