"""The stack with real podman: images loaded from an OCI layout into podman storage, the pod rendered
and started, health-waited, used, restarted, stopped and purged.

Fast (seconds) checks of the stack itself; real Project Quay runs in tests/test_quay_real_*.py:

- the ``distribution`` flavor runs for real (Debian's docker-registry packed into a locally built OCI
  image): TLS with the generated CA, htpasswd auth, a skopeo push of a small image, restart, purge, and
  a second data dir that must not take over the running registry;
- the ``quay`` flavor with *stand-in* images (the same registry binary serving TLS on 8443 from the
  Quay config mount, and on 6379 for "redis") checks the pod, port, mounts, TLS files, env files and
  units in seconds; Quay itself is exercised by the real-Quay tests.

Every container, pod and image has a unique name and is removed at the end, pass or fail. podman runs
with CONTAINERS_CONF=compose/containers.conf (runc, no default ulimits) unless the caller set one.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bundler.quay import bootstrap, load_images_from_layout, stack_down, stack_status, stack_up
from bundler.quay.images import distribution_layout, write_image_layout

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("CONTAINERS_CONF", str(ROOT / "compose" / "containers.conf"))


def _podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def uniq() -> Iterator[str]:
    tag = "bt" + secrets.token_hex(4)
    yield tag
    # clean up whatever the test left: pods, containers, images named after the tag
    pods = _podman("pod", "ps", "-q", "--filter", f"name={tag}", check=False).stdout.split()
    if pods:
        _podman("pod", "rm", "-f", *pods, check=False)
    ids = _podman("ps", "-aq", "--filter", f"name={tag}", check=False).stdout.split()
    if ids:
        _podman("rm", "-f", *ids, check=False)
    imgs = [line for line in _podman("images", "--format", "{{.Repository}}:{{.Tag}}", check=False).stdout.split()
            if tag in line]
    if imgs:
        _podman("rmi", "-f", *imgs, check=False)


def _secret_free(text: str, *secret_values: str) -> None:
    for s in secret_values:
        assert s not in text


def _create_commands(pod: str) -> str:
    ids = _podman("ps", "-aq", "--filter", f"pod={pod}").stdout.split()
    data = json.loads(_podman("inspect", *ids).stdout)
    return json.dumps([c["Config"].get("CreateCommand") for c in data])


def test_distribution_stack_end_to_end(tmp_path: Path, uniq: str) -> None:
    t0 = time.monotonic()
    layout = tmp_path / "bundle-layout"
    ref = f"registry.example.com/{uniq}/distribution:2.8"
    distribution_layout(layout, ref)
    tiny_ref = f"quay.io/{uniq}/tiny:1.0"
    write_image_layout(layout, tiny_ref, [("hello.txt", b"hello from the air gap\n", 0o644)],
                       {"Cmd": ["/hello.txt"]})

    loaded = load_images_from_layout(layout, [ref])
    assert loaded == {ref: ref}
    assert _podman("image", "exists", ref, check=False).returncode == 0

    data = tmp_path / "data"
    port = _free_port()
    reg = bootstrap(data, "localhost", port, [], flavor="distribution", images={"registry": loaded[ref]},
                    name=uniq, bind_address="127.0.0.1", timeout=60)
    assert reg.host == f"localhost:{port}" and reg.username == "mirror" and reg.admin_user is None
    assert reg.ca_file == data / "ca-bundle.pem" and reg.ca_file.exists()
    assert reg.password not in repr(reg)

    # health: /v2/ over TLS verified with our CA is 401 without credentials, 200 with
    url = f"https://localhost:{port}/v2/"
    assert requests.get(url, verify=str(reg.ca_file), timeout=5).status_code == 401
    assert requests.get(url, verify=str(reg.ca_file), auth=(reg.username, reg.password), timeout=5).status_code == 200

    # push one small image with skopeo: CA through --dest-cert-dir, credentials through an authfile
    certs = tmp_path / "certs.d"
    certs.mkdir()
    (certs / "ca.crt").write_bytes(reg.ca_file.read_bytes())
    authfile = tmp_path / "auth.json"
    authfile.write_text(json.dumps({"auths": reg.auth_entries()}))
    authfile.chmod(0o600)
    dest = f"docker://{reg.host}/ocp4/tiny:1.0"
    res = subprocess.run(["skopeo", "copy", "--quiet", "--dest-cert-dir", str(certs), "--dest-authfile",
                          str(authfile), f"oci:{layout}:{tiny_ref}", dest], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    mf = requests.get(f"https://{reg.host}/v2/ocp4/tiny/manifests/1.0", verify=str(reg.ca_file),
                      auth=(reg.username, reg.password),
                      headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}, timeout=5)
    assert mf.status_code == 200

    # no secret on any podman command line, in the units or in stack.json
    pod = f"{uniq}-pod"
    sec = json.loads((data / "secrets" / "secrets.json").read_text())
    secret_values = [reg.password, sec["registry_http_secret"]]
    _secret_free(_create_commands(pod), *secret_values)
    units = sorted((data / "systemd").glob("*.service"))
    assert [u.name for u in units] == [f"container-{uniq}-registry.service", f"pod-{pod}.service"]
    for u in units:
        _secret_free(u.read_text(), *secret_values)
    _secret_free((data / "stack.json").read_text(), *secret_values)
    for p in (data / "quay-credentials", data / "secrets" / "secrets.json", data / "registry" / "auth" / "htpasswd",
              data / "registry" / "certs" / "server.key", data / "tls" / "server.key", data / "tls" / "ca.key"):
        assert p.stat().st_mode & 0o077 == 0, p
    inspect = json.loads(_podman("inspect", f"{uniq}-registry").stdout)[0]
    assert inspect["HostConfig"]["RestartPolicy"]["Name"] == "always"

    status = stack_status(data)
    assert status["ready"] is True and status["pod_state"] == "Running"
    assert status["containers"] == {f"{uniq}-registry": "running"}

    # restart the container: the pushed image survives (storage is in the data dir); `up` again is a no-op
    pod_id = json.loads(_podman("pod", "inspect", pod).stdout)["Id"]
    _podman("restart", f"{uniq}-registry")
    stack_up(data, wait=True, timeout=60)
    assert json.loads(_podman("pod", "inspect", pod).stdout)["Id"] == pod_id
    # down keeps data; up again reuses it, same credentials
    stack_down(data)
    assert _podman("pod", "exists", pod, check=False).returncode != 0
    assert stack_status(data)["pod_state"] == "absent"
    reg2 = bootstrap(data, "localhost", port, [], flavor="distribution", timeout=60)
    assert (reg2.username, reg2.password) == (reg.username, reg.password)
    mf = requests.get(f"https://{reg.host}/v2/ocp4/tiny/manifests/1.0", verify=str(reg.ca_file),
                      auth=(reg.username, reg.password),
                      headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}, timeout=5)
    assert mf.status_code == 200

    stack_down(data, purge=True)
    assert not data.exists()
    assert _podman("pod", "exists", pod, check=False).returncode != 0
    print(f"distribution stack test: {time.monotonic() - t0:.1f}s")


def test_quay_flavor_with_stand_in_images(tmp_path: Path, uniq: str) -> None:
    layout = tmp_path / "layout"
    quay_ref = f"registry.example.com/{uniq}/quay-standin:3.12"
    redis_ref = f"registry.example.com/{uniq}/redis-standin:6"
    binary = Path("/usr/bin/docker-registry")
    distribution_layout(layout, quay_ref)   # files: the registry binary and its libraries
    # stand-in Quay: serves TLS on 8443 with the ssl.cert/ssl.key bundler put in /quay-registry/conf/stack
    # (the `registry` argument bundler passes, as for real Quay, is ignored by `serve`)
    write_image_layout(layout, quay_ref, [("usr/bin/registry", binary, 0o755)] + _libs(),
                       {"Entrypoint": ["/usr/bin/registry", "serve", "/quay-registry/conf/stack/standin.yml"]})
    redis_cfg = b"version: 0.1\nstorage: {filesystem: {rootdirectory: /data}}\nhttp: {addr: ':6379'}\n"
    write_image_layout(layout, redis_ref, [("usr/bin/registry", binary, 0o755), ("etc/standin.yml", redis_cfg, 0o644)]
                       + _libs(), {"Entrypoint": ["/usr/bin/registry", "serve", "/etc/standin.yml"]})
    loaded = load_images_from_layout(layout, [quay_ref, redis_ref])

    data = tmp_path / "data"
    conf = data / "quay" / "config"
    conf.mkdir(parents=True)
    (conf / "standin.yml").write_text(
        "version: 0.1\nstorage: {filesystem: {rootdirectory: /datastorage}}\n"
        "http: {addr: ':8443', tls: {certificate: /quay-registry/conf/stack/ssl.cert, "
        "key: /quay-registry/conf/stack/ssl.key}}\n")
    port = _free_port()
    state = stack_up(data, "127.0.0.1", port, "quay", {"quay": loaded[quay_ref], "redis": loaded[redis_ref]},
                     name=uniq, bind_address="127.0.0.1", wait=False)
    assert state.registry_host == f"127.0.0.1:{port}"
    ca = str(data / "ca-bundle.pem")
    deadline = time.monotonic() + 30
    code = None
    while time.monotonic() < deadline:
        try:
            code = requests.get(f"https://localhost:{port}/v2/", verify=ca, timeout=3).status_code
            break
        except requests.RequestException:
            time.sleep(0.3)
    assert code == 200  # TLS on the published port, with the generated chain, from Quay's config mount

    cfg = (conf / "config.yaml").read_text()
    assert f"SERVER_HOSTNAME: 127.0.0.1:{port}" in cfg
    sec = json.loads((data / "secrets" / "secrets.json").read_text())
    redis_env = json.loads(_podman("inspect", f"{uniq}-redis").stdout)[0]["Config"]["Env"]
    assert f"REDIS_PASSWORD={sec['redis_password']}" in redis_env           # delivered by --env-file
    _secret_free(_create_commands(f"{uniq}-pod"), sec["redis_password"], sec["secret_key"],
                 sec["database_secret_key"])
    for u in (data / "systemd").glob("*.service"):
        _secret_free(u.read_text(), sec["redis_password"])
    assert {p.name for p in (data / "systemd").glob("*.service")} == {
        f"pod-{uniq}-pod.service", f"container-{uniq}-app.service", f"container-{uniq}-redis.service"}
    st = stack_status(data)
    assert st["containers"] == {f"{uniq}-app": "running", f"{uniq}-redis": "running"}
    assert st["flavor"] == "quay" and st["db"] == "sqlite"

    # same definition: up again keeps the pod (no re-create); a changed port re-creates it
    pod_id = json.loads(_podman("pod", "inspect", f"{uniq}-pod").stdout)["Id"]
    stack_up(data, wait=False)
    assert json.loads(_podman("pod", "inspect", f"{uniq}-pod").stdout)["Id"] == pod_id

    stack_down(data)
    assert (conf / "config.yaml").exists()    # down keeps data
    stack_down(data, purge=True)
    assert not data.exists()


def _libs() -> list[tuple[str, Path | bytes, int]]:
    from bundler.quay.images import _libs_of
    return [(str(p).lstrip("/"), p.resolve(), 0o755) for p in _libs_of(Path("/usr/bin/docker-registry"))]


def test_missing_images_are_a_clear_error(tmp_path: Path, uniq: str) -> None:
    from bundler.errors import BundlerError
    with pytest.raises(BundlerError, match="images missing from podman storage"):
        stack_up(tmp_path, "127.0.0.1", _free_port(), "quay",
                 {"quay": f"localhost/{uniq}/nope:1", "redis": f"localhost/{uniq}/nope:2"}, name=uniq)


def test_authfile_entries_are_basic_auth(tmp_path: Path) -> None:
    from bundler.quay import MirrorRegistry
    reg = MirrorRegistry("h:1", tmp_path / "ca.pem", "u", "p", None)
    assert base64.b64decode(reg.auth_entries()["h:1"]["auth"]) == b"u:p"


def test_cli_up_status_down_distribution(tmp_path: Path, uniq: str) -> None:
    from typer.testing import CliRunner

    from bundler.quay.cli import quay_app
    from bundler.quay.images import DISTRIBUTION_IMAGE
    had_image = _podman("image", "exists", DISTRIBUTION_IMAGE, check=False).returncode == 0
    data = tmp_path / "data"
    port = _free_port()
    runner = CliRunner()
    try:
        res = runner.invoke(quay_app, ["up", "--data-dir", str(data), "--hostname", "localhost", "--port", str(port),
                                       "--flavor", "distribution", "--bind-address", "127.0.0.1", "--name", uniq])
        assert res.exit_code == 0, res.output
        assert f"localhost:{port}" in res.output
        password = json.loads((data / "quay-credentials").read_text())["password"]
        assert password not in res.output
        res = runner.invoke(quay_app, ["status", "--data-dir", str(data)])
        assert res.exit_code == 0 and "ready:      yes" in res.output, res.output
        res = runner.invoke(quay_app, ["status", "--data-dir", str(data), "--json"])
        assert json.loads(res.output)["ready"] is True
        res = runner.invoke(quay_app, ["down", "--data-dir", str(data)])
        assert res.exit_code == 0 and data.exists()
        res = runner.invoke(quay_app, ["status", "--data-dir", str(data)])
        assert res.exit_code == 3 and "absent" in res.output
        res = runner.invoke(quay_app, ["down", "--data-dir", str(data), "--purge"])
        assert res.exit_code == 0 and not data.exists()
    finally:
        stack_down(data, purge=True)
        if not had_image:
            _podman("rmi", "-f", DISTRIBUTION_IMAGE, check=False)


def test_flavor_switch_on_same_data_dir_is_refused(tmp_path: Path) -> None:
    from bundler.errors import BundlerError
    from bundler.quay.stack import StackState, save_state
    save_state(tmp_path, StackState(flavor="quay"))
    with pytest.raises(BundlerError, match="holds a quay registry"):
        stack_up(tmp_path, "localhost", 1, "distribution")


def test_another_data_dir_never_replaces_or_stops_a_running_registry(tmp_path: Path, uniq: str) -> None:
    """Issue 12's state loss: `up` on another data dir with the same (default) pod name removed the running
    pod and started a fresh registry (empty database, new CA) at the same address; `down` on a data dir
    with no registry said "stopped". Both are now refused, and the running registry is left alone."""
    from typer.testing import CliRunner

    from bundler.errors import BundlerError
    from bundler.quay.cli import quay_app
    from bundler.quay.stack import StackState, save_state
    layout = tmp_path / "layout"
    ref = f"registry.example.com/{uniq}/distribution:2.8"
    distribution_layout(layout, ref)
    loaded = load_images_from_layout(layout, [ref])
    first, other = tmp_path / "first", tmp_path / "other"
    port = _free_port()
    bootstrap(first, "localhost", port, [], flavor="distribution", images={"registry": loaded[ref]}, name=uniq,
              bind_address="127.0.0.1", timeout=60)
    pod_id = json.loads(_podman("pod", "inspect", f"{uniq}-pod").stdout)["Id"]
    ca = (first / "tls" / "ca.pem").read_bytes()
    with pytest.raises(BundlerError, match=f"serves the registry whose data is in {first}"):
        stack_up(other, "localhost", _free_port(), "distribution", {"registry": loaded[ref]}, name=uniq)
    assert not (other / "tls").exists(), "nothing was made for the refused stack"
    other.mkdir()
    save_state(other, StackState(name=uniq, flavor="distribution"))   # a stale data dir naming the same pod
    assert "left alone" in stack_down(other)
    assert "serves" in stack_status(other)["pod_state"] and stack_status(other)["ready"] is False
    res = CliRunner().invoke(quay_app, ["down", "--data-dir", str(tmp_path / "nothing-here")])
    assert res.exit_code == 1 and f"{uniq}-pod with its data in {first}" in res.output
    assert json.loads(_podman("pod", "inspect", f"{uniq}-pod").stdout)["Id"] == pod_id
    assert stack_status(first)["ready"] is True and (first / "tls" / "ca.pem").read_bytes() == ca
    assert "stopped" in stack_down(first, purge=True)


def test_quay_refuses_localhost_with_another_port(tmp_path: Path) -> None:
    """Real Quay's health check dials https://localhost:<port>/_internal_ping inside its container when
    SERVER_HOSTNAME is localhost:<port>; with any port but 8443 it is never healthy (seen for real)."""
    from bundler.errors import BundlerError
    from bundler.quay.config import check_quay_address
    with pytest.raises(BundlerError, match="use --hostname 127.0.0.1"):
        stack_up(tmp_path, "localhost", 18443, "quay", {"quay": "x", "redis": "y"}, name="bt-localhost-check")
    check_quay_address("localhost", 8443)
    check_quay_address("127.0.0.1", 18443)
    check_quay_address("mirror.example.com", 5000)


def test_redis_data_is_mounted_where_rhel8_redis_keeps_it(tmp_path: Path) -> None:
    from bundler.quay.stack import StackState, render
    cmds = render(tmp_path, StackState(name="r", images={"quay": "q", "redis": "r"}))
    redis = next(c for c in cmds if "r-redis" in c)
    assert f"{tmp_path / 'redis'}:/var/lib/redis/data:Z,U" in redis


def test_half_a_ca_is_never_replaced(tmp_path: Path) -> None:
    """Clusters trust the CA: losing its key must stop us, not silently make a new CA."""
    from bundler.errors import BundlerError
    from bundler.quay.tls import ensure_tls
    files = ensure_tls(tmp_path, "localhost", extra_ips=[])
    ca = files.ca_cert.read_bytes()
    files.ca_key.unlink()
    with pytest.raises(BundlerError, match="CA is incomplete"):
        ensure_tls(tmp_path, "localhost", extra_ips=[])
    assert files.ca_cert.read_bytes() == ca


def test_pull_secret_entries_org_robots_and_host_reader(tmp_path: Path) -> None:
    from bundler.quay import MirrorRegistry

    def user(entry: dict[str, str]) -> str:
        return base64.b64decode(entry["auth"]).decode()
    reg = MirrorRegistry("h:1", tmp_path / "ca.pem", "quayadmin", "ADMINPW", "quayadmin",
                         {"a": ("a+mirror", "TOKA"), "b": ("b+mirror", "TOKB")}, ("quayadmin+reader", "TOKR"))
    entries = reg.pull_secret_entries()
    assert {k: user(v) for k, v in entries.items()} == {"h:1/a": "a+mirror:TOKA", "h:1/b": "b+mirror:TOKB",
                                                       "h:1": "quayadmin+reader:TOKR"}
    assert "ADMINPW" not in json.dumps(entries) and not {"ADMINPW", "TOKA", "TOKR"} & set(repr(reg).split("'"))
    dist = MirrorRegistry("h:2", tmp_path / "ca.pem", "mirror", "pw")
    assert {k: user(v) for k, v in dist.pull_secret_entries().items()} == {"h:2": "mirror:pw"}
