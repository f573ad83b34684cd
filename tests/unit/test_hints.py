"""The front end's advice for each registry error: the registry layer states facts,
and this is the one place that names the bot's settings and commands."""

from __future__ import annotations

import pathlib
import re

import pytest

from bot.registry import (
    AuthenticationError,
    CatalogNotAllowedError,
    DeleteDisabledError,
    ManifestNotFoundError,
    PermissionDeniedError,
    RegistryResponseError,
    RegistryTimeoutError,
    RegistryUnreachableError,
    RepositoryNotFoundError,
    Unreachable,
)
from bot.slack.render.hints import explain, hint_for


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        (RegistryTimeoutError("slow.", seconds=2), "raise REGISTRY_TIMEOUT"),
        (RegistryUnreachableError("tls.", cause=Unreachable.TLS), "REGISTRY_CA_BUNDLE"),
        (RegistryUnreachableError("refused.", cause=Unreachable.REFUSED), "Check REGISTRY_URL"),
        (
            RegistryUnreachableError("dns.", cause=Unreachable.DNS, elsewhere=True),
            "(its token server or storage)",
        ),
        (AuthenticationError("anonymous."), "Set REGISTRY_USERNAME and REGISTRY_PASSWORD"),
        (AuthenticationError("rejected.", username="ci"), "Check REGISTRY_USERNAME"),
        (PermissionDeniedError("denied."), "Grant that permission"),
        (CatalogNotAllowedError("no catalog."), "/registry tags REPO"),
        (RepositoryNotFoundError("no repo."), "/registry repos"),
        (ManifestNotFoundError("no tag."), "/registry tags REPO"),
        (DeleteDisabledError("disabled.", hint="Start the registry with X."), "Start the registry"),
    ],
)
def test_each_error_gets_advice_in_the_bots_words(error, advice):
    assert advice in (hint_for(error) or "")
    assert explain(error).startswith(error.message) and advice in explain(error)


def test_an_error_without_advice_is_its_facts():
    error = RegistryResponseError("Unexpected HTTP 418.")
    assert hint_for(error) is None and explain(error) == "Unexpected HTTP 418."


def test_the_registry_layer_names_no_bot_setting_or_command():
    settings = re.findall(r"^([A-Z][A-Z0-9_]+)=", pathlib.Path(".env.example").read_text(), re.M)
    assert "REGISTRY_URL" in settings
    commands = ["/registry", "`repos`", "`tags", "tags REPO"]
    for path in pathlib.Path("bot/registry").glob("*.py"):
        text = path.read_text()
        found = [w for w in settings if re.search(rf"\b{w}\b", text)]
        found += [w for w in commands if w in text]
        assert not found, f"{path} names {found}"
