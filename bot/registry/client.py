"""``RegistryClient``: the Docker Registry HTTP API v2 / OCI distribution client.

One keep-alive ``httpx.Client`` per registry; every failure becomes a typed
``RegistryError``. Listing follows Link headers; manifests are fetched with the full
Accept list; manifests by digest and config blobs go through a shared LRU cache.
Batch work (``map``) runs on workers of its own, bounded by ``RegistrySettings.concurrency``.
What it changes in the registry (deletes, uploads) is in ``writes.py``, its base.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from . import mediatypes as mt
from .auth import RegistryAuth
from .cache import LRUCache
from .errors import (
    AuthenticationError,
    CatalogNotAllowedError,
    DigestMismatchError,
    NotFoundError,
    PermissionDeniedError,
    RegistryError,
    RegistryResponseError,
    RegistryTimeoutError,
    RegistryUnreachableError,
    Unreachable,
    error_from_response,
    unreachable_cause,
)
from .http import load_json, origin, redact_url
from .manifest import (
    Descriptor,
    ImageConfig,
    IndexManifest,
    Manifest,
    parse_config,
    parse_manifest,
    sha256_digest,
)
from .pagination import MAX_PAGE_SIZE, next_page_url
from .reference import (
    check_reference,
    is_digest,
    reference_text,
    validate_digest,
    validate_repository,
)
from .settings import RegistrySettings
from .tls import tls_verify
from .transport import (
    MAX_BODY_EXTENSION,
    BodyTooLarge,
    PartialRead,
    RegistryTransport,
    reserved_slots,
)
from .writes import RegistryWrites

log = logging.getLogger(__name__)
USER_AGENT = "registry-bot/0.1"
# distribution refuses manifests over 4 MiB; image configs are small JSON documents.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_CONFIG_BYTES = 8 * 1024 * 1024
MAX_REDIRECTS = 5
T = TypeVar("T")
R = TypeVar("R")


class Names(list[str]):
    """Names from a paged list. ``cut`` says why the list is incomplete (a cap on pages,
    entries or time was reached); None when it is complete."""

    cut: str | None = None


class ListCut(Exception):
    """Raised inside ``_pages`` when a cap is reached, after the pages kept so far."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ManifestHead:
    """What a HEAD on a manifest says: its digest, media type and size."""

    digest: str
    media_type: str
    size: int | None


@dataclass(frozen=True)
class FetchedManifest:
    """A manifest document with its digest, media type and raw bytes."""

    digest: str
    media_type: str
    body: bytes
    manifest: Manifest


