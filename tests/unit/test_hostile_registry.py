"""The registry client against broken and hostile registries (scripted servers on
loopback): bodies that trickle, lie about their size or break off; redirects to other
hosts that ask for credentials; endless pagination; digests that don't match content;
values that are out of range. Each case ends in a typed error or a safe value, within
bounded time, and never sends a credential where it doesn't belong."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from bot.registry import (
    InvalidReferenceError,
    RegistryClient,
    RegistryResponseError,
    RegistrySettings,
    RegistryTimeoutError,
    RegistryUnreachableError,
    Unreachable,
    describe,
)
from bot.registry import mediatypes as mt
from bot.registry.errors import DigestMismatchError
from bot.registry.pages import tag_page
from bot.registry.scan import scan_repository
from testkit.hostile import HostileServer, Reply

pytestmark = pytest.mark.timeout(60)

PASSWORD = "hostile-Secret-pw"


def digest_of(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def manifest_for(config: bytes, layers: list[dict] | None = None) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": {
                "mediaType": mt.OCI_CONFIG,
                "digest": digest_of(config),
                "size": len(config),
            },
            "layers": layers or [],
        }
    ).encode()


def client_for(url: str, **settings) -> RegistryClient:
    settings.setdefault("timeout", 2.0)
    return RegistryClient(RegistrySettings(url=url, **settings))


@pytest.fixture
def serve() -> Iterator:
    servers: list[HostileServer] = []

    def start(script) -> HostileServer:
        server = HostileServer(script).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def trickle(total: int) -> Iterator[bytes]:
    for _ in range(total):
        yield b"{"


# -- deadlines ------------------------------------------------------------------------------
def test_a_trickled_body_ends_at_the_deadline(serve):
    server = serve(lambda m, p, h: Reply(body=trickle(1000), length=1000, chunk_delay=0.1))
    c = client_for(server.url, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(RegistryTimeoutError, match="timed out after 1 s"):
        c.get_manifest("slow/app", "v1")
    elapsed = time.monotonic() - started
    assert elapsed < 1.6, elapsed  # the deadline, not 100 s of trickle
    assert len(server.requests()) == 1  # a partly read answer is not retried


def test_one_slow_repository_does_not_starve_the_others(serve):
    config = b'{"architecture":"amd64","os":"linux"}'

    def script(method, path, headers):
        if path.startswith("/v2/slow/"):
            return Reply(body=trickle(1000), length=1000, chunk_delay=0.2)
        return Reply(headers={"Content-Type": "application/json"}, body=b'{"tags":["v1"]}')

    server = serve(script)
    c = client_for(server.url, timeout=2.0, concurrency=4)
    slow = threading.Thread(
        target=lambda: c.map(
            lambda i: c.get_blob("slow/app", digest_of(config), max_bytes=10**6), range(8)
        ),
        daemon=True,
    )
    slow.start()
    time.sleep(0.5)  # every slot of the slow repository is held now
    started = time.monotonic()
    assert c.tags("fast/app") == ["v1"]
    assert time.monotonic() - started < 1.0
    slow.join(20)


def test_a_partial_body_is_not_retried(serve):
    server = serve(lambda m, p, h: Reply(body=[b'{"tags": ["a"'], length=500, cut=True))
    c = client_for(server.url)
    with pytest.raises(RegistryResponseError, match="broke in the middle"):
        c.tags("cut/app")
    assert len(server.requests()) == 1


# -- body caps ------------------------------------------------------------------------------
def test_an_announced_huge_manifest_is_refused_unread(serve):
    def endless() -> Iterator[bytes]:
        while True:
            yield b" " * 65536

    server = serve(lambda m, p, h: Reply(body=endless(), length=100 * 1024 * 1024))
    c = client_for(server.url)
    started = time.monotonic()
    with pytest.raises(RegistryResponseError, match="over the 4,194,304-byte limit"):
        c.get_manifest("big/app", "v1")
    assert time.monotonic() - started < 1.0


def test_a_huge_config_streamed_without_length_is_cut_at_the_cap(serve):
    sent = []

    def chunks() -> Iterator[bytes]:
        for _ in range(200):  # 200 x 1 MiB
            sent.append(1)
            yield b" " * (1024 * 1024)

    server = serve(lambda m, p, h: Reply(body=chunks()))
    c = client_for(server.url)
    with pytest.raises(RegistryResponseError, match="over the 8,388,608-byte limit"):
        c.get_config("big/app", "sha256:" + "a" * 64)
    assert len(sent) < 50  # stopped reading long before the 200 MiB


def test_the_cache_is_charged_what_a_config_weighs(serve):
    labels = {f"label{i}": "x" * 1000 for i in range(500)}  # about 0.5 MB of labels
    config = json.dumps({"os": "linux", "architecture": "amd64", "config": {"Labels": labels}})
    body = config.encode()
    server = serve(lambda m, p, h: Reply(body=body))
    c = client_for(server.url, cache_bytes=10 * 1024 * 1024)
    c.get_config("labels/app", digest_of(body))
    assert c.cache.used >= len(body)


# -- content that lies ----------------------------------------------------------------------
def test_a_digest_header_that_does_not_match_the_body_is_refused(serve):
    body = manifest_for(b"{}")
    other = "sha256:" + "b" * 64
    server = serve(
        lambda m, p, h: Reply(
            headers={"Content-Type": mt.OCI_MANIFEST, "Docker-Content-Digest": other}, body=body
        )
    )
    with pytest.raises(DigestMismatchError, match="refusing to trust"):
        client_for(server.url).get_manifest("lying/app", "v1")


def test_markup_in_a_descriptor_digest_is_refused(serve):
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": mt.OCI_CONFIG, "digest": "sha256:<!channel>", "size": 2},
            "layers": [],
        }
    ).encode()
    server = serve(lambda m, p, h: Reply(headers={"Content-Type": mt.OCI_MANIFEST}, body=body))
    with pytest.raises(RegistryResponseError, match="cannot read"):
        client_for(server.url).get_manifest("markup/app", "v1")


def test_out_of_range_dates_and_sizes_are_unknown_not_fatal(serve):
    config = json.dumps(
        {"os": "linux", "architecture": "amd64", "created": "9999-12-31T23:59:59-14:00"}
    ).encode()
    manifest = json.loads(manifest_for(config))
    manifest["layers"] = [
        {"mediaType": mt.OCI_LAYER, "digest": "sha256:" + "c" * 64, "size": -5},
        {"mediaType": mt.OCI_LAYER, "digest": "sha256:" + "d" * 64, "size": 10**30},
    ]
    body = json.dumps(manifest).encode()

    def script(method, path, headers):
        if "/blobs/" in path:
            return Reply(body=config)
        return Reply(
            headers={"Content-Type": mt.OCI_MANIFEST, "Docker-Content-Digest": digest_of(body)},
            body=body,
        )

    server = serve(script)
    image = describe(client_for(server.url), "odd/app", "v1")
    assert image.created is None
    assert [layer.size for layer in image.platforms[0].layers] == [None, None]
    assert image.size is None


def test_json_nested_too_deeply_is_a_malformed_answer(serve):
    deep = b"[" * 200_000

    def script(method, path, headers):
        if "/tags/list" in path:
            return Reply(headers={"Content-Type": "application/json"}, body=deep)
        if path.endswith("/manifests/v1"):
            return Reply(headers={"Content-Type": mt.OCI_MANIFEST}, body=deep)
        return Reply(status=500, headers={"Content-Type": "application/json"}, body=deep)

    server = serve(script)
    client = client_for(server.url, retries=0)
    with pytest.raises(RegistryResponseError, match="malformed list"):
        client.tags("deep/app")
    with pytest.raises(RegistryResponseError, match="cannot read"):
        client.get_manifest("deep/app", "v1")
    with pytest.raises(RegistryResponseError, match="500"):
        client.get_manifest("deep/app", "v2")  # an error body nobody can parse


def test_tags_outside_the_grammar_never_become_requests(serve):
    hostile = ["../../../_catalog?", "x#y", "a b", "é", "<!here>", "sha256:nothex"]
    body = manifest_for(b"{}")

    def script(method, path, headers):
        if "/tags/list" in path:
            tags = json.dumps({"tags": [*hostile, "ok"]}).encode()
            return Reply(headers={"Content-Type": "application/json"}, body=tags)
        if path == "/v2/odd/app/manifests/ok":
            return Reply(headers={"Content-Type": mt.OCI_MANIFEST}, body=body)
        return Reply(status=404)

    server = serve(script)
    page = tag_page(client_for(server.url), "odd/app")
    rows = dict(zip(page.tags, page.images, strict=True))
    assert all(isinstance(rows[t], InvalidReferenceError) for t in hostile)
    asked = [s.path for s in server.requests("/manifests/")]
    assert asked == ["/v2/odd/app/manifests/ok"]  # nothing else, and no other path
    assert server.requests("/_catalog") == []


def test_a_chain_of_nested_indexes_is_read_only_so_deep(serve):
    # Ten indexes, each listing the next: built ahead, as a registry would have to.
    leaf = manifest_for(b"{}")
    chain = [leaf]
    for _ in range(10):
        child = chain[-1]
        entry = {"mediaType": mt.OCI_INDEX, "digest": digest_of(child), "size": len(child)}
        chain.append(json.dumps({"mediaType": mt.OCI_INDEX, "manifests": [entry]}).encode())
    by_digest = {digest_of(body): body for body in chain}

    def script(method, path, headers):
        if "/tags/list" in path:
            return Reply(headers={"Content-Type": "application/json"}, body=b'{"tags":["deep"]}')
        reference = path.rsplit("/", 1)[1]
        body = chain[-1] if reference == "deep" else by_digest.get(reference)
        if body is None:
            return Reply(status=404)
        media = json.loads(body).get("mediaType", mt.OCI_MANIFEST)
        return Reply(
            headers={"Content-Type": media, "Docker-Content-Digest": digest_of(body)},
            body=b"" if method == "HEAD" else body,
        )

    server = serve(script)
    scan = scan_repository(client_for(server.url), "deep/app")
    assert not scan.complete and "nested more than 4 deep" in scan.problems()
    assert len(server.requests("/manifests/sha256:")) == 5  # the top and 4 below it


# -- pagination -----------------------------------------------------------------------------
def test_endless_pagination_is_capped_and_says_so(serve):
    def script(method, path, headers):
        page = len(server.requests("/tags/list"))
        return Reply(
            headers={
                "Content-Type": "application/json",
                "Link": f'</v2/loop/app/tags/list?last=t{page}&n=2>; rel="next"',
            },
            body=json.dumps({"tags": [f"t{page}a", f"t{page}b"]}).encode(),
        )

    server = serve(script)
    tags = client_for(server.url, list_max_pages=50).tags("loop/app")
    assert len(server.requests("/tags/list")) == 50
    assert len(tags) == 100 and tags.cut == "stopped after 50 pages (the limit)"


def test_too_many_entries_are_capped(serve):
    names = [f"t{i}" for i in range(500)]
    server = serve(
        lambda m, p, h: Reply(
            headers={"Content-Type": "application/json"}, body=json.dumps({"tags": names}).encode()
        )
    )
    tags = client_for(server.url, list_max_entries=120).tags("many/app")
    assert len(tags) == 120 and "120 entries" in (tags.cut or "")


# -- credentials stay home ------------------------------------------------------------------
def test_credentials_never_follow_a_redirect_to_another_host(serve):
    config = b'{"os":"linux","architecture":"amd64"}'

    def storage(method, path, headers):
        if path.startswith("/token"):
            return Reply(body=b'{"token": "stolen"}')
        return Reply(
            401,
            {"WWW-Authenticate": f'Bearer realm="{other.url}/token",service="evil"'},
        )

    other = serve(storage)
    expected = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()

    def registry(method, path, headers):
        if headers.get("authorization") != expected:
            return Reply(401, {"WWW-Authenticate": 'Basic realm="registry"'})
        return Reply(307, {"Location": f"{other.url}/blobs/{digest_of(config)}"})

    home = serve(registry)
    c = client_for(home.url, username="alice", password=PASSWORD)
    with pytest.raises(RegistryResponseError):
        c.get_config("redir/app", digest_of(config))
    assert home.requests() and any("authorization" in s.headers for s in home.requests())
    assert other.requests("/blobs/")  # the redirect was followed...
    assert all("authorization" not in s.headers for s in other.requests())  # ...bare
    assert not other.requests("/token")  # and its realm was never asked for a token


def test_an_upload_sent_to_another_host_is_not_sent(serve):
    elsewhere = serve(lambda m, p, h: Reply(status=201))
    server = serve(
        lambda m, p, h: Reply(status=202, headers={"Location": f"{elsewhere.url}/v2/up/load/1"})
    )
    client = client_for(server.url, username="ci", password=PASSWORD)
    with pytest.raises(RegistryResponseError, match="another host; nothing was sent"):
        client.upload_blob("app/web", b"layer")
    assert elsewhere.requests() == []  # neither the blob nor the credentials went there


def test_an_upload_without_a_location_is_a_clear_error(serve):
    server = serve(lambda m, p, h: Reply(status=202))
    with pytest.raises(RegistryResponseError, match="without a usable Location"):
        client_for(server.url).upload_blob("app/web", b"layer")


@pytest.mark.parametrize("location", ["javascript:alert(1)", "ftp://files.example/blob"])
def test_a_redirect_to_something_other_than_http_is_not_followed(serve, location):
    server = serve(lambda m, p, h: Reply(status=307, headers={"Location": location}))
    with pytest.raises(RegistryResponseError, match="not an http\\(s\\) URL"):
        client_for(server.url).get_blob("app/web", "sha256:" + "a" * 64, max_bytes=100)
    assert len(server.requests("/blobs/")) == 1


@pytest.mark.parametrize("realm", ["ftp://auth.example/token", "http://[::1", ""])
def test_a_token_realm_that_is_not_an_http_address_is_named(serve, realm):
    server = serve(
        lambda m, p, h: Reply(
            status=401, headers={"WWW-Authenticate": f'Bearer realm="{realm}",service="r"'}
        )
    )
    with pytest.raises(RegistryResponseError, match="not an http") as caught:
        client_for(server.url, username="ci", password=PASSWORD).tags("app/web")
    assert "token settings" in (caught.value.hint or "")


def test_an_unreachable_token_server_is_named_not_the_registry(serve):
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    realm = f"http://127.0.0.1:{port}/token"
    server = serve(
        lambda m, p, h: Reply(
            status=401, headers={"WWW-Authenticate": f'Bearer realm="{realm}",service="r"'}
        )
    )
    with pytest.raises(RegistryUnreachableError) as caught:
        client_for(server.url, retries=0).tags("app/web")
    assert caught.value.elsewhere and caught.value.cause == Unreachable.REFUSED
    assert caught.value.message.startswith(f"http://127.0.0.1:{port}/, where the registry sent")
    assert server.url not in caught.value.message


def test_a_token_realm_announced_by_the_registry_itself_gets_the_credentials(serve):
    def realm(method, path, headers):
        return Reply(body=b'{"token": "t0k3n", "expires_in": 300}')

    tokens = serve(realm)

    def registry(method, path, headers):
        if headers.get("authorization") != "Bearer t0k3n":
            return Reply(401, {"WWW-Authenticate": f'Bearer realm="{tokens.url}/token"'})
        return Reply(headers={"Content-Type": "application/json"}, body=b'{"tags": ["v1"]}')

    home = serve(registry)
    c = client_for(home.url, username="alice", password=PASSWORD)
    assert c.tags("tok/app") == ["v1"]
    assert tokens.requests()[0].headers["authorization"].startswith("Basic ")
