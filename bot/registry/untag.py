"""Removing one tag and nothing else.

Registries with OCI distribution 1.1 (distribution 3, zot, Quay) delete a tag with
``DELETE /v2/REPO/manifests/TAG``. Distribution 2.x cannot: there the tag is pointed at
a unique, minimal placeholder manifest, and that placeholder is deleted by digest (the
technique regctl uses), so the tag disappears and the other tags on the image stay.
Deletes must be enabled, or the placeholder would stay behind: that is checked first,
with a probe that changes nothing.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from . import mediatypes as mt
from .client import RegistryClient
from .errors import (
    ENABLE_DELETE_HINT,
    DeleteDisabledError,
    ManifestNotFoundError,
    RegistryError,
    RegistryResponseError,
)
from .manifest import sha256_digest

EMPTY_CONFIG = b"{}"
PLACEHOLDER_ANNOTATION = "dev.registry-bot.placeholder"
# Told of each manifest write before it is sent: ("PUT", digest, tag) for a push,
# ("DELETE", digest, None) for a manifest deleted by digest, ("DELETE_TAG", digest, tag)
# for a tag deleted on its own (OCI distribution 1.1).
WriteHook = Callable[[str, str, str | None], None]


def _no_hook(method: str, digest: str, tag: str | None) -> None:
    return None


class UntagMethod(StrEnum):
    TAG_DELETE = "tag-delete"  # the registry's own tag DELETE (OCI distribution 1.1)
    PLACEHOLDER = "placeholder"  # re-pointed at a placeholder, deleted by digest


@dataclass(frozen=True)
class UntagResult:
    """How the tag went, and where each other tag on the image points afterwards (None:
    it no longer resolves)."""

    method: UntagMethod
    siblings: dict[str, str | None] = field(default_factory=dict)

    def siblings_intact(self, digest: str) -> bool:
        return all(d == digest for d in self.siblings.values())


def _placeholder(config_digest: str) -> bytes:
    """A minimal OCI manifest no other tag can share (a random annotation)."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": {
                "mediaType": mt.OCI_EMPTY,
                "digest": config_digest,
                "size": len(EMPTY_CONFIG),
            },
            "layers": [],
            "annotations": {PLACEHOLDER_ANNOTATION: secrets.token_hex(16)},
        }
    ).encode()


def remove_tag(
    client: RegistryClient,
    repository: str,
    tag: str,
    digest: str,
    siblings: list[str],
    before_write: WriteHook = _no_hook,
) -> UntagResult:
    """Remove ``tag`` (which must still point at ``digest``); keep every sibling.
    ``before_write`` is told of each manifest write before it is sent (raising stops it).

    Raises DeleteDisabledError before changing anything when deletes are disabled, and
    RegistryResponseError when the tag has moved.
    """
    current = client.resolve(repository, tag)
    if current != digest:
        raise RegistryResponseError(
            f"Tag moved: {repository}:{tag} now points at {current}, not {digest}. "
            "Nothing was changed."
        )
    if not client.deletes_enabled(repository):
        raise DeleteDisabledError(
            f"Cannot remove {repository}:{tag}: deletion is disabled on the registry at "
            f"{client.display_url}, and the tag-only removal needs it (nothing was changed).",
            hint=ENABLE_DELETE_HINT,
        )
    before_write("DELETE_TAG", digest, tag)
    if client.delete_tag(repository, tag):
        method = UntagMethod.TAG_DELETE
    else:
        method = UntagMethod.PLACEHOLDER
        original = client.get_manifest(repository, digest)
        body = _placeholder(client.upload_blob(repository, EMPTY_CONFIG))
        before_write("PUT", sha256_digest(body), tag)
        placeholder = client.put_manifest(repository, tag, body, mt.OCI_MANIFEST)
        try:
            before_write("DELETE", placeholder, None)
            client.delete_manifest(repository, placeholder)
        except RegistryError:
            # Put the tag back where it was rather than leave it on the placeholder.
            before_write("PUT", original.digest, tag)
            client.put_manifest(repository, tag, original.body, original.media_type)
            raise
    after: dict[str, str | None] = {}
    for name in [tag, *siblings]:
        try:
            after[name] = client.resolve(repository, name)
        except ManifestNotFoundError:
            after[name] = None
    if after.pop(tag) is not None:
        raise RegistryResponseError(
            f"{repository}:{tag} still resolves after its removal ({method}); check the registry."
        )
    return UntagResult(method, after)
