"""``bundler delete`` against a real Docker Distribution with deletes enabled: content mirrored there, a plan
generated from the realistic DeleteImageSetConfiguration with a --keep configuration (nothing deleted), the
plan executed (manifests gone, kept ones still there), garbage collection reclaiming the blobs; and bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from testkit.cli import invoke
from testkit.realistic_fixtures import RealWorld
from testkit.registry import RegistryServer, write_authfile
from testkit.synthetic import push_image

ISC = "kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\n"


def _isc(path: Path, host: str, body: str) -> Path:
    path.write_text(ISC + body.replace("HOST", host))
    return path


def _blobs(server: RegistryServer) -> int:
    return sum(1 for _ in (server.storage / "docker" / "registry" / "v2" / "blobs").rglob("data"))


def test_two_phase_delete_keeps_what_keep_references(realistic: RealWorld, tmp_path: Path,
                                                     registry_factory: Callable[..., RegistryServer]) -> None:
    mirror = registry_factory(auth="basic")
    up = realistic.upstream
    auth = write_authfile(tmp_path / "auth.json", {up.host: (up.username, up.password),
                                                    mirror.host: (mirror.username, mirror.password)})
    minimal = realistic.up.digests["ubi8/ubi-minimal"]
    carried = _isc(tmp_path / "carried.yaml", up.host, f"""mirror:
  operators:
  - catalog: HOST/redhat/redhat-operator-index:v4.15
    packages: [{{name: aws-load-balancer-operator, minVersion: 1.0.0}}]
  additionalImages:
  - name: HOST/ubi8/ubi-minimal@{minimal}
  - name: HOST/ubi9/ubi:latest
""")
    registry = f"{mirror.host}/ocp"
    common = ("--authfile", auth, "--ca-file", realistic.ca_file)
    code, out = invoke("mirror", "-c", carried, "--registry", registry, "-o", tmp_path / "out", *common)
    assert code == 0, out
    client = mirror.client()
    sig = push_image(client, "ocp/ubi8/ubi-minimal", f"sha256-{minimal.removeprefix('sha256:')}.sig",
                     {"signature": b"a sigstore signature"})
    keep = _isc(tmp_path / "keep.yaml", up.host, """mirror:
  operators:
  - catalog: HOST/redhat/redhat-operator-index:v4.15
    packages: [{name: aws-load-balancer-operator, channels: [{name: stable-v1, minVersion: 1.1.0, maxVersion: 1.1.0}]}]
""")
    disc = realistic.config("delete.yaml", tmp_path / "cfg", drop_channels=True)  # channels: the update graph
    plan_file = tmp_path / "delete-plan.yaml"
    before = _blobs(mirror)
    code, out = invoke("delete", "-c", disc, "--registry", registry, "--generate", "-o", plan_file, "--keep", keep,
                       *common)
    assert code == 0, out
    assert "delete.samples: oc-mirror's delete ignores samples" in out and "Nothing was deleted" in out
    plan = yaml.safe_load(plan_file.read_text())
    assert plan["kind"] == "DeleteImageList" and plan["apiVersion"] == "mirror.openshift.io/v2alpha1"
    bundles = realistic.up.bundles
    b111, b110 = bundles["aws-load-balancer-operator.v1.1.1"], bundles["aws-load-balancer-operator.v1.1.0"]
    names = {i["imageName"]: i for i in plan["items"]}
    assert b111 in names and b110 not in names
    assert names[b111]["type"] == "operatorBundle"
    assert names[b111]["imageReference"] == f"docker://{registry}/rh/aws-load-balancer-operator-operator-bundle@{b111.split('@')[1]}"
    assert f"{up.host}/ubi8/ubi-minimal@{minimal}" in names
    signature = names[f"{up.host}/ubi8/ubi-minimal:sha256-{minimal.removeprefix('sha256:')}.sig"]
    assert signature["imageReference"].endswith(sig.digest)
    assert len(plan["items"]) == 4  # bundle 1.1.1, its operator image, ubi-minimal, its signature
    assert {k["image"] for k in plan["notDeleted"] if "--keep" in k["reason"]} >= {b110}
    assert not any("redhat-operator-index" in i["imageReference"] for i in plan["items"])  # catalogs never
    assert client.head_manifest("ocp/ubi8/ubi-minimal", minimal) == minimal  # phase 1 deleted nothing
    assert _blobs(mirror) == before

    code, out = invoke("delete", "--registry", registry, "--plan", plan_file, *common)
    assert code == 0, out
    assert "Deleted 4 manifests; 0 were already gone; 0 failed." in out
    assert "registry garbage-collect --delete-untagged" in out
    assert client.head_manifest("ocp/ubi8/ubi-minimal", minimal) is None
    assert client.head_manifest("ocp/rh/aws-load-balancer-operator-operator-bundle", b111.split("@")[1]) is None
    assert client.head_manifest("ocp/rh/aws-load-balancer-operator-operator-bundle", b110.split("@")[1])  # kept
    assert client.head_manifest("ocp/ubi9/ubi", "latest")  # not named
    mirror.garbage_collect()
    assert _blobs(mirror) < before
    code, out = invoke("delete", "--registry", registry, "--plan", plan_file, *common)
    assert code == 0 and "Deleted 0 manifests; 4 were already gone" in out, out


def test_delete_bad_input(realistic: RealWorld, tmp_path: Path, registry_factory: Callable[..., RegistryServer],
                          basic_registry: tuple[RegistryServer, str]) -> None:
    locked = registry_factory(auth=None, delete_enabled=False)
    shared, prefix = basic_registry
    auth = write_authfile(tmp_path / "auth.json", {shared.host: (shared.username, shared.password)})
    img = push_image(locked.client(), "a/b", "v1", {"f": b"x"})
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump({"apiVersion": "mirror.openshift.io/v2alpha1", "kind": "DeleteImageList",
                                    "items": [{"imageName": "quay.io/a/b:v1", "imageReference":
                                               f"docker://{locked.host}/a/b@{img.digest}", "type": "generic"}]}))
    code, out = invoke("delete", "--registry", shared.host, "--plan", plan, "--authfile", auth,
                       "--ca-file", realistic.ca_file)
    assert code == 1 and f"docker://{locked.host}/a/b@{img.digest} is not in {shared.host}" in out, out
    # a Distribution without storage.delete.enabled: HTTP 405, said once, nothing else tried
    from bundler.delete import execute
    from bundler.errors import RegistryError
    try:
        execute(plan, locked.host, None, realistic.ca_file, say=lambda _: None)
    except RegistryError as exc:
        assert "refuses to delete manifests (HTTP 405" in exc.message and "storage.delete.enabled" in str(exc.hint)
    else:
        raise AssertionError("a registry without deletes must refuse")
    isc = _isc(tmp_path / "isc.yaml", "quay.io", "mirror:\n  additionalImages: [{name: HOST/a/b:v1}]\n")
    code, out = invoke("delete", "-c", isc, "--registry", shared.host, "--generate", "-o", tmp_path / "p.yaml")
    assert code == 1 and "kind: this is an ImageSetConfiguration" in out
    code, out = invoke("delete", "--registry", shared.host)
    assert code == 1 and "give either --generate" in out
    code, out = invoke("delete", "--registry", shared.host, "--plan", isc)
    assert code == 1 and "is not a delete plan" in out
