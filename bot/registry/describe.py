"""Describing tags in bulk: digest, size, created date, platforms and layers.

The work runs in stages, each stage concurrently for the whole batch, so a page of tags
costs a short chain of round trips rather than one round trip per request:

1. resolve every tag: GET by tag (digest and body in one request), or HEAD when the
   manifest it pointed at last time is cached (tags are never trusted from the cache);
2. GET each distinct manifest by digest not fetched yet (cache first);
3. GET the configs of single-platform manifests and the children of indexes;
4. GET the configs of those children.

A single-platform tag costs 2 requests cold (manifest by tag, config), and 1 (the HEAD)
once it has been seen before.
"""

from __future__ import annotations

from collections.abc import Iterable

from .client import FetchedManifest, RegistryClient
from .errors import RegistryError
from .image import Image, PlatformImage
from .manifest import Descriptor, ImageConfig, ImageManifest, IndexManifest
from .reference import is_digest


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


class _Batch:
    """Fetches manifests and configs for one repository, each distinct digest once."""

    def __init__(self, client: RegistryClient, repository: str) -> None:
        self.client = client
        self.repository = repository
        self.manifests: dict[str, FetchedManifest | RegistryError] = {}
        self.configs: dict[str, ImageConfig | RegistryError] = {}

    def fetch(self, manifest_digests: Iterable[str], config_digests: Iterable[str] = ()) -> None:
        wanted_m = [d for d in _unique(manifest_digests) if d not in self.manifests]
        wanted_c = [d for d in _unique(config_digests) if d not in self.configs]
        jobs = [("m", d) for d in wanted_m] + [("c", d) for d in wanted_c]

        def run(job: tuple[str, str]) -> FetchedManifest | ImageConfig:
            kind, digest = job
            if kind == "m":
                return self.client.get_manifest(self.repository, digest)
            return self.client.get_config(self.repository, digest)

        for (kind, digest), result in zip(jobs, self.client.map(run, jobs), strict=True):
            (self.manifests if kind == "m" else self.configs)[digest] = result  # type: ignore[index]

    @staticmethod
    def configs_of(fetched: Iterable[FetchedManifest | RegistryError]) -> list[str]:
        return [
            f.manifest.config.digest
            for f in fetched
            if isinstance(f, FetchedManifest)
            and isinstance(f.manifest, ImageManifest)
            and f.manifest.config is not None
        ]

    def platform_image(self, digest: str, descriptor: Descriptor | None = None) -> PlatformImage:
        fetched = self.manifests[digest]
        if isinstance(fetched, RegistryError):
            raise fetched
        manifest = fetched.manifest
        if isinstance(manifest, IndexManifest):  # a nested index: show it, without layers
            return PlatformImage(
                digest,
                manifest.media_type,
                descriptor.platform if descriptor else None,
                None,
                (),
                annotations=manifest.annotations,
                manifest_size=len(fetched.body),
            )
        config: ImageConfig | None = None
        if manifest.config is not None:
            result = self.configs.get(manifest.config.digest)
            config = result if isinstance(result, ImageConfig) else None
        platform = (
            (descriptor.platform if descriptor and descriptor.platform else None)
            or (config.platform if config else None)
            or manifest.v1_platform
        )
        return PlatformImage(
            digest=digest,
            media_type=manifest.media_type,
            platform=platform,
            config=manifest.config,
            layers=manifest.layers,
            created=config.created if config else manifest.v1_created,
            labels=config.labels if config else manifest.v1_labels,
            annotations=manifest.annotations,
            manifest_size=len(fetched.body),
        )

    def image(self, digest: str, tag: str | None) -> Image:
        fetched = self.manifests[digest]
        if isinstance(fetched, RegistryError):
            raise fetched
        manifest = fetched.manifest
        if isinstance(manifest, IndexManifest):
            platforms, attestations = [], []
            for child in manifest.manifests:
                entry = self.platform_image(child.digest, child)
                is_attestation = (
                    child.platform and child.platform.is_unknown
                ) or "vnd.docker.reference.type" in child.annotations
                (attestations if is_attestation else platforms).append(entry)
            return Image(
                self.repository,
                digest,
                manifest.media_type,
                tuple(platforms),
                tuple(attestations),
                manifest.annotations,
                tag,
                len(fetched.body),
            )
        single = self.platform_image(digest)
        return Image(
            self.repository,
            digest,
            manifest.media_type,
            (single,),
            (),
            manifest.annotations,
            tag,
            len(fetched.body),
        )


def describe_digests(
    client: RegistryClient, repository: str, refs: list[tuple[str | None, str]]
) -> list[Image | RegistryError]:
    """Describe ``(tag, digest)`` pairs whose digests are already known (stages 2 to 4)."""
    batch = _Batch(client, repository)
    batch.fetch(d for _, d in refs)
    tops = [batch.manifests[d] for _, d in refs]
    children = [
        c.digest
        for f in tops
        if isinstance(f, FetchedManifest) and isinstance(f.manifest, IndexManifest)
        for c in f.manifest.manifests
    ]
    batch.fetch(children, batch.configs_of(tops))
    batch.fetch((), batch.configs_of(batch.manifests[d] for d in _unique(children)))

    results: list[Image | RegistryError] = []
    for tag, digest in refs:
        try:
            results.append(batch.image(digest, tag))
        except RegistryError as exc:
            results.append(exc)
    return results


def describe_tags(
    client: RegistryClient, repository: str, tags: list[str]
) -> list[Image | RegistryError]:
    """Describe many tags of one repository; one failing tag does not fail the others."""
    heads = client.map(lambda tag: client.head_or_get(repository, tag), tags)
    resolved = [
        (t, h.digest) for t, h in zip(tags, heads, strict=True) if not isinstance(h, RegistryError)
    ]
    described = iter(describe_digests(client, repository, resolved))
    return [h if isinstance(h, RegistryError) else next(described) for h in heads]


def describe(client: RegistryClient, repository: str, reference: str) -> Image:
    """Describe one tag or digest; raises its RegistryError."""
    tag = None if is_digest(reference) else reference
    digest = reference if tag is None else client.head_manifest(repository, reference).digest
    result = describe_digests(client, repository, [(tag, digest)])[0]
    if isinstance(result, RegistryError):
        raise result
    return result