class RegistryClient(RegistryWrites):
    """A client for one registry. Thread-safe; close it (or use ``with``) when done."""

    def __init__(
        self,
        settings: RegistrySettings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        cache: LRUCache | None = None,
    ) -> None:
        self.settings = settings or RegistrySettings()
        s = self.settings
        self.base_url = httpx.URL(s.url.rstrip("/") + "/")
        self.display_url = redact_url(self.base_url).rstrip("/")
        inner = transport or httpx.HTTPTransport(
            verify=tls_verify(s, self.display_url),
            limits=httpx.Limits(
                max_connections=(s.concurrency + reserved_slots(s.concurrency)) * 2,
                max_keepalive_connections=s.concurrency,
            ),
        )
        self.transport = RegistryTransport(
            inner, concurrency=s.concurrency, retries=s.retries, deadline=s.timeout
        )
        self.auth = RegistryAuth(s.username, s.password, home=self.base_url)
        self._http = httpx.Client(
            base_url=self.base_url,
            transport=self.transport,
            auth=self.auth,
            timeout=httpx.Timeout(s.timeout),
            # A distinctive User-Agent lets the registry's own event feed tell the bot's
            # requests apart. No compression: a body's size is what the cap counts.
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
            follow_redirects=False,  # followed in _send_following, credentials kept home
        )
        # Several registries' clients may share one cache (one memory bound): every key
        # names the registry, so one's tags or manifests never answer for another's.
        self.cache = cache if cache is not None else LRUCache(s.cache_bytes)
        self._home = str(self.base_url)

    # -- lifecycle ---------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def requests_sent(self) -> int:
        """How many HTTP requests went to the registry (and its token server) so far."""
        return self.transport.requests_sent

    # -- plumbing ----------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        action: str,
        target: str,
        ok: Iterable[int] = (200,),
        max_body: int | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request; a status outside ``ok`` raises the matching RegistryError.
        ``max_body`` caps the response body (bytes); a larger one is refused unread."""
        if max_body is not None:
            kwargs["extensions"] = {MAX_BODY_EXTENSION: max_body}
        what = f"({action} {target})"
        try:
            response = self._send_following(method, url, **kwargs)
        except BodyTooLarge as exc:
            size = f"{exc.size:,} bytes" if exc.size is not None else "more than that"
            raise RegistryResponseError(
                f"The registry at {self.display_url} sent a body of {size}, over the "
                f"{exc.limit:,}-byte limit for this request {what}; it was not read.",
                url=redact_url(exc.url),
            ) from None
        except httpx.TimeoutException as exc:
            who, where = self._who_failed(exc)
            raise RegistryTimeoutError(
                f"{who} timed out after {self.settings.timeout:g} s {what}.",
                seconds=self.settings.timeout,
                url=where,
                elsewhere=where != self.display_url,
            ) from None
        except (httpx.InvalidURL, _NotFollowed) as exc:
            # httpx reads a redirect's Location even when it follows none itself.
            raise RegistryResponseError(
                f"The registry at {self.display_url} sent an address that is not an http(s) "
                f"URL {what}: {str(exc)[:100]}; it was not followed.",
                url=self.display_url,
            ) from None
        except PartialRead:
            raise RegistryResponseError(
                f"The connection to the registry at {self.display_url} broke in the middle "
                f"of an answer {what}.",
                url=self.display_url,
            ) from None
        except httpx.TransportError as exc:
            cause = unreachable_cause(exc)
            said = type(exc).__name__ if cause == Unreachable.OTHER else cause.value
            who, where = self._who_failed(exc)
            raise RegistryUnreachableError(
                f"{who} is unreachable {what}: {said}.",
                cause=cause,
                url=where,
                elsewhere=where != self.display_url,
            ) from None
        if response.status_code not in ok and origin(response.request.url) != origin(self.base_url):
            raise RegistryResponseError(
                f"The registry at {self.display_url} redirected {what} to "
                f"{redact_url(response.request.url.copy_with(raw_path=b'/'))}, which answered "
                f"HTTP {response.status_code}.",
                url=redact_url(response.request.url),
                status=response.status_code,
            )
        if response.status_code not in ok:
            raise error_from_response(
                response,
                action=action,
                target=target,
                username=self.settings.username,
                registry=self.display_url,
            )
        return response

    def _who_failed(self, exc: httpx.RequestError) -> tuple[str, str]:
        """Whose failure it was, for people: the registry, or the host the registry sent
        the request on to (its token server, or blob storage it redirected to)."""
        try:
            failed = exc.request.url
        except RuntimeError:  # no request attached
            return f"The registry at {self.display_url}", self.display_url
        if origin(failed) == origin(self.base_url):
            return f"The registry at {self.display_url}", self.display_url
        host = redact_url(failed.copy_with(raw_path=b"/"))
        return f"{host}, where the registry sent this request,", host

    def _send_following(self, method: str, url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
        """Send, following up to ``MAX_REDIRECTS`` redirects of GET and HEAD (blob
        storage: S3, a CDN). Credentials go to the registry's own origin only (the auth
        sends a hop to another origin bare, and a 401 it answers starts nothing)."""
        response = self._http.request(method, url, **kwargs)
        for _ in range(MAX_REDIRECTS):
            location = response.headers.get("Location")
            if not (response.is_redirect and location and method in ("GET", "HEAD")):
                return response
            url = response.request.url.join(location)
            if url.scheme not in ("http", "https"):
                raise _NotFollowed(location)
            response = self._http.request(
                method,
                url,
                headers=dict(kwargs.get("headers") or {}),
                extensions=kwargs.get("extensions"),
            )
        return response

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R | RegistryError]:
        """Run ``fn`` over ``items`` concurrently; each result is a value or its RegistryError.

        Each call has workers of its own (at most ``concurrency``), so one caller's
        thousands of items never queue another caller's work behind them; the
        transport's slots bound what reaches the registry. ``fn`` may call ``map``.
        """

        def safe(item: T) -> R | RegistryError:
            try:
                return fn(item)
            except RegistryError as exc:
                return exc

        items = list(items)
        if len(items) <= 1:
            return [safe(i) for i in items]
        workers = min(len(items), self.settings.concurrency)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="registry") as pool:
            return list(pool.map(safe, items))

    # -- listing -----------------------------------------------------------------------
    def _pages(
        self, path: str, key: str, action: str, target: str, page_size: int
    ) -> Iterator[list[str]]:
        """Every page of a list, capped in pages, entries and time; when a cap is hit,
        the last page yielded is followed by a ``ListCut`` (see ``_collect``)."""
        s = self.settings
        page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        url: httpx.URL | None = self.base_url.join(path).copy_set_param("n", str(page_size))
        seen: set[str] = set()
        pages = entries = 0
        started = time.monotonic()
        while url is not None:
            if str(url) in seen:
                raise RegistryResponseError(
                    f"The registry at {self.display_url} sent the same next-page link twice "
                    f"({action} {target}); stopping."
                )
            if pages >= s.list_max_pages:
                raise ListCut(f"stopped after {pages:,} pages (the limit)")
            if time.monotonic() - started > s.list_max_seconds:
                raise ListCut(f"stopped after {s.list_max_seconds:g} s (the limit)")
            seen.add(str(url))
            try:
                response = self.request("GET", url, action=action, target=target)
            except RegistryResponseError as exc:
                # A registry whose page limit is below ours answers 400
                # PAGINATION_NUMBER_INVALID: ask again with its own default page size.
                if exc.status == 400 and "n" in url.params:
                    url = url.copy_remove_param("n")
                    continue
                raise
            try:
                data = load_json(response.content)
                names = data.get(key) or []
                if not isinstance(names, list):
                    raise ValueError
            except ValueError:
                raise RegistryResponseError(
                    f"The registry at {self.display_url} sent a malformed list ({action} {target})."
                ) from None
            pages += 1
            room = s.list_max_entries - entries
            page = [str(n) for n in names[:room]]
            entries += len(page)
            yield page
            if len(names) > room:
                raise ListCut(f"stopped at {entries:,} entries (the limit)")
            url = next_page_url(response)

    def _collect(self, pages: Iterator[list[str]]) -> Names:
        names = Names()
        try:
            for page in pages:
                names.extend(page)
        except ListCut as cut:
            names.cut = cut.reason
            log.warning("list cut short at %s: %s", self.display_url, cut.reason)
        return names

    def iter_catalog(self, page_size: int = MAX_PAGE_SIZE) -> Iterator[list[str]]:
        """Repository names, one page at a time (at most 1000 a page)."""
        try:
            yield from self._pages(
                "v2/_catalog", "repositories", "list repositories", "", page_size
            )
        except (PermissionDeniedError, AuthenticationError, NotFoundError) as exc:
            if isinstance(exc, AuthenticationError) and exc.status != 401:
                raise  # the token server itself refused: a credentials problem
            raise CatalogNotAllowedError(
                f"The registry at {self.display_url} does not allow listing repositories "
                f"(HTTP {exc.status}).",
                url=exc.url,
                status=exc.status,
                errors=exc.errors,
            ) from None
        except RegistryResponseError as exc:
            if exc.status in (400, 405, 501):
                raise CatalogNotAllowedError(
                    f"The registry at {self.display_url} does not allow listing "
                    f"repositories (HTTP {exc.status}).",
                    url=exc.url,
                    status=exc.status,
                    errors=exc.errors,
                ) from None
            raise

    def catalog(self, page_size: int = MAX_PAGE_SIZE) -> Names:
        """Every repository name, following every page (``cut`` says when capped)."""
        return self._collect(self.iter_catalog(page_size))

    def tags(self, repository: str, page_size: int = MAX_PAGE_SIZE) -> Names:
        """Every tag of ``repository``, following every page (``cut`` says when capped).
        Never cached."""
        validate_repository(repository)
        return self._collect(
            self._pages(f"v2/{repository}/tags/list", "tags", "list tags of", repository, page_size)
        )

    # -- manifests ---------------------------------------------------------------------
    def head_manifest(
        self, repository: str, reference: str, *, remember: bool = True
    ) -> ManifestHead:
        """Resolve a tag (or check a digest) with HEAD and the full Accept list.
        ``remember``: keep the answer as a hint for later lookups of the tag (a read of
        every tag of a big repository need not fill the cache with them)."""
        validate_repository(repository)
        check_reference(reference)
        target = reference_text(repository, reference)
        response = self.request(
            "HEAD",
            f"v2/{repository}/manifests/{reference}",
            action="look up",
            target=target,
            headers={"Accept": mt.ACCEPT_MANIFESTS},
        )
        digest = response.headers.get("Docker-Content-Digest")
        media_type = _media_type(response)
        if not digest or not is_digest(digest):
            if is_digest(reference):
                digest = reference
            else:
                fetched = self.get_manifest(repository, reference)
                return ManifestHead(fetched.digest, fetched.media_type, len(fetched.body))
        length = response.headers.get("Content-Length")
        if remember:
            self._remember_tag(repository, reference, digest)
        return ManifestHead(
            digest,
            media_type,
            int(length) if length and length.isascii() and length.isdigit() else None,
        )

    def head_or_get(self, repository: str, tag: str) -> ManifestHead:
        """A tag's digest at the lowest cost: HEAD (one request) when the manifest the
        tag pointed at last time is cached, else GET by tag, which brings the digest and
        the body in one request (and caches the body by its digest). Tags move, so the
        remembered digest is only a hint for choosing; the answer is always the
        registry's."""
        hint = self.cache.get(("tag", self._home, repository, tag))
        if hint is not None and self.cache.get(("manifest", self._home, hint[0])) is not None:
            return self.head_manifest(repository, tag)
        fetched = self.get_manifest(repository, tag)
        return ManifestHead(fetched.digest, fetched.media_type, len(fetched.body))

    def _remember_tag(self, repository: str, reference: str, digest: str) -> None:
        if not is_digest(reference):
            self.cache.put(
                ("tag", self._home, repository, reference),
                (digest, time.monotonic()),
                128 + len(reference),
            )

    def recent_digest(self, repository: str, tag: str, within: float) -> str | None:
        """The digest the registry gave for ``tag`` in the last ``within`` seconds (from
        this client's own lookups), if any. The tag may have moved since."""
        hint = self.cache.get(("tag", self._home, repository, tag))
        if hint is None or time.monotonic() - hint[1] > within:
            return None
        return str(hint[0])

    def resolve(self, repository: str, reference: str) -> str:
        """The digest a tag (or digest) points at now."""
        if is_digest(reference):
            return reference
        return self.head_manifest(repository, reference).digest

    def cached_manifest(self, digest: str) -> FetchedManifest | None:
        """The manifest at ``digest`` if the cache holds it (no request)."""
        cached = self.cache.get(("manifest", self._home, digest))
        return cached if isinstance(cached, FetchedManifest) else None

    def get_manifest(self, repository: str, reference: str) -> FetchedManifest:
        """GET a manifest by tag or digest. By-digest results come from/go to the cache."""
        validate_repository(repository)
        check_reference(reference)
        by_digest = is_digest(reference)
        if by_digest and (cached := self.cached_manifest(reference)) is not None:
            return cached
        response = self.request(
            "GET",
            f"v2/{repository}/manifests/{reference}",
            action="get manifest",
            target=reference_text(repository, reference),
            headers={"Accept": mt.ACCEPT_MANIFESTS},
            max_body=MAX_MANIFEST_BYTES,
        )
        body = response.content
        manifest = parse_manifest(body, response.headers.get("Content-Type"))
        header_digest = response.headers.get("Docker-Content-Digest")
        computed = sha256_digest(body)
        if by_digest:
            digest = reference
            if (
                reference.startswith("sha256:")
                and computed != reference
                and manifest.media_type not in mt.SCHEMA1_TYPES
            ):
                raise RegistryResponseError(
                    f"The registry at {self.display_url} returned content for "
                    f"{reference_text(repository, reference)} whose digest is {computed}."
                )
        else:
            digest = header_digest if header_digest and is_digest(header_digest) else computed
            if (
                digest != computed
                and digest.startswith("sha256:")
                and manifest.media_type not in mt.SCHEMA1_TYPES
            ):
                shown = reference_text(repository, reference)
                raise DigestMismatchError(
                    f"The registry at {self.display_url} said {shown} is {digest}, but the "
                    f"content it sent is {computed}; refusing to trust either."
                )
        fetched = FetchedManifest(digest, manifest.media_type, body, manifest)
        self.cache.put(("manifest", self._home, digest), fetched, len(body) + 256)
        self._remember_tag(repository, reference, digest)
        return fetched

    def get_config(self, repository: str, digest: str) -> ImageConfig:
        """An image config blob, parsed (cached by digest)."""
        cached = self.cache.get(("config", self._home, digest))
        if isinstance(cached, ImageConfig):
            return cached
        body = self.get_blob(repository, digest, max_bytes=MAX_CONFIG_BYTES)
        computed = sha256_digest(body)
        if digest.startswith("sha256:") and computed != digest:
            raise DigestMismatchError(
                f"The registry at {self.display_url} sent content for the config "
                f"{repository}@{digest} whose digest is {computed}."
            )
        config = parse_config(body)
        # Charged what it weighs: the parsed config holds at most what the body held.
        self.cache.put(("config", self._home, digest), config, len(body) + 256)
        return config

    def get_blob(self, repository: str, digest: str, *, max_bytes: int) -> bytes:
        """A whole blob of at most ``max_bytes`` (configs); layers are never downloaded."""
        validate_repository(repository)
        validate_digest(digest)
        response = self.request(
            "GET",
            f"v2/{repository}/blobs/{digest}",
            action="get blob",
            target=f"{repository}@{digest}",
            max_body=max_bytes,
        )
        return response.content

    def blob_size(self, repository: str, digest: str) -> int | None:
        """HEAD a blob: its size (None when the registry does not say). Raises
        BlobNotFoundError when the repository does not have it."""
        validate_repository(repository)
        validate_digest(digest)
        response = self.request(
            "HEAD",
            f"v2/{repository}/blobs/{digest}",
            action="look up blob",
            target=f"{repository}@{digest}",
        )
        length = response.headers.get("Content-Length", "")
        return int(length) if length.isascii() and length.isdigit() else None

    def blob_exists(self, repository: str, digest: str) -> bool:
        """HEAD a blob: True when the repository has it."""
        try:
            self.blob_size(repository, digest)
        except NotFoundError:
            return False
        return True

    def referrers(self, repository: str, digest: str) -> list[Descriptor] | None:
        """Artifacts that refer to ``digest`` (signatures, SBOMs) through the OCI 1.1
        referrers API; None when the registry does not have that API."""
        validate_repository(repository)
        validate_digest(digest)
        try:
            response = self.request(
                "GET",
                f"v2/{repository}/referrers/{digest}",
                action="list referrers of",
                target=f"{repository}@{digest}",
                headers={"Accept": mt.OCI_INDEX},
            )
        except (NotFoundError, RegistryResponseError):
            return None
        if "json" not in response.headers.get("Content-Type", ""):
            return None
        try:
            index = parse_manifest(response.content, mt.OCI_INDEX)
        except RegistryResponseError:
            return None
        return list(index.manifests) if isinstance(index, IndexManifest) else None


class _NotFollowed(Exception):
    """A redirect to something other than http(s); the message is the Location."""


def _media_type(response: httpx.Response) -> str:
    return str(response.headers.get("Content-Type", "")).split(";")[0].strip()


__all__ = ["FetchedManifest", "ManifestHead", "Names", "RegistryClient"]
