"""The release lifecycle end to end: channels resolved through a protocol-real update graph, releases
verified against a signature store, sigstore signatures, the KubeVirt disk, the graph-data image and the
tools, exported with the CLI from a real registry (token auth, TLS) and imported into another (Basic auth,
TLS). The update service and the signature store are testkit.graph_server on 127.0.0.1 (the real ones are
on the internet); the synthetic releases 4.4.5, 4.4.6 and 4.4.7 share all but three components."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bundler.oci import parse
from testkit.certs import CA
from testkit.cli import invoke
from testkit.graph_server import UpdateServer
from testkit.registry import RegistryServer, write_authfile
from testkit.releases import (
    ARCH_MARKER,
    IMAGE_MARKER,
    VERSION_MARKER,
    ReleaseSeries,
    build_series,
    sign_series,
    tool_files,
)
from testkit.signing import GpgSigner
from testkit.synthetic import RELEASE_REPO, push_multiarch
from testkit.writer import Writer


@dataclass
class World:
    registry: RegistryServer
    series: ReleaseSeries
    osus: UpdateServer
    signer: GpgSigner
    key: Path
    auth: Path
    ca: Path
    base: str
    tmp: Path

    def config(self, name: str, channels: list[dict[str, object]], **platform: object) -> Path:
        doc = {"kind": "ImageSetConfiguration", "apiVersion": "mirror.openshift.io/v2alpha1",
               "mirror": {"platform": {"channels": channels, **platform}}}
        path = self.tmp / name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    def export(self, config: Path, bundle: Path | None = None, *extra: object,
               graph_url: str | None = None) -> tuple[int, str]:
        out = ["-o", bundle] if bundle else ["-o", self.tmp / "dry.tar.zst", "--dry-run"]
        return invoke("export", "-c", config, *out, "--authfile", self.auth, "--ca-file", self.ca,
                      "--graph-url", graph_url or self.osus.url, *extra)


@pytest.fixture(scope="module")
def world(tls_ca: CA, basic_registry_server: RegistryServer,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("lifecycle")
    with RegistryServer(ca=tls_ca, auth="token", workdir=tmp / "upstream") as registry, \
            GpgSigner("bundler lifecycle release key", "ed25519") as signer:
        client = registry.client()
        series = build_series(client, ("4.4.5", "4.4.6", "4.4.7"), components=6, layer_size=16 * 1024)
        sign_series(client, series, release="4.4.6")
        push_multiarch(client, "ubi9/ubi", "latest", {a: {"etc/os-release": f"ubi9 {a}\n".encode()}
                                                      for a in ("amd64", "arm64")})
        with UpdateServer(series.universe(unpullable="4.4.8"), ca=tls_ca, workdir=tmp / "osus") as osus:
            for hexdigest, sigs in series.sign_releases(signer).items():
                osus.signatures[hexdigest] = sigs
            auth = write_authfile(tmp / "auth.json", {
                registry.host: (registry.username, registry.password),
                basic_registry_server.host: (basic_registry_server.username, basic_registry_server.password)})
            key = signer.write_public_key(tmp / "key.asc")
            with pytest.MonkeyPatch.context() as mp:  # this module's own store and key (oc-mirror's variables)
                mp.setenv("OCP_SIGNATURE_URL", osus.signature_url)
                mp.setenv("OCP_SIGNATURE_VERIFICATION_PK", str(key))
                yield World(registry, series, osus, signer, key, auth, registry.ca_file,
                            f"{registry.host}/ubi9/ubi:latest", tmp)


# -- selection through the CLI -------------------------------------------------------------------------

@pytest.mark.parametrize("channel,versions,path", [
    ({}, ["4.4.7"], "4.4.7 (a single release)"),
    ({"minVersion": "4.4.6"}, ["4.4.6", "4.4.7"], "4.4.6 -> 4.4.7"),
    ({"maxVersion": "4.4.6"}, ["4.4.5", "4.4.6"], "4.4.5 -> 4.4.6"),
    ({"full": True}, ["4.4.5", "4.4.6", "4.4.7"], "4.4.5 -> 4.4.7"),
    ({"minVersion": "4.4.5", "maxVersion": "4.4.7", "shortestPath": True}, ["4.4.5", "4.4.7"], "4.4.5 -> 4.4.7"),
])
def test_dry_run_prints_the_channel_releases_and_the_upgrade_path(world: World, channel: dict[str, object],
                                                                  versions: list[str], path: str) -> None:
    code, out = world.export(world.config("sel.yaml", [{"name": "stable-4.4", **channel}]))
    assert code == 0, out
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("    4.4.")]
    assert listed == versions, out
    assert f"upgrade path (amd64): {path}" in out
    for v in versions:
        assert world.series.releases[v].by_digest in out
    assert f"({len(versions)} release, " in out


def test_update_url_override_names_the_service(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """oc-mirror's variable, when --graph-url is not given (a real HTTPS service, trusted through --ca-file)."""
    monkeypatch.setenv("UPDATE_URL_OVERRIDE", world.osus.url + "/api/upgrades_info/graph")
    config = world.config("env.yaml", [{"name": "stable-4.4"}])
    code, out = invoke("export", "-c", config, "-o", world.tmp / "d.tar.zst", "--dry-run", "--authfile", world.auth,
                       "--ca-file", world.ca)
    assert code == 0 and f"resolved through {world.osus.url}/api/upgrades_info/graph:" in out, out
    code, out = invoke("export", "-c", config, "-o", world.tmp / "d.tar.zst", "--dry-run", "--authfile", world.auth)
    assert code == 1 and "update graph" in out and "TLS failed" in out, out  # the same trust as registries


