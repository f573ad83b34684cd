"""Reference parsing against the distribution grammar."""

import pytest

from bot.registry import InvalidReferenceError, Reference, parse_reference

D256 = "sha256:" + "a" * 64
D512 = "sha512:" + "b" * 128


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("busybox", Reference("busybox")),
        ("library/busybox:1.36", Reference("library/busybox", tag="1.36")),
        (f"busybox@{D256}", Reference("busybox", digest=D256)),
        (f"a/b/c:v1.2-rc_3@{D512}", Reference("a/b/c", tag="v1.2-rc_3", digest=D512)),
        ("my-app__x.y/sub--z:latest", Reference("my-app__x.y/sub--z", tag="latest")),
        ("x:_private", Reference("x", tag="_private")),
    ],
)
def test_valid_references(text, expected):
    ref = parse_reference(text)
    assert ref == expected
    assert str(ref) == text


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("", "reference"),
        ("Busybox", "path component 'Busybox'"),
        ("busy box", "path component 'busy box'"),
        ("a//b", "path component '(empty)'"),
        ("-a", "path component '-a'"),
        ("a-", "path component 'a-'"),
        ("a..b", "path component 'a..b'"),
        ("a___b", "path component 'a___b'"),
        ("busybox:", "tag ''"),
        ("busybox:.hidden", "tag '.hidden'"),
        ("busybox:" + "x" * 129, "tag"),
        ("busybox@sha256:abc", "digest 'sha256:abc'"),
        ("busybox@sha256:" + "A" * 64, "digest"),
        ("busybox@md5:" + "a" * 32, "digest"),
        ("busybox@sha512:" + "a" * 64, "digest"),
        ("a" * 256, "repository name"),
    ],
)
def test_invalid_references_name_the_part_and_rule(text, part):
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference(text)
    message = str(info.value)
    assert part in message
    assert "must be" in message or "empty" in message or "limit" in message


def test_name_at_length_limit_is_accepted():
    name = "/".join(["a" * 127, "b" * 127])  # 255 characters
    assert parse_reference(name).repository == name


def test_identifier_prefers_digest_then_tag_then_latest():
    assert parse_reference("a").identifier == "latest"
    assert parse_reference("a:v1").identifier == "v1"
    assert parse_reference(f"a:v1@{D256}").identifier == D256


def test_port_like_colon_in_path_is_not_a_tag():
    # A registry host is not accepted: the colon before the last slash is invalid.
    with pytest.raises(InvalidReferenceError):
        parse_reference("localhost:5000/busybox")
