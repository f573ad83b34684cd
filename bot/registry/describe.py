"""Describing tags in bulk: digest, size, created date, platforms and layers.

Each tag is a chain of dependent requests, and each chain runs on its own as soon as
its previous step is done; there are no stage barriers where a whole page waits for
its slowest request:

1. resolve the tag: GET by tag (digest and body in one request), or HEAD when the
   manifest it pointed at last time is cached (tags are never trusted from the cache);
2. for a single-platform manifest, GET its config; for an index, run step 3 for every
   child at once;
3. GET the child's manifest by digest, then its config.

Every distinct manifest and config is fetched once per batch, however many tags share
it (single flight), and the client's cache spares the requests across batches. The
client's concurrency limit bounds what is in flight. A single-platform tag costs 2
requests cold (manifest by tag, config), and 1 (the HEAD) once it has been seen before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from .client import FetchedManifest, RegistryClient
from .errors import RegistryError
from .image import Image, PlatformImage
from .manifest import Descriptor, ImageConfig, IndexManifest
from .reference import is_digest

T = TypeVar("T")


class _Batch:
    """The manifests and configs of one repository, each fetched once for the batch
    even when several chains ask for it at the same moment."""

    def __init__(self, client: RegistryClient, repository: str) -> None:
        self.client = client
        self.repository = repository
        self._lock = threading.Lock()
        self._flights: dict[tuple[str, str], Future[object]] = {}

    def _once(self, key: tuple[str, str], fetch: Callable[[], T]) -> T:
        with self._lock:
            flight = self._flights.get(key)
            mine = flight is None
            if flight is None:
                flight = self._flights[key] = Future()
        if mine:
            try:
                flight.set_result(fetch())
            except BaseException as exc:
                flight.set_exception(exc)
        return flight.result()  # type: ignore[return-value]

    def manifest(self, digest: str) -> FetchedManifest:
        return self._once(
            ("manifest", digest), lambda: self.client.get_manifest(self.repository, digest)
        )

    def config(self, digest: str) -> ImageConfig:
        return self._once(
            ("config", digest), lambda: self.client.get_config(self.repository, digest)
        )

    def platform_image(
        self, fetched: FetchedManifest, descriptor: Descriptor | None = None
    ) -> PlatformImage:
        """One single-platform manifest (or a nested index, shown without layers)."""
        manifest = fetched.manifest
        if isinstance(manifest, IndexManifest):
            return PlatformImage(
                fetched.digest,
                manifest.media_type,
                descriptor.platform if descriptor else None,
                None,
                (),
                annotations=manifest.annotations,
                manifest_size=len(fetched.body),
            )
        config: ImageConfig | None = None
        if manifest.config is not None:
            try:
                config = self.config(manifest.config.digest)
            except RegistryError:
                config = None  # the image is still shown, without its config's facts
        platform = (
            (descriptor.platform if descriptor and descriptor.platform else None)
            or (config.platform if config else None)
            or manifest.v1_platform
        )
        return PlatformImage(
            digest=fetched.digest,
            media_type=manifest.media_type,
            platform=platform,
            config=manifest.config,
            layers=manifest.layers,
            created=config.created if config else manifest.v1_created,
            labels=config.labels if config else manifest.v1_labels,
            annotations=manifest.annotations,
            manifest_size=len(fetched.body),
        )

    def child(self, descriptor: Descriptor) -> PlatformImage:
        return self.platform_image(self.manifest(descriptor.digest), descriptor)

    def image(self, fetched: FetchedManifest, tag: str | None) -> Image:
        manifest = fetched.manifest
        if not isinstance(manifest, IndexManifest):
            single = self.platform_image(fetched)
            return Image(
                self.repository,
                fetched.digest,
                manifest.media_type,
                (single,),
                (),
                manifest.annotations,
                tag,
                len(fetched.body),
            )
        platforms: list[PlatformImage] = []
        attestations: list[PlatformImage] = []
        children = self.client.map(self.child, manifest.manifests)
        for descriptor, entry in zip(manifest.manifests, children, strict=True):
            if isinstance(entry, RegistryError):
                raise entry
            is_attestation = (
                descriptor.platform and descriptor.platform.is_unknown
            ) or "vnd.docker.reference.type" in descriptor.annotations
            (attestations if is_attestation else platforms).append(entry)
        return Image(
            self.repository,
            fetched.digest,
            manifest.media_type,
            tuple(platforms),
            tuple(attestations),
            manifest.annotations,
            tag,
            len(fetched.body),
        )


def describe_digests(
    client: RegistryClient, repository: str, refs: list[tuple[str | None, str]]
) -> list[Image | RegistryError]:
    """Describe ``(tag, digest)`` pairs whose digests are already known."""
    batch = _Batch(client, repository)
    return client.map(lambda ref: batch.image(batch.manifest(ref[1]), ref[0]), refs)


def describe_tags(
    client: RegistryClient, repository: str, tags: list[str]
) -> list[Image | RegistryError]:
    """Describe many tags of one repository; one failing tag does not fail the others."""
    batch = _Batch(client, repository)

    def chain(tag: str) -> Image:
        head = client.head_or_get(repository, tag)
        return batch.image(batch.manifest(head.digest), tag)

    return client.map(chain, tags)


def describe(client: RegistryClient, repository: str, reference: str) -> Image:
    """Describe one tag or digest; raises its RegistryError."""
    if is_digest(reference):
        result = describe_digests(client, repository, [(None, reference)])[0]
    else:
        result = describe_tags(client, repository, [reference])[0]
    if isinstance(result, RegistryError):
        raise result
    return result