def test_several_channels_resolve_the_path_across_them(world: World) -> None:
    code, out = world.export(world.config("two.yaml", [{"name": "stable-4.4", "minVersion": "4.4.5"},
                                                       {"name": "fast-4.4", "maxVersion": "4.4.6"}]))
    assert code == 0, out
    assert "stable-4.4 4.4.5..4.4.7, fast-4.4 4.4.5..4.4.6" in out
    assert "upgrade path (amd64): 4.4.5 -> 4.4.7" in out


# -- the upgrade bundle, end to end ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def upgrade(world: World, basic_registry_server: RegistryServer) -> dict[str, object]:
    config = world.config("upgrade.yaml", [{"name": "stable-4.4", "minVersion": "4.4.5", "maxVersion": "4.4.6"}],
                          graph=True, kubeVirtContainer=True)
    bundle = world.tmp / "upgrade" / "ocp-4.4.5-4.4.6.tar.zst"
    code, out = world.export(config, bundle, "--graph-base-image", world.base, "--extract-tools")
    assert code == 0, out
    outdir = world.tmp / "upgrade-install"
    target = f"{basic_registry_server.host}/lifecycle"
    code, imported = invoke("import", bundle, "--registry", target, "--authfile", world.auth, "--ca-file",
                            world.ca, "-o", outdir)
    assert code == 0, imported
    return {"bundle": bundle, "export": out, "import": imported, "outdir": outdir, "target": target,
            "mirror": Writer(basic_registry_server.host, username=basic_registry_server.username,
                             password=basic_registry_server.password, ca_file=str(world.ca))}


def _release_mirror(upgrade: dict[str, object], version: str, world: World) -> str:
    return f"{upgrade['target']}/{RELEASE_REPO}@{world.series.releases[version].digest}"


def test_both_releases_are_mirrored_by_tag_and_digest(world: World, upgrade: dict[str, object]) -> None:
    mirror: Writer = upgrade["mirror"]  # type: ignore[assignment]
    repo = f"lifecycle/{RELEASE_REPO}"
    for version in ("4.4.5", "4.4.6"):
        rel = world.series.releases[version]
        assert mirror.get_manifest(repo, f"{version}-x86_64").digest == rel.digest
        for name, ref in rel.components.items():
            assert mirror.get_manifest("lifecycle/" + parse(ref).repository, ref.split("@")[1]).digest, name
    with pytest.raises(Exception, match="HTTP 404"):  # maxVersion 4.4.6: the channel head is not carried
        mirror.get_manifest(repo, world.series.releases["4.4.7"].digest)


