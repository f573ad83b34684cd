"""What a person should do about a registry error, in this bot's
words: its settings (``REGISTRY_URL``, ``APPROVERS``...) and its commands
(``/registry tags``...).

The registry and deletion layers report facts only; this is the one place that maps
each error type (and the facts it carries) to advice. Another front end (a CLI) would
have its own.
"""

from __future__ import annotations

from ...registry import (
    AuthenticationError,
    CatalogNotAllowedError,
    DeleteByTagError,
    ManifestNotFoundError,
    PermissionDeniedError,
    RegistryError,
    RegistryTimeoutError,
    RegistryUnreachableError,
    RepositoryNotFoundError,
    Unreachable,
)


def hint_for(error: RegistryError) -> str | None:
    """The advice for ``error``; the registry's own advice when the bot has none."""
    match error:
        case RegistryTimeoutError():
            return "Check that it is up and reachable from the bot, or raise REGISTRY_TIMEOUT."
        case RegistryUnreachableError(cause=Unreachable.TLS):
            return (
                "Set REGISTRY_CA_BUNDLE to the registry's CA file, or REGISTRY_INSECURE=true "
                "to skip verification."
            )
        case RegistryUnreachableError(elsewhere=True):
            return (
                "The registry answered but sent the request on to that host (its token "
                "server or storage): check that the bot can reach it, or ask the registry's "
                "operators."
            )
        case RegistryUnreachableError():
            return "Check REGISTRY_URL and that the registry is running."
        case AuthenticationError(username=None):
            return "Set REGISTRY_USERNAME and REGISTRY_PASSWORD."
        case AuthenticationError():
            return "Check REGISTRY_USERNAME and REGISTRY_PASSWORD."
        case PermissionDeniedError():
            return (
                "Grant that permission to the bot's registry account (REGISTRY_USERNAME), or "
                "use an account that has it."
            )
        case CatalogNotAllowedError():
            return "Name the repository instead: `/registry tags REPO`."
        case RepositoryNotFoundError():
            return "Check the name with `/registry repos`."
        case ManifestNotFoundError():
            return "Check the tag or digest with `/registry tags REPO`."
        case DeleteByTagError():
            return "Resolve the tag to its digest first and delete REPO@sha256:…"
    return error.hint


def explain(error: RegistryError) -> str:
    """The error's facts, then what to do."""
    hint = hint_for(error)
    return f"{error.message} {hint}" if hint else error.message
