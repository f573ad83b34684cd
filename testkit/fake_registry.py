"""An in-memory registry behind ``httpx.MockTransport``, for unit tests of the layers
above the protocol (the deletion state machine) that need no process.

It answers the handful of endpoints those layers use, as distribution 2.8 does: the
catalog, tag lists, manifests by tag or digest (GET, HEAD, DELETE by digest, which takes every tag
on the digest with it), blobs (HEAD, GET, DELETE) and 404 for the referrers API. How
real registries behave is recorded by the tests against ``docker-registry``; this
fake is only as faithful as those tests show it must be.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

import httpx

from bot.registry import RegistryClient, RegistrySettings
from bot.registry import mediatypes as mt

_PATH = re.compile(r"^/v2/(?P<name>.+?)/(?P<kind>manifests|blobs|tags|referrers)/(?P<ref>.*)$")


def _digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _unknown(code: str) -> httpx.Response:
    return httpx.Response(404, json={"errors": [{"code": code, "message": code.lower()}]})


@dataclass
class _Repository:
    tags: dict[str, str] = field(default_factory=dict)
    manifests: dict[str, bytes] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)


class FakeRegistry:
    def __init__(self) -> None:
        self.repositories: dict[str, _Repository] = {}
        self.deletes: list[str] = []  # paths of the DELETEs that changed something

    def push(
        self,
        repository: str,
        tags: list[str],
        salt: str,
        created: str | None = None,
        base: bytes | None = None,
    ) -> str:
        """A single-platform image under ``tags`` (its config ``created`` when given; a
        ``base`` layer below its own, when given); returns its digest."""
        repo = self.repositories.setdefault(repository, _Repository())
        document: dict[str, str] = {"os": "linux", "architecture": "amd64", "salt": salt}
        if created is not None:
            document["created"] = created
        config = json.dumps(document).encode()
        layer = f"layer of {salt}".encode()
        repo.blobs[_digest(config)] = config
        repo.blobs[_digest(layer)] = layer
        below = [base] if base is not None else []
        for blob in below:
            repo.blobs[_digest(blob)] = blob
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": mt.OCI_MANIFEST,
                "config": {
                    "mediaType": mt.OCI_CONFIG,
                    "digest": _digest(config),
                    "size": len(config),
                },
                "layers": [
                    {"mediaType": mt.OCI_LAYER, "digest": _digest(b), "size": len(b)}
                    for b in [*below, layer]
                ],
            }
        ).encode()
        digest = _digest(manifest)
        repo.manifests[digest] = manifest
        for tag in tags:
            repo.tags[tag] = digest
        return digest

    def client(self, url: str = "http://fake.registry") -> RegistryClient:
        return RegistryClient(
            RegistrySettings(url=url),
            transport=httpx.MockTransport(self.handle),
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/_catalog":
            return httpx.Response(200, json={"repositories": sorted(self.repositories)})
        match = _PATH.match(request.url.path)
        repo = self.repositories.get(match.group("name")) if match else None
        if match is None or repo is None:
            return _unknown("NAME_UNKNOWN")
        kind, ref = match.group("kind"), match.group("ref")
        if kind == "tags":
            return httpx.Response(200, json={"name": match.group("name"), "tags": list(repo.tags)})
        if kind == "referrers":
            return httpx.Response(404)
        if kind == "blobs":
            return self._blob(request, repo, ref)
        return self._manifest(request, repo, ref)

    def _manifest(self, request: httpx.Request, repo: _Repository, ref: str) -> httpx.Response:
        digest = ref if ref.startswith("sha256:") else repo.tags.get(ref)
        if digest is None or digest not in repo.manifests:
            return _unknown("MANIFEST_UNKNOWN")
        if request.method == "DELETE":
            if not ref.startswith("sha256:"):
                return httpx.Response(400, json={"errors": [{"code": "DIGEST_INVALID"}]})
            del repo.manifests[digest]
            for tag in [t for t, d in repo.tags.items() if d == digest]:
                del repo.tags[tag]
            self.deletes.append(request.url.path)
            return httpx.Response(202)
        body = repo.manifests[digest]
        headers = {"Content-Type": mt.OCI_MANIFEST, "Docker-Content-Digest": digest}
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            return httpx.Response(200, headers=headers)
        return httpx.Response(200, headers=headers, content=body)

    def _blob(self, request: httpx.Request, repo: _Repository, digest: str) -> httpx.Response:
        if digest not in repo.blobs:
            return _unknown("BLOB_UNKNOWN")
        if request.method == "DELETE":
            del repo.blobs[digest]
            self.deletes.append(request.url.path)
            return httpx.Response(202)
        body = repo.blobs[digest]
        if request.method == "HEAD":
            return httpx.Response(200, headers={"Content-Length": str(len(body))})
        return httpx.Response(200, content=body)
