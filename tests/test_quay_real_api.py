"""The Quay API client and the bootstrap's API half against a REAL Project Quay v3.12.18: every path the
client has (first user, existing user, organization exists, a user holds the name, robot missing (400) /
exists / created by a racing writer, team membership exists, default permission exists, stored token
reused, expired token -> session sign-in, foreign first user), and the trust it is given whatever
``REQUESTS_CA_BUNDLE`` says. The Quay is the one ``real_quay`` bootstrapped (testkit/quay_fixtures.py);
each test works in organizations of its own.
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from bundler import config as bconfig
from bundler.auth import AuthStore, Credentials
from bundler.content import additional, sigstore
from bundler.errors import BundlerError
from bundler.plan import Plan, PlanContext
from bundler.quay import configure_quay
from bundler.quay.api import QuayAPIError, QuayClient, Robot
from bundler.quay.health import probe
from bundler.quay.images import write_image_layout
from bundler.quay.stack import load_state
from bundler.registry import RegistryPool
from bundler.registry.client import RegistryClient
from bundler.transport.registry import RegistrySource
from testkit.certs import CA
from testkit.quay_fixtures import QuayRun
from testkit.registry import free_port
from testkit.releases import cosign_sign
from testkit.synthetic import push_image


class RecordingClient(QuayClient):
    """The real client, remembering (method, path, status) of each call it made."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.calls: list[tuple[str, str, int]] = []

    def request(self, method: str, path: str, json_body: Any = None) -> requests.Response:
        resp = super().request(method, path, json_body)
        self.calls.append((method, path, resp.status_code))
        return resp


def _client(run: QuayRun, signed_in: bool = True) -> RecordingClient:
    c = RecordingClient(f"https://{run.host}", verify=str(run.data_dir / "ca-bundle.pem"))
    if signed_in:
        c.sign_in("quayadmin", run.credentials()["admin_password"])
    return c


def _org() -> str:
    return "t" + secrets.token_hex(4)


@pytest.fixture()
def foreign_ca_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE naming a CA that did not sign Quay's certificate."""
    pem = tmp_path / "unrelated.pem"
    pem.write_bytes(CA.create("unrelated").pem)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pem))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(pem))
    return pem


def test_first_user_token_then_existing_user(real_quay: QuayRun) -> None:
    # the import created the first user through /api/v1/user/initialize and kept its 2.5 h token
    assert "created the first Quay user quayadmin" in real_quay.import_output
    c = _client(real_quay, signed_in=False)
    creds = real_quay.credentials()
    assert creds["admin_token_expires"] > time.time() + 600
    assert c.use_token(creds["admin_token"]) is True
    # a second initialize: 400 "Cannot initialize user in a non-empty database" -> None, not an error
    assert _client(real_quay, signed_in=False).initialize("quayadmin", "anotherpassword1", "a@bundler.invalid") is None


def test_organization_missing_created_exists_and_user_name_clash(real_quay: QuayRun) -> None:
    c, org = _client(real_quay), _org()
    assert c.org_exists(org) is False                       # 404
    assert c.ensure_org(org) is True                         # POST /api/v1/organization/ -> 201
    assert c.ensure_org(org) is False                        # GET 200: left alone
    assert [m for m, p, _ in c.calls if p == "/api/v1/organization/"] == ["POST"]
    with pytest.raises(QuayAPIError, match="user account may already hold"):
        c.ensure_org("quayadmin")                            # 400 exists, yet GET organization is 404


def test_robot_missing_is_400_then_created_then_reused(real_quay: QuayRun) -> None:
    c, org = _client(real_quay), _org()
    c.ensure_org(org)
    assert c.get_robot(org, "mirror") is None
    assert (("GET", f"/api/v1/organization/{org}/robots/mirror", 400)) in c.calls   # the trap: 400, not 404
    r1 = c.ensure_robot(org)
    assert r1.name == f"{org}+mirror" and len(r1.token) >= 32
    assert c.ensure_robot(org) == r1                         # exists: read back, same token
    assert [s for m, p, s in c.calls if m == "PUT" and p.endswith("/robots/mirror")] == [201]


