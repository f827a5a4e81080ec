"""The Quay API client and the bootstrap's API half, against a FAKE Quay.

Quay's image cannot be pulled on this machine, so ``FakeQuay`` is a small http.server on 127.0.0.1
that follows the API exactly as documented in shared/research/quay.md §3 (status codes and traps
included): ``/api/v1/user/initialize`` is 200 once, then 400 ("non-empty database"), 404 when the
feature is off; the init token can expire; the API takes a Bearer token or a session cookie plus
``X-CSRF-Token`` (never Basic); ``POST /api/v1/organization/`` (trailing slash) is 201 / 400 exists;
``GET`` of a missing organization is 404; ``GET`` of a missing robot is **400**, not 404; ``PUT`` of an
existing robot is 400; robots can only join teams of their own organization. It is a fake: passing
here shows we follow the documented API, not that real Quay agrees.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bundler.errors import BundlerError
from bundler.quay import MirrorRegistry, configure_quay
from bundler.quay.api import QuayAPIError, QuayClient, Robot


class FakeQuay:
    def __init__(self) -> None:
        self.user_initialize = True
        self.users: dict[str, str] = {}          # name -> password
        self.tokens: set[str] = set()
        self.sessions: dict[str, str] = {}       # cookie -> csrf
        self.orgs: dict[str, dict[str, Any]] = {}
        self.health_failures = 0
        self.calls: list[tuple[str, str]] = []
        self.basic_seen = False

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def add_user(self, name: str, password: str) -> None:
        self.users[name] = password


def _handler(fake: FakeQuay) -> type[BaseHTTPRequestHandler]:
    class H(BaseHTTPRequestHandler):
        def log_message(self, *_a: Any) -> None:
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str) -> None:
            self._send(status, {"detail": message, "error_message": message, "error_type": "invalid_request",
                                "title": "invalid_request", "type": "about:blank", "status": status})

        def _body(self) -> Any:
            n = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(n) or b"null") if n else None

        def _authed(self, method: str) -> bool:
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                fake.basic_seen = True
                return False  # the API does not take Basic auth
            if auth.startswith("Bearer "):
                return auth[7:] in fake.tokens
            cookie = (self.headers.get("Cookie") or "").partition("session=")[2].split(";")[0]
            if cookie in fake.sessions and fake.sessions[cookie] == "signed-in":
                return method == "GET" or bool(self.headers.get("X-CSRF-Token"))
            return False

        def _route(self, method: str) -> None:
            path = self.path.split("?")[0]
            fake.calls.append((method, path))
            body = self._body() if method in ("POST", "PUT") else None
            parts = path.strip("/").split("/")
            if path in ("/health/instance", "/health"):
                if fake.health_failures > 0:
                    fake.health_failures -= 1
                    return self._send(503, {"data": {"services": {"database": False}}, "status_code": 503})
                return self._send(200, {"data": {"services": {"database": True}}, "status_code": 200})
            if path == "/api/v1/user/initialize" and method == "POST":
                if not fake.user_initialize:
                    return self._error(404, "not found")
                if fake.users:
                    return self._send(400, {"message": "Cannot initialize user in a non-empty database"})
                pw = body["password"]
                if len(pw) < 8 or any(c.isspace() for c in pw):
                    return self._send(400, {"message": "Failed to initialize user: Invalid password"})
                fake.users[body["username"]] = pw
                out = {"username": body["username"], "email": body.get("email"), "encrypted_password": "x"}
                if body.get("access_token"):
                    tok = secrets.token_hex(20)
                    fake.tokens.add(tok)
                    out["access_token"] = tok
                return self._send(200, out)
            if path == "/csrf_token" and method == "GET":
                cookie = secrets.token_hex(8)
                fake.sessions[cookie] = "anonymous"
                return self._send(200, {"csrf_token": "csrf-" + cookie}, {"Set-Cookie": f"session={cookie}; Path=/"})
            if path == "/api/v1/signin" and method == "POST":
                cookie = (self.headers.get("Cookie") or "").partition("session=")[2].split(";")[0]
                if cookie not in fake.sessions or not self.headers.get("X-CSRF-Token"):
                    return self._error(403, "CSRF token was invalid or missing.")
                if fake.users.get(body["username"]) != body["password"]:
                    return self._send(403, {"success": False, "message": "Invalid username or password"})
                fake.sessions[cookie] = "signed-in"
                return self._send(200, {"success": True}, {"X-Next-CSRF-Token": "next-" + cookie})
            if not self._authed(method):
                return self._error(401, "Unauthorized")
            if path == "/api/v1/user/" and method == "GET":
                return self._send(200, {"username": next(iter(fake.users))})
            if path == "/api/v1/organization/" and method == "POST":
                name = body["name"]
                if name in fake.orgs or name in fake.users:
                    return self._error(400, "A user or organization with this name already exists")
                fake.orgs[name] = {"robots": {}, "teams": {}, "prototypes": []}
                return self._send(201, "Created")
            if parts[:3] == ["api", "v1", "organization"] and len(parts) >= 4:
                org = fake.orgs.get(parts[3])
                if len(parts) == 4 and method == "GET":
                    return self._send(200, {"name": parts[3]}) if org else self._error(404, "Not Found")
                if org is None:
                    return self._error(404, "Not Found")
                if len(parts) == 6 and parts[4] == "robots":
                    full = f"{parts[3]}+{parts[5]}"
                    if method == "GET":
                        if full not in org["robots"]:  # the trap: 400, not 404
                            return self._send(400, {"message": f"Could not find robot with username: {full}"})
                        return self._send(200, {"name": full, "token": org["robots"][full]})
                    if method == "PUT":
                        if full in org["robots"]:
                            return self._error(400, f"Existing robot with name: {full}")
                        org["robots"][full] = secrets.token_hex(16).upper()
                        return self._send(201, {"name": full, "token": org["robots"][full], "description": ""})
                if len(parts) == 6 and parts[4] == "team" and method == "PUT":
                    if body.get("role") not in ("member", "creator", "admin"):
                        return self._error(400, "Invalid role")
                    org["teams"].setdefault(parts[5], {"role": body["role"], "members": set()})["role"] = body["role"]
                    return self._send(200, {"name": parts[5], "role": body["role"]})
                if len(parts) == 8 and parts[4] == "team" and parts[6] == "members" and method == "PUT":
                    member = parts[7]
                    if "+" in member and not member.startswith(parts[3] + "+"):
                        return self._error(400, "Cannot add the specified robot to this team, as it is not "
                                                "a member of the organization")
                    org["teams"][parts[5]]["members"].add(member)
                    return self._send(200, {"name": member, "kind": "user"})
                if len(parts) == 5 and parts[4] == "prototypes":
                    if method == "GET":
                        return self._send(200, {"prototypes": org["prototypes"]})
                    if method == "POST":
                        org["prototypes"].append({"id": secrets.token_hex(4), "role": body["role"],
                                                  "delegate": body["delegate"]})
                        return self._send(200, org["prototypes"][-1])
            return self._error(404, "Not Found")

        def do_GET(self) -> None:  # noqa: N802
            self._route("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._route("POST")

        def do_PUT(self) -> None:  # noqa: N802
            self._route("PUT")

    return H


@pytest.fixture()
def fake() -> Any:
    state = FakeQuay()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield state
    server.shutdown()
    server.server_close()


def client(fake: Any) -> QuayClient:
    return QuayClient(fake.url, verify=False, timeout=5)


def test_wait_healthy_polls_until_200(fake: Any) -> None:
    fake.health_failures = 2
    client(fake).wait_healthy(timeout=10, interval=0.05)
    assert fake.calls.count(("GET", "/health/instance")) == 3


def test_wait_healthy_times_out_with_hint(fake: Any) -> None:
    fake.health_failures = 1000
    with pytest.raises(QuayAPIError, match="did not become healthy"):
        client(fake).wait_healthy(timeout=0.3, interval=0.05)


def test_first_user_then_existing_user(fake: Any) -> None:
    c = client(fake)
    token = c.initialize("quayadmin", "s3cretpassword", "quayadmin@bundler.invalid")
    assert token and token in fake.tokens
    # second call: a user exists -> 400 -> None, not an error
    assert client(fake).initialize("quayadmin", "s3cretpassword", "x@bundler.invalid") is None


def test_initialize_feature_off_is_404(fake: Any) -> None:
    fake.user_initialize = False
    with pytest.raises(QuayAPIError, match="FEATURE_USER_INITIALIZE"):
        client(fake).initialize("quayadmin", "s3cretpassword", "a@b.invalid")


def test_org_missing_404_created_201_then_exists(fake: Any) -> None:
    c = client(fake)
    c.initialize("quayadmin", "s3cretpassword", "a@bundler.invalid")
    assert c.org_exists("ocp4") is False           # 404
    assert c.ensure_org("ocp4") is True            # POST .../organization/ (trailing slash) -> 201
    assert ("POST", "/api/v1/organization/") in fake.calls
    assert c.ensure_org("ocp4") is False           # GET 200: left alone
    assert fake.calls.count(("POST", "/api/v1/organization/")) == 1


def test_org_create_race_400_is_fine_but_user_name_clash_is_an_error(fake: Any) -> None:
    c = client(fake)
    c.initialize("quayadmin", "s3cretpassword", "a@bundler.invalid")
    with pytest.raises(QuayAPIError, match="user account may already hold"):
        c.ensure_org("quayadmin")                  # 400 exists, yet GET organization is 404


def test_robot_missing_is_400_not_404_then_created_and_reused(fake: Any) -> None:
    c = client(fake)
    c.initialize("quayadmin", "s3cretpassword", "a@bundler.invalid")
    c.ensure_org("ocp4")
    assert c.get_robot("ocp4", "mirror") is None   # the 400 trap is "missing", not a failure
    r1 = c.ensure_robot("ocp4")
    assert r1.name == "ocp4+mirror" and r1.token
    r2 = c.ensure_robot("ocp4")                    # exists: read back, same token
    assert r2 == r1
    assert fake.calls.count(("PUT", "/api/v1/organization/ocp4/robots/mirror")) == 1


def test_robot_put_400_existing_is_read_back(fake: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    c = client(fake)
    c.initialize("quayadmin", "s3cretpassword", "a@bundler.invalid")
    c.ensure_org("ocp4")
    fake.orgs["ocp4"]["robots"]["ocp4+mirror"] = "TOKEN1"
    real_get = c.get_robot
    seen: list[int] = []

    def first_miss(org: str, short: str) -> Robot | None:  # another writer made it in between
        seen.append(1)
        return None if len(seen) == 1 else real_get(org, short)

    monkeypatch.setattr(c, "get_robot", first_miss)
    assert c.ensure_robot("ocp4") == Robot("ocp4+mirror", "TOKEN1")


def test_grant_push_team_creator_and_prototype_idempotent(fake: Any) -> None:
    c = client(fake)
    c.initialize("quayadmin", "s3cretpassword", "a@bundler.invalid")
    c.ensure_org("ocp4")
    r = c.ensure_robot("ocp4")
    c.grant_push("ocp4", r)
    c.grant_push("ocp4", r)
    org = fake.orgs["ocp4"]
    assert org["teams"]["mirrorpush"]["role"] == "creator"
    assert org["teams"]["mirrorpush"]["members"] == {"ocp4+mirror"}
    assert len(org["prototypes"]) == 1 and org["prototypes"][0]["role"] == "write"


def test_api_never_uses_basic_auth(fake: Any) -> None:
    c = client(fake)
    with pytest.raises(QuayAPIError, match="401"):
        c.ensure_org("ocp4")                       # no token, no session
    assert not fake.basic_seen


def _mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_configure_first_run_then_rerun_reuses_everything(fake: Any, tmp_path: Path) -> None:
    ca = tmp_path / "ca-bundle.pem"
    reg = configure_quay(client(fake), tmp_path, "mirror.example:8443", "quayadmin", ["ocp4"], ca)
    assert isinstance(reg, MirrorRegistry)
    assert reg.username == "ocp4+mirror" and reg.password == fake.orgs["ocp4"]["robots"]["ocp4+mirror"]
    assert reg.admin_user == "quayadmin" and reg.host == "mirror.example:8443"
    assert "password" not in repr(reg) and reg.password not in repr(reg)
    cred_file = tmp_path / "quay-credentials"
    assert _mode(cred_file) == 0o600
    creds = json.loads(cred_file.read_text())
    assert creds["admin_user"] == "quayadmin" and fake.users["quayadmin"] == creds["admin_password"]
    assert creds["robots"]["ocp4"]["name"] == "ocp4+mirror"
    n_calls = len(fake.calls)

    # re-run: user exists (400), stored token reused, org exists, robot exists -> same credentials
    reg2 = configure_quay(client(fake), tmp_path, "mirror.example:8443", "quayadmin", ["ocp4"], ca)
    assert (reg2.username, reg2.password) == (reg.username, reg.password)
    rerun = fake.calls[n_calls:]
    assert ("GET", "/api/v1/user/") in rerun
    assert ("POST", "/api/v1/organization/") not in rerun
    assert ("PUT", "/api/v1/organization/ocp4/robots/mirror") not in rerun
    assert len(fake.users) == 1


def test_configure_rerun_with_expired_token_signs_in(fake: Any, tmp_path: Path) -> None:
    ca = tmp_path / "ca-bundle.pem"
    configure_quay(client(fake), tmp_path, "h:8443", "quayadmin", ["ocp4"], ca)
    fake.expire_tokens()                           # the init token lives only 2.5 h
    reg = configure_quay(client(fake), tmp_path, "h:8443", "quayadmin", ["ocp4", "olm"], ca)
    assert ("POST", "/api/v1/signin") in fake.calls
    assert "olm" in fake.orgs and fake.orgs["olm"]["teams"]["mirrorpush"]["members"] == {"olm+mirror"}
    # two organizations: one robot each (a robot cannot join another org's team); admin pushes
    assert reg.username == "quayadmin" and set(reg.robots) == {"ocp4", "olm"}
    auths = reg.auth_entries()
    assert set(auths) == {"h:8443", "h:8443/ocp4", "h:8443/olm"}


def test_configure_existing_foreign_user_fails_clearly(fake: Any, tmp_path: Path) -> None:
    fake.add_user("someone", "theirpassword")      # Quay already initialized by someone else
    with pytest.raises(BundlerError, match="already has users"):
        configure_quay(client(fake), tmp_path, "h:8443", "quayadmin", ["ocp4"], tmp_path / "ca.pem")