def test_signature_configmap_carries_each_release_signature(world: World, upgrade: dict[str, object]) -> None:
    outdir: Path = upgrade["outdir"]  # type: ignore[assignment]
    cm = json.loads((outdir / "signature-configmap.json").read_text())
    assert cm["metadata"]["namespace"] == "openshift-config-managed"
    assert cm["metadata"]["labels"] == {"release.openshift.io/verification-signatures": ""}
    import base64
    expected = {}
    for n, version in enumerate(("4.4.5", "4.4.6"), 1):
        digest = world.series.releases[version].digest
        expected[f"sha256-{digest[7:]}-{n}"] = base64.b64encode(world.osus.signatures[digest[7:]][0]).decode()
    assert cm["binaryData"] == expected
    assert yaml.safe_load((outdir / "signature-configmap.yaml").read_text()) == cm


def test_update_service_names_the_mirrored_graph_image(world: World, upgrade: dict[str, object]) -> None:
    outdir: Path = upgrade["outdir"]  # type: ignore[assignment]
    doc = yaml.safe_load((outdir / "updateService.yaml").read_text())
    assert doc["kind"] == "UpdateService" and doc["metadata"]["namespace"] == "openshift-update-service"
    assert doc["spec"]["releases"] == f"{upgrade['target']}/{RELEASE_REPO}"
    image = doc["spec"]["graphDataImage"]
    assert image.startswith(f"{upgrade['target']}/openshift/graph-image@sha256:")
    mirror: Writer = upgrade["mirror"]  # type: ignore[assignment]
    index = mirror.get_manifest("lifecycle/openshift/graph-image", "latest")
    assert index.digest == image.split("@")[1] and len(index.children) == 2  # every platform of the base
    child = mirror.get_manifest("lifecycle/openshift/graph-image", index.children[0].digest)
    import gzip
    import io
    import tarfile
    resp = mirror._request("GET", f"/v2/lifecycle/openshift/graph-image/blobs/{child.layers[-1].digest}",
                           "lifecycle/openshift/graph-image")
    names = tarfile.open(fileobj=io.BytesIO(gzip.decompress(resp.content))).getnames()
    assert "/var/lib/cincinnati-graph-data/channels/stable-4.4.yaml" in names


def test_kubevirt_disk_is_carried(world: World, upgrade: dict[str, object]) -> None:
    mirror: Writer = upgrade["mirror"]  # type: ignore[assignment]
    ref = parse(world.series.kubevirt)
    assert mirror.get_manifest(f"lifecycle/{ref.repository}", str(ref.digest)).digest == ref.digest
    report = json.loads((upgrade["outdir"] / "report.json").read_text())  # type: ignore[operator]
    assert any(i["source"] == world.series.kubevirt for i in report["images"])


def test_tools_carry_the_mirror_release_location(world: World, upgrade: dict[str, object]) -> None:
    outdir: Path = upgrade["outdir"]  # type: ignore[assignment]
    for version in ("4.4.5", "4.4.6"):
        installer = outdir / "tools" / version / "openshift-install"
        oc = outdir / "tools" / version / "oc"
        assert installer.stat().st_mode & 0o111 and oc.stat().st_mode & 0o111
        values = {IMAGE_MARKER: _release_mirror(upgrade, version, world), VERSION_MARKER: version,
                  ARCH_MARKER: "linux/amd64"}
        assert installer.read_bytes() == _inject(tool_files(version)["installer"]["usr/bin/openshift-install"], values)
        assert oc.read_bytes() == _inject(tool_files(version)["cli"]["usr/bin/oc"], {VERSION_MARKER: version})