def test_robot_created_by_a_racing_writer_is_read_back(real_quay: QuayRun, monkeypatch: pytest.MonkeyPatch) -> None:
    c, org = _client(real_quay), _org()
    c.ensure_org(org)
    made = c.ensure_robot(org)                               # "another writer" made it
    real_get = c.get_robot
    seen: list[int] = []

    def first_miss(o: str | None, short: str) -> Robot | None:
        seen.append(1)
        return None if len(seen) == 1 else real_get(o, short)

    monkeypatch.setattr(c, "get_robot", first_miss)
    assert c.ensure_robot(org) == made                       # PUT -> real 400 "Existing robot" -> read back
    assert ("PUT", f"/api/v1/organization/{org}/robots/mirror", 400) in c.calls


def test_team_membership_and_default_permission_exist(real_quay: QuayRun) -> None:
    c, org = _client(real_quay), _org()
    c.ensure_org(org)
    robot = c.ensure_robot(org)
    c.grant_push(org, robot)
    c.grant_push(org, robot)                                 # re-run: nothing fails, nothing is added twice
    assert c.team_members(org, "mirrorpush") == {robot.name}
    # the trap the re-run used to hit: a second PUT of the member is 400 "already a member"
    resp = c.request("PUT", f"/api/v1/organization/{org}/team/mirrorpush/members/{robot.name}")
    assert resp.status_code == 400 and "already a member" in resp.text
    assert c.ensure_member(org, "mirrorpush", robot.name) is False
    protos = c.request("GET", f"/api/v1/organization/{org}/prototypes").json()["prototypes"]
    assert [(p["role"], p["delegate"]["name"]) for p in protos] == [("write", robot.name)]
    assert [m for m, p, _ in c.calls if p.endswith("/prototypes")].count("POST") == 1
    assert c.team_members(org, "nosuchteam") is None         # 404


def test_reader_robot_is_the_admins_own(real_quay: QuayRun) -> None:
    c = _client(real_quay)
    reader = c.get_robot(None, "reader")
    assert reader == Robot("quayadmin+reader", real_quay.credentials()["reader"]["token"])


def test_unauthenticated_calls_fail_in_quays_words(real_quay: QuayRun) -> None:
    """No token, no session: the client sends no credentials it was not given (the API takes no Basic
    auth), and the error quotes Quay (403 CSRF on a write, as real Quay answers before any auth check)."""
    c = _client(real_quay, signed_in=False)
    with pytest.raises(QuayAPIError, match="creating organization .*HTTP 403: .*CSRF token was invalid"):
        c.ensure_org(_org())
    assert "Authorization" not in c.http.headers


def _copy_data(run: QuayRun, tmp: Path) -> Path:
    d = tmp / "data"
    d.mkdir()
    shutil.copy2(run.data_dir / "quay-credentials", d / "quay-credentials")
    return d


def test_configure_rerun_reuses_user_orgs_and_robots(real_quay: QuayRun, tmp_path: Path) -> None:
    data, orgs = _copy_data(real_quay, tmp_path), [_org(), _org()]
    ca = real_quay.data_dir / "ca-bundle.pem"
    first = configure_quay(_client(real_quay, signed_in=False), data, real_quay.host, "quayadmin", orgs, ca)
    c = _client(real_quay, signed_in=False)
    messages: list[str] = []
    again = configure_quay(c, data, real_quay.host, "quayadmin", orgs, ca, messages.append)
    assert again.robots == first.robots and again.reader == first.reader
    assert not [m for m in messages if "created" in m]
    changes = [(m, p) for m, p, _ in c.calls if m in ("POST", "PUT", "DELETE")
               and p not in ("/api/v1/user/initialize", "/api/v1/signin") and not p.endswith("/team/mirrorpush")]
    assert changes == [], "only the idempotent team PUT and the login calls change anything"
    # several organizations: the admin pushes (a robot has rights in its own organization only)
    assert again.username == "quayadmin" and set(again.robots) == set(orgs)


