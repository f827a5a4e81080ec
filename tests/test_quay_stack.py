"""The stack with real podman: images loaded from an OCI layout into podman storage, the pod rendered
and started, health-waited, used, restarted, stopped and purged.

Quay's image cannot exist on this machine, so:

- the ``distribution`` flavor runs for real (Debian's docker-registry packed into a locally built OCI
  image): TLS with the generated CA, htpasswd auth, a skopeo push of a small image, restart, purge;
- the ``quay`` flavor runs with *stand-in* images (the same registry binary serving TLS on 8443 from the
  Quay config mount, and on 6379 for "redis"), which proves the pod, port, mounts, TLS files, env files
  and units are wired as Quay expects, but not Quay itself.

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
    state = stack_up(data, "localhost", port, "quay", {"quay": loaded[quay_ref], "redis": loaded[redis_ref]},
                     name=uniq, bind_address="127.0.0.1", wait=False)
    assert state.registry_host == f"localhost:{port}"
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
    assert f"SERVER_HOSTNAME: localhost:{port}" in cfg
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
        stack_up(tmp_path, "localhost", _free_port(), "quay",
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
