"""The registry protocol: references, listing, manifests, auth, errors and cache.

Knows nothing of Slack. Front ends build on the typed results and errors exported here.
"""

from .client import FetchedManifest, ManifestHead, RegistryClient
from .describe import describe, describe_digests, describe_tags
from .errors import (
    AuthenticationError,
    BlobNotFoundError,
    CatalogNotAllowedError,
    DeleteByTagError,
    DeleteDisabledError,
    DigestMismatchError,
    InvalidReferenceError,
    ManifestNotFoundError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RegistryError,
    RegistryResponseError,
    RegistryTimeoutError,
    RegistryUnreachableError,
    RepositoryNotFoundError,
    Unreachable,
)
from .image import Image, PlatformImage
from .manifest import Descriptor, Platform
from .pages import filter_names
from .reference import Reference, parse_reference
from .settings import RegistrySettings

__all__ = [
    "AuthenticationError",
    "BlobNotFoundError",
    "CatalogNotAllowedError",
    "DeleteByTagError",
    "DeleteDisabledError",
    "Descriptor",
    "DigestMismatchError",
    "FetchedManifest",
    "Image",
    "InvalidReferenceError",
    "ManifestHead",
    "ManifestNotFoundError",
    "NotFoundError",
    "PermissionDeniedError",
    "Platform",
    "PlatformImage",
    "RateLimitedError",
    "Reference",
    "RegistryClient",
    "RegistryError",
    "RegistryResponseError",
    "RegistrySettings",
    "RegistryTimeoutError",
    "RegistryUnreachableError",
    "RepositoryNotFoundError",
    "Unreachable",
    "describe",
    "describe_digests",
    "describe_tags",
    "filter_names",
    "parse_reference",
]
