"""Start Debian's ``docker-registry`` (CNCF distribution 2.8) on a free loopback port.

Each ``RegistryServer`` has its own storage folder and config: delete enabled or not,
htpasswd Basic auth, or token auth against a test token server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BINARY_CANDIDATES = ("docker-registry", "registry")


def registry_binary() -> str | None:
    for name in BINARY_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _scratch() -> str | None:
    """tmpfs when there is one: tests seed tens of thousands of small folders."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class TokenAuthConfig:
    realm: str
    service: str
    issuer: str
    root_cert_bundle: str


@dataclass
class RegistryServer:
    delete_enabled: bool = True
    htpasswd: str | None = None  # path to an htpasswd file (bcrypt)
    token: TokenAuthConfig | None = None
    catalog_max_entries: int | None = None
    tls: tuple[str, str] | None = None  # (certificate, key) PEM paths
    # (url, bearer token): where the registry posts its events (``notifications:``)
    notify: tuple[str, str] | None = None
    root: Path = field(
        default_factory=lambda: Path(tempfile.mkdtemp(prefix="registry-", dir=_scratch()))
    )
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def storage(self) -> Path:
        return self.root / "storage"

    def _config(self) -> str:
        lines = [
            "version: 0.1",
            "log:",
            "  level: error",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.storage}",
            "  delete:",
            f"    enabled: {'true' if self.delete_enabled else 'false'}",
            "  maintenance:",
            "    uploadpurging:",
            "      enabled: false",
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
            "  secret: test-secret",
        ]
        if self.tls:
            lines += ["  tls:", f"    certificate: {self.tls[0]}", f"    key: {self.tls[1]}"]
        if self.notify:
            lines += [
                "notifications:",
                "  endpoints:",
                "    - name: registry-bot",
                f"      url: {self.notify[0]}",
                "      headers:",
                f"        Authorization: [Bearer {self.notify[1]}]",
                "      timeout: 2s",
                "      threshold: 5",
                "      backoff: 1s",
            ]
        if self.catalog_max_entries:
            lines += ["catalog:", f"  maxentries: {self.catalog_max_entries}"]
        if self.htpasswd:
            lines += ["auth:", "  htpasswd:", "    realm: test", f"    path: {self.htpasswd}"]
        if self.token:
            lines += [
                "auth:",
                "  token:",
                f"    realm: {self.token.realm}",
                f"    service: {self.token.service}",
                f"    issuer: {self.token.issuer}",
                f"    rootcertbundle: {self.token.root_cert_bundle}",
            ]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 20.0) -> RegistryServer:
        binary = registry_binary()
        if binary is None:
            raise RuntimeError(
                "docker-registry is not installed: run scripts/test (it installs it) "
                "or apt-get install docker-registry"
            )
        self.storage.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        config = self.root / "config.yml"
        config.write_text(self._config())
        log = open(self.root / "registry.log", "wb")  # noqa: SIM115
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        self.process = subprocess.Popen(
            [binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT, env=env
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"registry exited: {(self.root / 'registry.log').read_text()[-2000:]}"
                )
            try:
                httpx.get(f"{self.url}/v2/", timeout=0.5, verify=False)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"registry did not start on {self.url}")

    def garbage_collect(self) -> None:
        """The registry's own garbage collection over its storage (it should run with
        the registry read-only: a test runs it when nothing writes)."""
        binary = registry_binary()
        assert binary is not None
        subprocess.run(
            [binary, "garbage-collect", str(self.root / "config.yml")],
            check=True,
            capture_output=True,
        )

    def blob_bytes(self) -> int:
        """The size of every blob file in the registry's storage (manifests are blobs)."""
        root = self.storage / "docker/registry/v2/blobs"
        return sum(p.stat().st_size for p in root.rglob("data"))

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)
