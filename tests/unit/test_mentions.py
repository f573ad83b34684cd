"""Image references found in free text: the configured registry's host stripped,
other hosts named apart, bare words and URLs' other parts not taken for images, each
reference once, bounded."""

from __future__ import annotations

from bot.registry.mentions import MAX_TEXT, find_references

HOST = "registry.example.com:5000"
DIGEST = "sha256:" + "ab" * 32


def _found(text: str, host: str | None = HOST) -> list[str]:
    return [str(r) for r in find_references(text, host).references]


def test_a_ci_post_names_its_images():
    text = (
        f"Build #812 pushed `{HOST}/team/app:1.2` and team/worker@{DIGEST}\n"
        f"(see <https://ci.example.com/jobs/812|the job>); base: {HOST}/base/debian:12."
    )
    found = find_references(text, HOST)
    assert [str(r) for r in found.references] == [
        "team/app:1.2",
        f"team/worker@{DIGEST}",
        "base/debian:12",
    ]
    assert found.elsewhere == ["ci.example.com/jobs/812"]


def test_other_registries_are_named_apart_and_never_taken_for_ours():
    found = find_references("docker.io/library/busybox:1.36 and ghcr.io/org/tool:v1", HOST)
    assert found.references == []
    assert found.elsewhere == ["docker.io/library/busybox:1.36", "ghcr.io/org/tool:v1"]
    assert _found("localhost/app:1", host="127.0.0.1:5000") == []


def test_bare_words_and_bad_names_are_not_images():
    assert _found("the build passed at 12:30 on main") == []  # a time
    assert _found("passed, all good") == []
    assert _found("Team/App:1.0 UPPER/case") == []  # repository names are lowercase
    assert _found("app:1.0 app:1.0 app:1.0") == ["app:1.0"]  # each once


def test_the_text_looked_through_is_bounded():
    text = "x" * (MAX_TEXT + 10) + " team/late:1.0"
    assert _found(text) == []
    many = " ".join(f"team/app{i}:1" for i in range(50))
    assert len(find_references(many, HOST).references) == 10
