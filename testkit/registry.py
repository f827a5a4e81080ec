"""Real Docker Distribution registries (``/usr/bin/docker-registry``) for tests, demos and benchmarks.

``RegistryServer`` writes a ``config.yml`` into a temporary directory and runs ``docker-registry serve``
on ``127.0.0.1`` with a free port, optionally with TLS and Basic (htpasswd) or token auth. For token
auth a small token server (``TokenServer``) runs in a thread: it checks Basic credentials and issues
RS256 JWTs that Distribution 2.8 accepts (``kid`` = the libtrust key ID of the signing key).
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
import yaml
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .certs import CA, TLSFiles, cert_pem, self_signed_rsa

REGISTRY_BINARY = "/usr/bin/docker-registry"
SERVICE = "bundler-test-registry"
ISSUER = "bundler-test-token-issuer"

# A grant policy: (user or None for anonymous, resource type, resource name, requested actions) -> granted
GrantPolicy = Callable[[str | None, str, str, list[str]], list[str]]


class RegistryBinaryMissing(RuntimeError):
    """docker-registry is not installed: tests that need a real registry must fail, not skip."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def libtrust_key_id(public_key: Any) -> str:
    """The libtrust key ID Distribution 2.x matches a JWT ``kid`` against.

    base32(sha256(DER SubjectPublicKeyInfo)[:30]) without padding, in 12 groups of 4 joined by ':'.
    """
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i:i + 4] for i in range(0, len(b32), 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def authfile_json(host: str, username: str, password: str) -> dict[str, Any]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"auths": {host: {"auth": token}}}


def write_authfile(path: str | Path, entries: dict[str, tuple[str, str]]) -> Path:
    """A containers auth.json with ``{host: (username, password)}``."""
    auths: dict[str, Any] = {}
    for host, (user, password) in entries.items():
        auths.update(authfile_json(host, user, password)["auths"])
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps({"auths": auths}, indent=2))
    p.chmod(0o600)
    return p


# -- token server ------------------------------------------------------------------------------

@dataclass
class TokenRequest:
    """What the token server saw: for asserting on caching behaviour."""

    user: str | None
    scopes: list[str]
    granted: bool


