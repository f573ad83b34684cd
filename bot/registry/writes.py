"""What the registry client changes in the registry: manifests, blobs and tags deleted
(by digest only; a tag on its own where the registry has a tag delete), the probe that
tells whether deletes are enabled, and uploads (a blob, a manifest under a tag or
digest). A base of ``RegistryClient``, which supplies ``request`` and the addresses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from .errors import (
    DeleteByTagError,
    DeleteDisabledError,
    ManifestNotFoundError,
    NotFoundError,
    RegistryResponseError,
)
from .http import origin, redact_url
from .manifest import sha256_digest
from .reference import (
    check_reference,
    is_digest,
    reference_text,
    validate_digest,
    validate_repository,
    validate_tag,
)

NULL_DIGEST = "sha256:" + "0" * 64  # a digest no manifest can have: the deletes probe


class RegistryWrites:
    """The writes of ``RegistryClient`` (which sets these and sends ``request``)."""

    base_url: httpx.URL
    display_url: str

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
        raise NotImplementedError

    def delete_manifest(self, repository: str, digest: str) -> int:
        """Delete a manifest by digest; returns the HTTP status (202). A tag is refused
        before any request."""
        validate_repository(repository)
        if not is_digest(digest):
            raise DeleteByTagError(
                f"Cannot delete {repository}:{digest} by tag: the registry API (v2) deletes "
                "manifests by digest only, which removes every tag pointing at that digest.",
            )
        response = self.request(
            "DELETE",
            f"v2/{repository}/manifests/{digest}",
            action="delete manifest",
            target=f"{repository}@{digest}",
            ok=(200, 202),
        )
        return response.status_code

    def delete_blob(self, repository: str, digest: str) -> int:
        """Delete a blob (layer or config) by digest; returns the HTTP status (202)."""
        validate_repository(repository)
        validate_digest(digest)
        response = self.request(
            "DELETE",
            f"v2/{repository}/blobs/{digest}",
            action="delete blob",
            target=f"{repository}@{digest}",
            ok=(200, 202),
        )
        return response.status_code

    def deletes_enabled(self, repository: str) -> bool:
        """Probe, changing nothing: DELETE a digest no manifest can have. 404 means the
        registry accepts deletes; 405 / UNSUPPORTED means they are disabled."""
        try:
            self.delete_manifest(repository, NULL_DIGEST)
        except DeleteDisabledError:
            return False
        except NotFoundError:
            return True
        return True  # nothing to delete was deleted; the registry said yes

    def delete_tag(self, repository: str, tag: str) -> bool:
        """``DELETE /v2/REPO/manifests/TAG`` (OCI distribution 1.1: distribution 3,
        zot, Quay). True when the registry removed the tag alone; False when it has no
        tag delete (distribution 2.x answers 400 DIGEST_INVALID)."""
        validate_repository(repository)
        validate_tag(tag)
        try:
            self.request(
                "DELETE",
                f"v2/{repository}/manifests/{tag}",
                action="delete tag",
                target=f"{repository}:{tag}",
                ok=(200, 202),
            )
        except (RegistryResponseError, ManifestNotFoundError) as exc:
            if exc.status in (400, 404, 405):
                return False
            raise
        return True

    # -- writes (tests, seeding, tag-only removal) -------------------------------------
    def upload_blob(self, repository: str, data: bytes) -> str:
        """Upload a blob monolithically (POST then PUT); returns its digest."""
        validate_repository(repository)
        digest = sha256_digest(data)
        target = f"{repository}@{digest}"
        start = self.request(
            "POST",
            f"v2/{repository}/blobs/uploads/",
            action="upload blob to",
            target=target,
            ok=(202,),
        )
        location = start.headers.get("Location")
        try:
            put_url = (
                self.base_url.join(location).copy_set_param("digest", digest) if location else None
            )
        except httpx.InvalidURL:
            put_url = None
        if put_url is None:
            raise RegistryResponseError(
                f"The registry at {self.display_url} started an upload without a usable "
                f"Location to send it to ({target}).",
                url=self.display_url,
            )
        if origin(put_url) != origin(self.base_url):
            # The PUT would carry the registry's credentials to a host nobody named.
            raise RegistryResponseError(
                f"The registry at {self.display_url} asked for the upload of {target} to go "
                f"to {redact_url(put_url.copy_with(query=None, raw_path=b'/'))}, another host; "
                "nothing was sent there.",
                hint="If that is the registry's own public address, point the bot at that address.",
                url=self.display_url,
            )
        self.request(
            "PUT",
            put_url,
            action="upload blob to",
            target=target,
            ok=(201,),
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        return digest

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        """PUT a manifest under a tag or digest; returns its digest."""
        validate_repository(repository)
        check_reference(reference)
        response = self.request(
            "PUT",
            f"v2/{repository}/manifests/{reference}",
            action="push manifest",
            target=reference_text(repository, reference),
            ok=(201,),
            content=body,
            headers={"Content-Type": media_type},
        )
        return response.headers.get("Docker-Content-Digest") or sha256_digest(body)
