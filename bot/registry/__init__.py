"""The registry protocol: references, listing, manifests, auth, errors and cache.

Knows nothing of Slack. Front ends build on the typed results and errors exported here.
"""

from .cache import LRUCache
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
from .http import load_json
from .image import Image, PlatformImage
from .manifest import Descriptor, IndexManifest, Platform
from .mediatypes import short_name
from .mentions import Mentions, find_references
from .names import Found, NameIndex, TagIndex
from .pages import RepoPage, TagPage, filter_names, is_glob, repo_page, sort_tags, tag_page
from .reference import (
    Reference,
    is_digest,
    parse_reference,
    split_registry_host,
    validate_repository,
    validate_tag,
)
from .scan import (
    ImageCensus,
    ManifestsRead,
    RepoScan,
    artifact_tags_for,
    census_repository,
    scan_repository,
)
from .settings import DEFAULT_URL, RegistrySettings
from .units import human_size
from .untag import PLACEHOLDER_ANNOTATION, UntagMethod, WriteHook, remove_tag

__all__ = [
    "DEFAULT_URL",
    "PLACEHOLDER_ANNOTATION",
    "USER_AGENT",
    "AuthenticationError",
    "BlobNotFoundError",
    "CatalogNotAllowedError",
    "DeleteByTagError",
    "DeleteDisabledError",
    "Descriptor",
    "DigestMismatchError",
    "FetchedManifest",
    "Found",
    "Image",
    "ImageCensus",
    "IndexManifest",
    "InvalidReferenceError",
    "LRUCache",
    "ManifestHead",
    "ManifestNotFoundError",
    "ManifestsRead",
    "Mentions",
    "NameIndex",
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
    "RepoScan",
    "RepositoryNotFoundError",
    "TagIndex",
    "TagPage",
    "Unreachable",
    "UntagMethod",
    "WriteHook",
    "artifact_tags_for",
    "census_repository",
    "describe",
    "describe_digests",
    "describe_tags",
    "filter_names",
    "find_references",
    "human_size",
    "is_digest",
    "is_glob",
    "load_json",
    "parse_reference",
    "remove_tag",
    "repo_page",
    "scan_repository",
    "short_name",
    "sort_tags",
    "split_registry_host",
    "tag_page",
    "validate_repository",
    "validate_tag",
]
