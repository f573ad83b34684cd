"""A small token server for distribution's ``auth: token``: it checks Basic credentials
and signs RS256 JWTs (with an ``x5c`` certificate chain) granting the requested scopes.

``grants`` maps a username to the actions it may have (e.g. {"reader": {"pull"}}).
Every request is recorded, so tests can count token fetches and see the scopes asked.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

SERVICE = "test-registry"
ISSUER = "test-token-issuer"


def make_signing_cert(folder: Path) -> tuple[rsa.RSAPrivateKey, x509.Certificate, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "registry-bot test token signer")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    bundle = folder / "token-root.pem"
    bundle.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, bundle


class TokenServer:
    def __init__(
        self,
        folder: Path,
        users: dict[str, str],
        grants: dict[str, set[str]],
        expires_in: int | None = 300,
    ) -> None:
        self.key, self.cert, self.bundle = make_signing_cert(folder)
        self.users = users
        self.grants = grants
        self.expires_in = expires_in
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                query = parse_qs(urlsplit(self.path).query)
                user = server._user(self.headers.get("Authorization"))
                record = {
                    "user": user,
                    "scope": query.get("scope", []),
                    "service": query.get("service", [None])[0],
                }
                with server._lock:
                    server.requests.append(record)
                if user is False:
                    self.send_response(401)
                    self.end_headers()
                    return
                body = json.dumps(server._token(user, record["scope"])).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/token"

    def start(self) -> TokenServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _user(self, header: str | None) -> str | bool | None:
        """The authenticated user; None for anonymous; False for bad credentials."""
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        user, _, password = base64.b64decode(value).decode().partition(":")
        return user if self.users.get(user) == password else False

    def _token(self, user: str | None, scopes: list[str]) -> dict:
        allowed = self.grants.get(user or "", set())
        access = []
        for scope in scopes:
            for part in scope.split(" "):
                kind, _, rest = part.partition(":")
                name, _, actions = rest.rpartition(":")
                granted = [a for a in actions.split(",") if a in allowed or "*" in allowed]
                access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": user or "",
            "aud": SERVICE,
            "exp": now + (self.expires_in or 60),
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        x5c = [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"x5c": x5c})
        reply = {"token": token, "issued_at": dt.datetime.now(dt.UTC).isoformat()}
        if self.expires_in is not None:
            reply["expires_in"] = self.expires_in
        return reply
