"""The registry protocol: references, listing, manifests, auth, errors and cache.

Knows nothing of Slack. Front ends build on the typed results and errors exported here.
"""

from .client import USER_AGENT, FetchedManifest, ManifestHead, RegistryClient
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
from .mediatypes import short_name
from .pages import RepoPage, TagPage, filter_names, repo_page, tag_page
from .reference import (
    Reference,
    is_digest,
    parse_reference,
    validate_repository,
    validate_tag,
)
from .settings import DEFAULT_URL, RegistrySettings
from .units import human_size

__all__ = [
    "DEFAULT_URL",
    "USER_AGENT",
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
    "RepoPage",
    "RepositoryNotFoundError",
    "TagPage",
    "Unreachable",
    "describe",
    "describe_digests",
    "describe_tags",
    "filter_names",
    "human_size",
    "is_digest",
    "parse_reference",
    "repo_page",
    "short_name",
    "tag_page",
    "validate_repository",
    "validate_tag",
]