def _inject(data: bytes, values: dict[bytes, str]) -> bytes:
    out = bytearray(data)
    for marker, value in values.items():
        at = out.find(marker)
        out[at:at + len(value) + 1] = value.encode() + b"\x00"
    return bytes(out)


def test_sigstore_signatures_are_pushed_byte_exact(world: World, upgrade: dict[str, object]) -> None:
    mirror: Writer = upgrade["mirror"]  # type: ignore[assignment]
    upstream = Writer(world.registry.host, username=world.registry.username, password=world.registry.password,
                      ca_file=str(world.ca))
    [(image, sig)] = world.series.signed_images.items()
    tag = image.split("@")[1].replace(":", "-") + ".sig"
    repo = parse(image).repository
    assert mirror.get_manifest(f"lifecycle/{repo}", tag).data == upstream.get_manifest(repo, tag).data
    assert upstream.get_manifest(repo, tag).digest == sig
    [(subject, referrer)] = world.series.referrers.items()
    repo = parse(subject).repository
    assert mirror.get_manifest(f"lifecycle/{repo}", referrer).data == upstream.get_manifest(repo, referrer).data
    # 4.4.5 has no sigstore signature: a warning names it
    assert f"release image {world.series.releases['4.4.5'].by_digest} has no sigstore signature" in str(upgrade["export"])


def test_upgrade_bundle_shares_blobs_with_one_release(world: World) -> None:
    """The figure: bundle size of one release (4.4.6) vs the 4.4.5 + 4.4.6 upgrade bundle."""
    sizes = {}
    blobs = {}
    for name, channel in (("one", {"minVersion": "4.4.6", "maxVersion": "4.4.6"}),
                          ("two", {"minVersion": "4.4.5", "maxVersion": "4.4.6"})):
        bundle = world.tmp / f"fig-{name}" / "b.tar.zst"
        code, out = world.export(world.config(f"{name}.yaml", [{"name": "stable-4.4", **channel}]), bundle)
        assert code == 0, out
        # the front file and its data parts: all a user carries (BUNDLE.sha256 aside)
        sizes[name] = sum(p.stat().st_size for p in [bundle, *bundle.parent.glob(bundle.name + ".[0-9][0-9][0-9]")])
        code, text = invoke("inspect", bundle, "--json")
        meta = json.loads(text)
        blobs[name] = set(meta["otherBlobs"])
    print(f"\nFIGURE one release {sizes['one']} bytes ({len(blobs['one'])} blobs); 4.4.5+4.4.6 {sizes['two']} bytes "
          f"({len(blobs['two'])} blobs): x{sizes['two'] / sizes['one']:.2f}")
    assert blobs["one"] < blobs["two"]
    changed = len(world.series.changed)
    # what 4.4.5 adds: its changed components' own layers and configs, its release image's manifests layer and
    # config (the base and cluster-version-operator layers are the same blobs in both releases)
    assert len(blobs["two"] - blobs["one"]) == 2 * changed + 2
    assert sizes["two"] < 1.6 * sizes["one"]


# -- bad input: one message naming the thing, a non-zero exit, no bundle ----------------------------------

def _head(world: World) -> Path:
    return world.config("head.yaml", [{"name": "stable-4.4"}])


def test_graph_server_unreachable(world: World) -> None:
    code, out = world.export(_head(world), graph_url="https://127.0.0.1:9")
    assert code == 1 and "update graph https://127.0.0.1:9/api/upgrades_info/v1/graph is unreachable" in out


def test_graph_server_answering_an_error(world: World) -> None:
    world.osus.fail("/api/upgrades_info/v1/graph", 503)
    try:
        code, out = world.export(_head(world))
    finally:
        world.osus.clear_failures()
    assert code == 1 and "answered HTTP 503 for channel stable-4.4 arch amd64: failed_upstream_fetch: test" in out


