"""Property-based tests (Hypothesis) of everything a registry, a token server or a
notification sends: any body or header gives a value or the parser's own error, never
another exception (found: JSON nested too deeply raised RecursionError everywhere, an
event dated 9999-12-31T23:59:59-14:00 raised OverflowError)."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.events.parse import EnvelopeError, parse_envelope
from bot.registry import RegistryResponseError
from bot.registry.errors import parse_error_body
from bot.registry.http import parse_next_link, parse_www_authenticate, retry_after_seconds
from bot.registry.manifest import ImageConfig, parse_config, parse_manifest
from bot.registry.pages import sort_tags
from bot.registry.pagination import next_page_url
from bot.slack.buttons import PageRef, PutBack, StorageShare

EVENTS = "application/vnd.docker.distribution.events.v1+json"
DIGEST = "sha256:" + "a" * 64
# Keys the parsers look for, so that generated documents reach past the first check.
KEYS = st.sampled_from(
    [
        "mediaType", "schemaVersion", "manifests", "layers", "config", "digest", "size",
        "platform", "annotations", "subject", "artifactType", "fsLayers", "blobSum",
        "history", "v1Compatibility", "created", "os", "architecture", "Labels", "errors",
        "code", "message", "detail", "events", "action", "target", "repository", "tag",
        "timestamp", "id", "request", "actor", "useragent", "name", "token",
    ]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(
        [
            DIGEST,
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.oci.image.manifest.v1+json",
            "push",
            "delete",
            "pull",
            "app/web",
            "9999-12-31T23:59:59-14:00",
            "0001-01-01T00:00:00Z",
            "2026-11-27T09:00:00.123456789Z",
        ]
    ),
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.one_of(KEYS, st.text(max_size=8)), inner, max_size=6)
    ),
    max_leaves=30,
)
BODIES = st.one_of(DOCUMENTS.map(lambda d: json.dumps(d).encode()), st.binary(max_size=200))
DEEP = [b"[" * 100_000, b'{"a":' * 50_000, b'{"events":' + b"[" * 100_000]


@given(
    BODIES, st.sampled_from([None, "application/json", "application/vnd.oci.image.index.v1+json"])
)
def test_any_manifest_body_is_a_manifest_or_unreadable(body, content_type):
    with contextlib.suppress(RegistryResponseError):
        parse_manifest(body, content_type)


@given(BODIES)
def test_any_config_body_gives_a_config(body):
    assert isinstance(parse_config(body), ImageConfig)


@given(BODIES)
def test_any_error_body_gives_a_list(body):
    assert isinstance(parse_error_body(body), list)


@given(BODIES)
def test_any_event_body_gives_events_or_a_refusal(body):
    try:
        events = parse_envelope(body, EVENTS)
    except EnvelopeError:
        return
    for event in events:
        assert event.at.tzinfo is not None


@pytest.mark.parametrize("body", DEEP)
def test_json_nested_too_deeply_is_refused_like_any_bad_body(body):
    with pytest.raises(RegistryResponseError):
        parse_manifest(body)
    assert parse_config(body).created is None
    assert parse_error_body(body) == []
    with pytest.raises(EnvelopeError):
        parse_envelope(body, EVENTS)


def test_an_event_dated_past_the_last_date_is_refused():
    event = {
        "id": "e1",
        "timestamp": "9999-12-31T23:59:59-14:00",
        "action": "push",
        "target": {"repository": "app/web", "digest": DIGEST, "tag": "v1"},
    }
    with pytest.raises(EnvelopeError, match="not a date"):
        parse_envelope(json.dumps({"events": [event]}).encode(), EVENTS)
    event["timestamp"] = "9999-12-31T23:59:59+00:00"
    (parsed,) = parse_envelope(json.dumps({"events": [event]}).encode(), EVENTS)
    assert parsed.at == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


@given(st.text(max_size=200))
def test_any_header_parses_or_is_ignored(header):
    parse_next_link(header)
    scheme, params = parse_www_authenticate(header)
    assert isinstance(scheme, str) and isinstance(params, dict)
    response = httpx.Response(200, headers={"Retry-After": header.encode("utf-8", "replace")})
    seconds = retry_after_seconds(response)
    assert seconds is None or seconds >= 0


@given(st.text(max_size=120))
def test_any_next_link_gives_a_page_or_a_refusal(target):
    request = httpx.Request("GET", "http://reg/v2/_catalog?n=1000")
    link = f'<{target}>; rel="next"'.encode("utf-8", "replace")
    response = httpx.Response(200, headers={"Link": link}, request=request)
    try:
        url = next_page_url(response)
    except (RegistryResponseError, httpx.InvalidURL):
        return
    if url is not None and "n" in url.params:
        assert url.params["n"].isascii() and int(url.params["n"]) <= 1000


@given(st.lists(st.text(max_size=12), max_size=40))
def test_any_tag_list_sorts(tags):
    assert sorted(sort_tags(tags)) == sorted(tags)


@pytest.mark.parametrize("decode", [PageRef.decode, PutBack.decode, StorageShare.decode])
@given(value=st.one_of(st.text(max_size=300), DOCUMENTS.map(json.dumps)))
def test_any_button_value_is_ours_or_refused(decode, value):
    with contextlib.suppress(ValueError):
        decode(value)


@pytest.mark.parametrize("decode", [PageRef.decode, PutBack.decode, StorageShare.decode])
def test_a_button_value_nested_too_deeply_is_refused(decode):
    with pytest.raises(ValueError):
        decode("[" * 2000)