def test_expired_token_signs_in(real_quay: QuayRun, tmp_path: Path) -> None:
    data, org = _copy_data(real_quay, tmp_path), _org()
    ca = real_quay.data_dir / "ca-bundle.pem"
    # 1. our record says the token is stale: no use trying it
    creds = json.loads((data / "quay-credentials").read_text())
    creds["admin_token_expires"] = time.time() - 1
    (data / "quay-credentials").write_text(json.dumps(creds))
    said: list[str] = []
    configure_quay(_client(real_quay, signed_in=False), data, real_quay.host, "quayadmin", [org], ca, said.append)
    assert "signed in to Quay as quayadmin" in said
    assert "admin_token" not in json.loads((data / "quay-credentials").read_text())
    # 2. our record says fresh, but Quay has expired it (as 2.5 h after initialize): Quay refuses it (401)
    creds["admin_token_expires"] = time.time() + 3600
    (data / "quay-credentials").write_text(json.dumps(creds))
    db = real_quay.data_dir / "quay" / "sqlite" / "quay_sqlite.db"
    with sqlite3.connect(db, timeout=30) as conn:
        conn.execute("UPDATE oauthaccesstoken SET expires_at = '2000-01-01 00:00:00'")
    c = _client(real_quay, signed_in=False)
    said.clear()
    configure_quay(c, data, real_quay.host, "quayadmin", [org], ca, said.append)
    assert ("GET", "/api/v1/user/", 401) in c.calls and said[-1] == "signed in to Quay as quayadmin"


def test_foreign_first_user_is_a_clear_error(real_quay: QuayRun, tmp_path: Path) -> None:
    """A Quay someone else initialized: we cannot sign in, and say where our password would be."""
    with pytest.raises(BundlerError, match="already has users and someoneelse cannot sign in"):
        configure_quay(_client(real_quay, signed_in=False), tmp_path, real_quay.host, "someoneelse", [_org()],
                       real_quay.data_dir / "ca-bundle.pem")


def test_client_and_probes_keep_their_trust_whatever_the_environment_says(real_quay: QuayRun,
                                                                        foreign_ca_env: Path) -> None:
    """Regression: with REQUESTS_CA_BUNDLE set, requests replaced the session's CA and the health poll
    failed for 600 s with a bare 'SSLError'."""
    c = QuayClient(f"https://{real_quay.host}", verify=str(real_quay.data_dir / "ca-bundle.pem"))
    c.wait_healthy(timeout=30)
    state = load_state(real_quay.data_dir)
    assert state is not None and probe(real_quay.data_dir, state) == (True, "HTTP 200 from /health/instance")
    res = real_quay.bundler("quay", "status", "--data-dir", str(real_quay.data_dir))
    assert res.returncode == 0 and "ready:      yes" in res.stdout
    # and a CA that did not sign the certificate fails at once, saying so
    wrong = QuayClient(f"https://{real_quay.host}", verify=str(foreign_ca_env))
    t0 = time.monotonic()
    with pytest.raises(QuayAPIError, match="certificate signed by an unknown CA") as err:
        wrong.wait_healthy(timeout=300, interval=0.1)
    assert time.monotonic() - t0 < 30 and "does not verify" in err.value.message


def test_health_timeout_names_the_last_error() -> None:
    """Nothing listens: the message says the connection was refused, not just the exception's class."""
    c = QuayClient(f"https://127.0.0.1:{free_port()}", verify=True)
    with pytest.raises(QuayAPIError, match=r"did not become healthy within 1s \(last: cannot connect: .*refused"):
        c.wait_healthy(timeout=1, interval=0.2)