@pytest.mark.parametrize("channel,message", [
    ({"name": "stable-9.9"}, "release channel 'stable-9.9' has no releases for architecture amd64"),
    ({"name": "stable-4.4", "minVersion": "4.4.4"}, "release channel stable-4.4 (amd64) has no release 4.4.4 (minVersion)"),
    ({"name": "stable-4.4", "minVersion": "4.4.7", "maxVersion": "4.4.5"}, "maxVersion: 4.4.5 is lower than minVersion 4.4.7"),
])
def test_channel_errors_are_named(world: World, channel: dict[str, object], message: str) -> None:
    code, out = world.export(world.config("bad.yaml", [channel]))
    assert code == 1 and message in out, out


def test_release_whose_payload_cannot_be_pulled(world: World) -> None:
    bundle = world.tmp / "unpullable" / "b.tar.zst"
    code, out = world.export(world.config("cand.yaml", [{"name": "candidate-4.4", "minVersion": "4.4.7"}]), bundle)
    assert code == 2, out
    assert "release 4.4.8 (channel candidate-4.4, amd64)" in out and "the payload cannot be pulled" in out
    assert "The bundle is INCOMPLETE" in out


@pytest.fixture()
def head_signatures(world: World) -> Iterator[list[bytes]]:
    """The signatures the store serves for 4.4.7 (the channel head), restored afterwards."""
    hexdigest = world.series.releases["4.4.7"].digest[7:]
    saved = list(world.osus.signatures[hexdigest])
    yield world.osus.signatures[hexdigest]
    world.osus.signatures[hexdigest] = saved


def test_missing_signature_fails_the_export_and_leaves_no_bundle(world: World, head_signatures: list[bytes]) -> None:
    head_signatures.clear()
    bundle = world.tmp / "unsigned" / "b.tar.zst"
    code, out = world.export(_head(world), bundle)
    digest = world.series.releases["4.4.7"].digest
    assert code == 1 and "release 4.4.7 (channel stable-4.4, amd64)" in out and f"no signature for {digest}" in out
    assert not bundle.exists()
    code, out = world.export(_head(world), None, "--ignore-release-signature")
    assert code == 0, out


def test_unverifiable_signature(world: World, head_signatures: list[bytes]) -> None:
    head_signatures[:] = [b"not an OpenPGP message"]
    code, out = world.export(_head(world))
    assert code == 1 and "release 4.4.7 (channel stable-4.4, amd64)" in out and "signature-1 cannot be verified" in out


def test_signature_by_another_key(world: World, head_signatures: list[bytes], tmp_path: Path) -> None:
    with GpgSigner("someone else", "ed25519") as stranger:
        head_signatures[:] = [stranger.sign_release(world.series.releases["4.4.7"].digest, "x")]
        code, out = world.export(_head(world))
        assert code == 1 and "release 4.4.7 (channel stable-4.4, amd64)" in out and "is signed by another key" in out
        assert stranger.key_id.upper() in out.upper(), out
        other = stranger.write_public_key(tmp_path / "stranger.asc")
    head_signatures[:] = [world.signer.sign_release(world.series.releases["4.4.7"].digest, "x")]
    code, out = world.export(_head(world), None, "--release-key", other)  # the flag wins over the variable
    assert code == 1 and "is signed by another key" in out


def test_signature_naming_another_digest(world: World, head_signatures: list[bytes]) -> None:
    other = world.series.releases["4.4.6"].digest
    head_signatures[:] = [world.signer.sign_release(other, "quay.io/x:4.4.6")]
    code, out = world.export(_head(world))
    assert code == 1 and f"names image {other}" in out


def test_require_sigstore(world: World) -> None:
    code, out = world.export(world.config("v5.yaml", [{"name": "stable-4.4", "maxVersion": "4.4.5"}]), None,
                             "--require-sigstore")
    assert code == 1 and f"release image {world.series.releases['4.4.5'].by_digest} has no sigstore signature" in out
    code, out = world.export(world.config("v6.yaml", [{"name": "stable-4.4", "minVersion": "4.4.6",
                                                       "maxVersion": "4.4.6"}]), None, "--require-sigstore")
    assert code == 0, out
