"""Unreachable, slow and flaky registries: typed errors, retries, bounded time."""

import socket
import threading
import time

import pytest

from bot.registry import (
    RateLimitedError,
    RegistryResponseError,
    RegistryTimeoutError,
    RegistryUnreachableError,
)
from testkit.images import push_image
from testkit.proxy import RegistryProxy
from testkit.registry_server import free_port


def test_connection_refused(make_client):
    port = free_port()
    c = make_client(f"http://127.0.0.1:{port}")
    c.transport.backoff = 0.01
    with pytest.raises(RegistryUnreachableError) as info:
        c.tags("app")
    assert "unreachable" in str(info.value) and "connection refused" in str(info.value)
    assert f"127.0.0.1:{port}" in str(info.value)
    assert c.requests_sent == 1 + c.settings.retries  # retried, then gave up


def test_dns_failure(make_client):
    c = make_client("http://registry.invalid")
    c.transport.backoff = 0.01
    with pytest.raises(RegistryUnreachableError, match="does not resolve"):
        c.tags("app")


def test_timeout_answers_within_the_limit(make_client):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    c = make_client(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(RegistryTimeoutError) as info:
        c.tags("app")
    elapsed = time.monotonic() - started
    listener.close()
    assert "timed out after 0.5 s" in str(info.value)
    assert elapsed < 5  # not retried


@pytest.mark.parametrize("status", [502, 503, 504])
def test_server_errors_are_retried(registry, make_client, status):
    c0 = make_client(registry.url)
    push_image(c0, "flaky/app", ["v1"])
    with RegistryProxy(registry.url) as proxy:
        proxy.inject = [(status, {}), (status, {})]
        c = make_client(proxy.url)
        c.transport.backoff = 0.01
        assert c.tags("flaky/app") == ["v1"]
        assert proxy.counts["GET"] == 3


def test_429_honours_retry_after(registry, make_client):
    push_image(make_client(registry.url), "flaky/rate", ["v1"])
    with RegistryProxy(registry.url) as proxy:
        proxy.inject = [(429, {"Retry-After": "1"})]
        c = make_client(proxy.url)
        started = time.monotonic()
        assert c.tags("flaky/rate") == ["v1"]
        assert time.monotonic() - started >= 0.95
        proxy.inject = [(429, {"Retry-After": "1"})] * 4
        c.transport.retries = 1
        with pytest.raises(RateLimitedError) as info:
            c.tags("flaky/rate")
        assert info.value.retry_after == 1


def test_writes_are_not_retried(registry, make_client):
    pushed = push_image(make_client(registry.url), "flaky/write", ["v1"])
    with RegistryProxy(registry.url) as proxy:
        proxy.inject = [(503, {})]
        c = make_client(proxy.url)
        with pytest.raises(RegistryResponseError, match="HTTP 503"):
            c.delete_manifest("flaky/write", pushed.digest)
        assert proxy.counts == {"DELETE": 1}


def test_concurrency_is_bounded(registry, make_client):
    c0 = make_client(registry.url)
    for i in range(12):
        push_image(c0, "bounded/app", [f"v{i}"])
    with RegistryProxy(registry.url) as proxy:
        in_flight = []
        lock = threading.Lock()
        current = [0]
        original = proxy._client.request

        def tracking(*args, **kwargs):
            with lock:
                current[0] += 1
                in_flight.append(current[0])
            try:
                time.sleep(0.05)  # a slow registry, counted as in flight all along
                return original(*args, **kwargs)
            finally:
                with lock:
                    current[0] -= 1

        proxy._client.request = tracking
        c = make_client(proxy.url, concurrency=3)
        from bot.registry import describe_tags

        describe_tags(c, "bounded/app", [f"v{i}" for i in range(12)])
    assert max(in_flight) == 3