def test_single_org_robot_pushes_new_repositories_and_the_reader_pulls_them(real_quay: QuayRun,
                                                                            tmp_path: Path) -> None:
    """One organization: the import pushes as its robot, which must be able to create repositories
    (team role creator) - and the read-only robot must see repositories made after it was."""
    data, org = _copy_data(real_quay, tmp_path), _org()
    reg = configure_quay(_client(real_quay, signed_in=False), data, real_quay.host, "quayadmin", [org],
                         real_quay.data_dir / "ca-bundle.pem")
    assert reg.username == f"{org}+mirror" and reg.reader is not None
    layout = tmp_path / "layout"
    write_image_layout(layout, "tiny:1", [("hello.txt", b"pushed by a robot\n", 0o644)], {"Cmd": ["/hello.txt"]})
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copyfile(real_quay.data_dir / "ca-bundle.pem", certs / "ca.crt")

    def authfile(name: str, user: str, password: str) -> Path:
        p = tmp_path / name
        p.write_text(json.dumps({"auths": {real_quay.host: {
            "auth": base64.b64encode(f"{user}:{password}".encode()).decode()}}}))
        return p

    dest = f"docker://{real_quay.host}/{org}/nested/new-repo:1"
    res = subprocess.run(["skopeo", "copy", "--quiet", "--authfile", str(authfile("robot.json", reg.username,
                          reg.password)), "--dest-cert-dir", str(certs), f"oci:{layout}:tiny:1", dest],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    res = subprocess.run(["skopeo", "inspect", "--raw", "--authfile", str(authfile("reader.json", *reg.reader)),
                          "--cert-dir", str(certs), dest], capture_output=True, text=True, check=False)
    assert res.returncode == 0 and json.loads(res.stdout)["layers"], res.stderr


def test_tag_lists_are_read_page_by_page(real_quay: QuayRun, tmp_path: Path) -> None:
    """Quay serves a tag list 100 tags a page and links the next page: every tag is read (what ``inventory``,
    ``list releases`` and a chart's versions rely on). The sigstore lookups read a list only within their
    budget of pages (a page per four images): past it they ask image by image, and still find the signature."""
    data, org = _copy_data(real_quay, tmp_path), _org()
    ca = real_quay.data_dir / "ca-bundle.pem"
    reg = configure_quay(_client(real_quay, signed_in=False), data, real_quay.host, "quayadmin", [org], ca)
    client = RegistryClient(real_quay.host, ca_file=ca, credentials=Credentials(reg.username, reg.password))
    repo = f"{org}/paged"
    first = push_image(client, repo, "t000", {"a": b"a"})
    second = push_image(client, repo, None, {"b": b"b"})
    images = [f"{real_quay.host}/{repo}@{m.digest}" for m in (first, second)]
    sig = cosign_sign(client, images[0])
    for i in range(1, 104):
        client.put_manifest(repo, f"t{i:03d}", first)
    tags = client.list_tags(repo)
    assert sorted(tags) == sorted([f"t{i:03d}" for i in range(104)] + [sigstore.cosign_tag(first.digest)])
    assert client.tag_pages(repo, max_pages=1) is None                         # 105 tags: two pages
    assert sorted(client.tag_pages(repo, max_pages=2) or []) == sorted(tags)

    auth = tmp_path / "robot.json"
    auth.write_text(json.dumps({"auths": {real_quay.host: {
        "auth": base64.b64encode(f"{reg.username}:{reg.password}".encode()).decode()}}}))
    isc = tmp_path / "isc.yaml"
    isc.write_text(json.dumps({"apiVersion": "mirror.openshift.io/v2alpha1", "kind": "ImageSetConfiguration",
                               "mirror": {"additionalImages": [{"name": i} for i in images]}}))
    ctx = PlanContext(config=bconfig.load(isc), source=RegistrySource(RegistryPool(AuthStore.load(auth), ca)),
                      plan=Plan(), workers=4)
    additional.plan(ctx)
    sigstore.plan(ctx)
    assert [(i.kind, i.digest) for i in ctx.plan.images if i.kind == sigstore.KIND_NAME] == [
        (sigstore.KIND_NAME, sig.digest)]
    assert not ctx.plan.failed and not ctx.plan.warnings
