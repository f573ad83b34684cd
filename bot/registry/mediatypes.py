"""Manifest and blob media types, and the Accept header that asks for every one of them.

Asking with an incomplete Accept list makes registries convert or pick for you: a
multi-arch tag then resolves to one platform's child digest, or to a 404.
"""

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
DOCKER_V1 = "application/vnd.docker.distribution.manifest.v1+json"

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_V2})
SCHEMA1_TYPES = frozenset({DOCKER_V1_SIGNED, DOCKER_V1})
MANIFEST_TYPES = INDEX_TYPES | IMAGE_TYPES | SCHEMA1_TYPES

# Most specific first; every type listed, so nothing is converted or picked for us.
ACCEPT_MANIFESTS = ", ".join(
    [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_V2, DOCKER_V1_SIGNED, DOCKER_V1]
)

SHORT_NAMES = {
    OCI_INDEX: "OCI index",
    OCI_MANIFEST: "OCI manifest",
    DOCKER_LIST: "Docker manifest list",
    DOCKER_V2: "Docker v2 manifest",
    DOCKER_V1_SIGNED: "Docker v1 manifest (signed)",
    DOCKER_V1: "Docker v1 manifest",
}


def short_name(media_type: str) -> str:
    """A human name for a manifest media type ("OCI index"), or the type itself."""
    return SHORT_NAMES.get(media_type, media_type)