@dataclass
class TokenServer:
    """A Docker token-auth service (``GET /token?service=..&scope=..``) on 127.0.0.1.

    Valid users get every requested action (or what ``policy`` allows); anonymous requests get
    ``pull`` only when ``allow_anonymous`` is set, otherwise 401. Wrong credentials always get 401.
    """

    users: dict[str, str]
    tls: TLSFiles | None = None
    allow_anonymous: bool = False
    service: str = SERVICE
    issuer: str = ISSUER
    ttl: int = 300
    policy: GrantPolicy | None = None
    requests: list[TokenRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cert, self.key = self_signed_rsa()
        self.kid = libtrust_key_id(self.key.public_key())
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def cert_pem(self) -> bytes:
        return cert_pem(self.cert)

    @property
    def realm(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/token"

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        signing_input = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        assert isinstance(self.key, rsa.RSAPrivateKey)
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(sig)

    def issue(self, user: str | None, scopes: list[str]) -> str:
        now = int(time.time())
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = [a for a in actions.split(",") if a]
            granted = self._grant(user, kind, name, wanted)
            if granted:
                access.append({"type": kind, "name": name, "actions": granted})
        claims = {
            "iss": self.issuer,
            "sub": user or "",
            "aud": self.service,
            "exp": now + self.ttl,
            "nbf": now - 30,
            "iat": now,
            "jti": secrets.token_hex(12),
            "access": access,
        }
        return self.sign(claims)

    def _grant(self, user: str | None, kind: str, name: str, wanted: list[str]) -> list[str]:
        if self.policy is not None:
            return self.policy(user, kind, name, wanted)
        if user is None:
            return [a for a in wanted if a == "pull"]
        return wanted

    def check(self, header: str | None) -> tuple[bool, str | None]:
        """(allowed, user) for an Authorization header."""
        if not header:
            return self.allow_anonymous, None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False, None
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False, None
        ok = user in self.users and secrets.compare_digest(self.users[user], password)
        return ok, user if ok else None

    def start(self) -> TokenServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

            def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                if url.path != "/token":
                    self._answer(404, {"errors": [{"code": "NOT_FOUND"}]})
                    return
                query = parse_qs(url.query)
                scopes = [s for raw in query.get("scope", []) for s in raw.split(" ") if s]
                ok, user = server.check(self.headers.get("Authorization"))
                server.requests.append(TokenRequest(user, scopes, ok))
                if not ok:
                    self._answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                                 {"WWW-Authenticate": 'Basic realm="bundler-test-token"'})
                    return
                if query.get("service", [server.service])[0] != server.service:
                    self._answer(400, {"errors": [{"code": "DENIED", "message": "unknown service"}]})
                    return
                token = server.issue(user, scopes)
                self._answer(200, {"token": token, "access_token": token, "expires_in": server.ttl,
                                   "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(self.tls.cert_file), str(self.tls.key_file))
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        self.port = int(httpd.server_address[1])
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="token-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


# -- registry --------------------------------------------------------------------------------------

class RegistryServer:
    """A ``docker-registry serve`` process on 127.0.0.1.

    ``tls`` is True (a fresh CA, or ``ca`` when given), False, or ready ``TLSFiles``.
    ``auth`` is None, ``"basic"`` (htpasswd, bcrypt) or ``"token"`` (``TokenServer`` in a thread).
    Storage is a directory that survives ``stop()``/``restart()``; the port is kept across restarts.
    Deleting manifests is enabled (``storage.delete.enabled``) unless ``delete_enabled=False``.
    """

    def __init__(
        self,
        *,
        tls: bool | TLSFiles = True,
        ca: CA | None = None,
        auth: str | None = None,
        username: str = "bundler",
        password: str | None = None,
        allow_anonymous: bool = False,
        workdir: str | Path | None = None,
        port: int | None = None,
        policy: GrantPolicy | None = None,
        extra_config: dict[str, Any] | None = None,
        delete_enabled: bool = True,
    ) -> None:
        if auth not in (None, "basic", "token"):
            raise ValueError(f"auth must be None, 'basic' or 'token', not {auth!r}")
        if not (os.path.isfile(REGISTRY_BINARY) and os.access(REGISTRY_BINARY, os.X_OK)):
            raise RegistryBinaryMissing(f"{REGISTRY_BINARY} is not installed (Debian package docker-registry)")
        self._own_dir = workdir is None
        self.dir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="bundler-registry-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.storage = self.dir / "storage"
        self.auth = auth
        self.username = username
        self.password = password or secrets.token_urlsafe(12)
        self.allow_anonymous = allow_anonymous
        self.port = port or free_port()
        self.extra_config = extra_config or {}
        self.delete_enabled = delete_enabled
        self.ca: CA | None = None
        self.tls: TLSFiles | None
        if isinstance(tls, TLSFiles):
            self.tls = tls
        elif tls:
            self.ca = ca or CA.create()
            self.tls = self.ca.write(self.dir / "tls")
        else:
            self.tls = None
        self.token_server: TokenServer | None = None
        if auth == "token":
            self.token_server = TokenServer({username: self.password}, tls=self.tls,
                                            allow_anonymous=allow_anonymous, policy=policy)
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    # -- properties --------------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def ca_file(self) -> Path | None:
        return self.tls.ca_file if self.tls else None

    @property
    def cert_dir(self) -> Path | None:
        """A directory holding ``ca.crt`` (``skopeo --cert-dir``)."""
        return self.tls.cert_dir if self.tls else None

    @property
    def plain_http(self) -> bool:
        return self.tls is None

    @property
    def log_file(self) -> Path:
        return self.dir / "registry.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU the registry process has used so far (``/proc``): what serving costs the
        machine bundler shares it with, for the benchmarks."""
        if self._proc is None:
            return 0.0
        fields = Path(f"/proc/{self._proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def authfile(self, path: str | Path) -> Path:
        """Write a containers auth.json with this registry's credentials."""
        return write_authfile(path, {self.host: (self.username, self.password)})

    def client(self, *, credentials: bool = True, **kw: Any) -> Any:
        """A ``bundler.registry.client.RegistryClient`` for this registry (with the CA and credentials)."""
        from bundler.auth import Credentials
        from bundler.registry.client import RegistryClient

        creds = Credentials(self.username, self.password) if credentials and self.auth else None
        return RegistryClient(self.host, ca_file=self.ca_file, plain_http=self.plain_http, credentials=creds, **kw)

    # -- config ------------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}, "formatter": "text"},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage)},
                "delete": {"enabled": self.delete_enabled},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {
                "addr": self.host,
                "secret": "bundler-test-" + hashlib.sha256(str(self.dir).encode()).hexdigest()[:16],
                "headers": {"X-Content-Type-Options": ["nosniff"]},
            },
            "compatibility": {"schema1": {"enabled": False}},
            "health": {"storagedriver": {"enabled": False}},
        }
        if self.tls:
            cfg["http"]["tls"] = {"certificate": str(self.tls.cert_file), "key": str(self.tls.key_file)}
        if self.auth == "basic":
            cfg["auth"] = {"htpasswd": {"realm": "bundler-test", "path": str(self._htpasswd())}}
        elif self.auth == "token":
            assert self.token_server is not None
            bundle = self.dir / "token-signer.pem"
            bundle.write_bytes(self.token_server.cert_pem)
            cfg["auth"] = {"token": {"realm": self.token_server.realm, "service": self.token_server.service,
                                     "issuer": self.token_server.issuer, "rootcertbundle": str(bundle)}}
        for key, value in self.extra_config.items():
            cfg[key] = value
        return cfg

    def _htpasswd(self) -> Path:
        path = self.dir / "htpasswd"
        binary = shutil.which("htpasswd")
        if binary is None:
            raise RuntimeError("htpasswd (apache2-utils) is needed for basic auth")
        out = subprocess.run([binary, "-Bbn", self.username, self.password], check=True, capture_output=True)
        path.write_bytes(out.stdout)
        return path

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, timeout: float = 20.0) -> RegistryServer:
        if self.running:
            return self
        if self.token_server is not None and self.token_server.port == 0:
            self.token_server.start()
        config = self.dir / "config.yml"
        config.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        self._log = open(self.log_file, "ab")  # noqa: SIM115 - closed in stop()
        in_main = threading.current_thread() is threading.main_thread()
        self._proc = subprocess.Popen(
            [REGISTRY_BINARY, "serve", str(config)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            # die with us even when we are killed (only from the main thread: the signal fires when
            # the forking *thread* ends)
            preexec_fn=_die_with_parent if in_main else None,  # noqa: PLW1509
        )
        _RUNNING.add(self)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        verify: str | bool = str(self.ca_file) if self.ca_file else True
        last = ""
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                self._close_log()
                raise RuntimeError(f"docker-registry exited with {self._proc.returncode}:\n{self.log_tail()}")
            try:
                resp = requests.get(self.url + "/v2/", verify=verify, timeout=2)
                if resp.status_code in (200, 401):
                    return
                last = f"HTTP {resp.status_code}"
            except requests.RequestException as exc:
                last = str(exc)
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"docker-registry on {self.host} not ready after {timeout}s ({last}):\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the registry process (and wait until the port is closed). Storage is kept."""
        proc, self._proc = self._proc, None
        _RUNNING.discard(self)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self._close_log()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _port_open(self.port):
            time.sleep(0.05)

    def garbage_collect(self) -> str:
        """``registry garbage-collect --delete-untagged`` on the stopped registry (as an admin runs it), then start
        it again; returns what it printed."""
        self.stop()
        out = subprocess.run([REGISTRY_BINARY, "garbage-collect", "--delete-untagged", str(self.dir / "config.yml")],
                             capture_output=True, text=True, check=True)
        self.start()
        return out.stdout + out.stderr

    def restart(self) -> RegistryServer:
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the registry and token server, and remove the work directory if we made it."""
        self.stop()
        if self.token_server is not None:
            self.token_server.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> RegistryServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RegistryServer({self.url}, auth={self.auth}, running={self.running})"


_RUNNING: set[RegistryServer] = set()


@atexit.register
def _stop_all() -> None:
    for server in list(_RUNNING):
        server.stop()


def _die_with_parent() -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0
