"""The core pipeline end to end against real Docker Distribution processes: a synthetic upstream behind
Bearer-token auth over TLS, exported with the CLI, carried as split parts, imported into a second registry
with Basic auth over TLS; digests checked byte for byte; skopeo and podman as independent clients."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bundler.oci import mediatypes
from testkit.cli import invoke as cli
from testkit.registry import RegistryServer
from testkit.synthetic import Upstream, build_upstream


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RegistryServer, Upstream, Path]]:
    """Token-auth TLS registry holding the synthetic release (12 components, list, OCI index)."""
    server = RegistryServer(auth="token").start()
    up = build_upstream(server.client(), version="4.4.5", components=12, layer_size=48 * 1024)
    d = tmp_path_factory.mktemp("upstream")
    server.authfile(d / "auth.json")
    yield server, up, d
    server.close()


@pytest.fixture(scope="module")
def exported(upstream: tuple[RegistryServer, Upstream, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    server, up, d = upstream
    out = tmp_path_factory.mktemp("export")
    cfg = up.write_config(out / "imageset.yaml")
    bundle = out / "bundle" / "ocp-4.4.5.tar.zst"
    code, output = cli("export", "-c", cfg, "-o", bundle, "--authfile", d / "auth.json", "--ca-file",
                       server.ca_file, "--split-size", "200K")
    assert code == 0, output
    return {"bundle": bundle, "output": output, "config": cfg, "work": unpack(bundle, out / "layout")}


def unpack(bundle: Path, into: Path) -> Path:
    """The bundle unpacked by hand, as docs/usage.md says: the front and the data parts are one tar+zstd."""
    into.mkdir(parents=True)
    parts = sorted(bundle.parent.glob(bundle.name + ".[0-9]*"))
    subprocess.run(f"cat {bundle} {' '.join(map(str, parts))} | zstd -q -d | tar -C {into} -xf -", shell=True,
                   check=True)
    return into


@pytest.fixture()
def target(tmp_path: Path) -> Iterator[RegistryServer]:
    server = RegistryServer(auth="basic").start()
    server.authfile(tmp_path / "target-auth.json")
    yield server
    server.close()


def _import(bundle: Path, target: RegistryServer, outdir: Path, prefix: str = "mirror") -> tuple[int, str]:
    return cli("import", bundle, "--registry", f"{target.host}/{prefix}", "--authfile",
               outdir.parent / "target-auth.json", "--ca-file", target.ca_file, "-o", outdir)


def test_export_writes_split_parts_with_checksums(exported: dict, upstream: tuple) -> None:
    _, up, _ = upstream
    bundle: Path = exported["bundle"]
    parts = sorted(bundle.parent.glob(bundle.name + ".[0-9][0-9][0-9]"))
    assert len(parts) > 3
    assert {p.stat().st_size for p in parts[:-1]} == {200 * 1024}  # every part but the last: exactly the size
    sums = Path(f"{bundle}.sha256").read_text().splitlines()
    assert [line.split()[1] for line in sums] == [bundle.name, *(p.name for p in parts)]
    assert "unique blobs" in exported["output"]
    code, out = cli("verify", bundle)
    assert code == 0 and f"{len(parts) + 1} file(s) match" in out
    assert subprocess.run(["sha256sum", "--quiet", "-c", sums and f"{bundle.name}.sha256"], cwd=bundle.parent).returncode == 0
    # every unique blob of the upstream was carried exactly once
    meta = json.loads((exported["work"] / "bundler.json").read_text())
    assert meta["blobs"] == len(set(meta["otherBlobs"]))
    assert set(meta["otherBlobs"]) <= set(up.blobs)


def test_layout_index_names_full_source_references(exported: dict, upstream: tuple) -> None:
    _, up, _ = upstream
    index = json.loads((exported["work"] / "index.json").read_text())
    names = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in index["manifests"]}
    assert up.release in names
    assert names[up.release]["digest"] == up.release_digest
    for ref in up.components.values():
        assert ref in names, ref
        assert names[ref]["annotations"]["io.containerd.image.name"] == ref
    meta = json.loads((exported["work"] / "bundler.json").read_text())
    assert meta["requested"]["imageSetConfiguration"]["mirror"]["platform"]["release"] == up.release
    kinds = {i["source"]: i["kind"] for i in meta["images"]}
    assert kinds[up.release] == "release"
    assert all(kinds[r] == "release-component" for r in up.components.values())
    assert meta["bundlerVersion"] and meta["created"]


def test_skopeo_reads_an_image_from_the_layout(exported: dict, upstream: tuple, tmp_path: Path) -> None:
    """skopeo (containers/image) finds images in index.json by org.opencontainers.image.ref.name. It only
    looks at entries with OCI media types (c/image skips Docker schema2 entries), so the OCI index of the
    synthetic upstream is what it is asked for; it is copied with all its platforms and read back."""
    _, up, _ = upstream
    work = exported["work"]
    ref = up.oci_index
    raw = subprocess.run(["skopeo", "inspect", "--raw", f"oci:{work}:{ref}"], check=True, capture_output=True).stdout
    assert json.loads(raw)["mediaType"] == mediatypes.OCI_INDEX
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    assert digest == up.additional[ref]
    subprocess.run(["skopeo", "copy", "--all", "--preserve-digests", f"oci:{work}:{ref}", f"oci:{tmp_path / 'copy'}:x"],
                   check=True, capture_output=True)
    index = json.loads((tmp_path / "copy" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == digest


def test_manifest_list_and_oci_index_kept_byte_exact(exported: dict, upstream: tuple) -> None:
    server, up, _ = upstream
    work = exported["work"]
    client = server.client()
    for ref in (up.manifest_list, up.oci_index):
        name, _, tag_or_digest = ref.partition("@") if "@" in ref else ref.rpartition(":")
        repo = name.split("/", 1)[1]
        m = client.get_manifest(repo, tag_or_digest)
        assert (work / "blobs" / "sha256" / m.digest.split(":")[1]).read_bytes() == m.data
        assert m.is_list
        for child in m.doc["manifests"]:
            assert (work / "blobs" / "sha256" / child["digest"].split(":")[1]).exists()
    assert len(client.get_manifest("openshift-release-dev/ocp-v4.0-art-dev",
                                   up.manifest_list.split("@")[1]).doc["manifests"]) == 3


def test_import_pushes_every_digest_and_writes_outputs(exported: dict, upstream: tuple, target: RegistryServer,
                                                      tmp_path: Path) -> None:
    _, up, _ = upstream
    out = tmp_path / "out"
    code, output = _import(exported["bundle"], target, out)
    assert code == 0, output
    client = target.client()
    meta = json.loads((exported["work"] / "bundler.json").read_text())
    for img in meta["images"]:
        repo = "mirror/" + img["name"].split("/", 1)[1]
        assert client.head_manifest(repo, img["digest"]) == img["digest"], img["source"]
        if img["tag"]:
            assert client.head_manifest(repo, img["tag"]) == img["digest"]
    # children of lists were pushed too
    mlist = client.get_manifest("mirror/openshift-release-dev/ocp-v4.0-art-dev", up.manifest_list.split("@")[1])
    for child in mlist.doc["manifests"]:
        assert client.head_manifest("mirror/openshift-release-dev/ocp-v4.0-art-dev", child["digest"])
    for name in ("imageContentSources.yaml", "imageDigestSources.yaml", "imageContentSourcePolicy.yaml",
                 "imageDigestMirrorSet.yaml", "imageTagMirrorSet.yaml", "mapping.txt", "registries.conf", "report.json"):
        assert (out / name).is_file(), name
    ics = yaml.safe_load((out / "imageContentSources.yaml").read_text())["imageContentSources"]
    assert {"mirrors": [f"{target.host}/mirror/openshift-release-dev/ocp-v4.0-art-dev"],
            "source": f"{up.host}/openshift-release-dev/ocp-v4.0-art-dev"} in ics
    ids = yaml.safe_load((out / "imageDigestSources.yaml").read_text())["imageDigestSources"]
    assert ids == ics
    idms = yaml.safe_load((out / "imageDigestMirrorSet.yaml").read_text())
    assert idms["kind"] == "ImageDigestMirrorSet" and idms["spec"]["imageDigestMirrors"] == ics
    itms = yaml.safe_load((out / "imageTagMirrorSet.yaml").read_text())
    tag_sources = {r["source"] for r in itms["spec"]["imageTagMirrors"]}
    assert f"{up.host}/ubi8/ubi" in tag_sources
    assert f"{up.host}/openshift-release-dev/ocp-v4.0-art-dev" not in tag_sources
    mapping = (out / "mapping.txt").read_text().splitlines()
    assert f"{up.release}={target.host}/mirror/openshift-release-dev/ocp-release:{up.release.rsplit(':', 1)[1]}" in mapping
    assert len(mapping) == len(meta["images"])
    report = json.loads((out / "report.json").read_text())
    assert report["failed"] == [] and report["blobs"]["pushed"] > 0

    # the same bundle again: nothing is pushed
    code, output = _import(exported["bundle"], target, tmp_path / "out2")
    assert code == 0, output
    again = json.loads((tmp_path / "out2" / "report.json").read_text())
    assert again["blobs"]["pushed"] == 0 and again["manifests"]["pushed"] == 0
    assert again["blobs"]["skipped"] == report["blobs"]["pushed"] + report["blobs"]["mounted"]


def test_blobs_shared_across_repositories_are_mounted(exported: dict, target: RegistryServer, tmp_path: Path) -> None:
    code, output = _import(exported["bundle"], target, tmp_path / "out", prefix="m2")
    assert code == 0, output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    # the base layer is shared by the release, the components and ubi: uploaded once, mounted elsewhere
    assert report["blobs"]["mounted"] >= 1


def test_podman_pulls_source_by_digest_through_the_mirror_while_source_is_down(
        exported: dict, upstream: tuple, target: RegistryServer, tmp_path: Path) -> None:
    server, up, _ = upstream
    out = tmp_path / "out"
    code, output = _import(exported["bundle"], target, out)
    assert code == 0, output
    server.stop()
    try:
        source_ref = up.components["installer"]
        env = dict(os.environ, CONTAINERS_REGISTRIES_CONF=str(out / "registries.conf"),
                   CONTAINERS_CONF=str(Path(__file__).parent.parent / "compose" / "containers.conf"))
        runroot = Path(tempfile.mkdtemp(prefix="bp-", dir="/tmp"))  # podman wants a runroot under 50 chars
        storage = ["--root", str(tmp_path / "root"), "--runroot", str(runroot), "--storage-driver", "vfs"]
        pull = subprocess.run(["podman", *storage, "pull", "--cert-dir", str(target.cert_dir), "--authfile",
                               str(tmp_path / "target-auth.json"), source_ref],
                              env=env, capture_output=True, text=True, timeout=300)
        assert pull.returncode == 0, pull.stderr
        images = subprocess.run(["podman", *storage, "images", "--digests", "--format", "{{.Digest}}"],
                                env=env, capture_output=True, text=True, check=True).stdout
        assert source_ref.split("@")[1] in images
    finally:
        server.start()
        shutil.rmtree(runroot, ignore_errors=True)


class _Interrupt:
    """A progress bar that stops the export like Ctrl-C once ``after`` bytes were pulled."""

    def __init__(self, after: int) -> None:
        self.after, self.seen = after, 0

    def update(self, n: int) -> None:
        self.seen += n
        if self.seen > self.after:
            raise KeyboardInterrupt

    def close(self) -> None:
        return None


def test_resume_fetches_only_missing_blobs(upstream: tuple, tmp_path: Path) -> None:
    """An export interrupted half-way keeps its journal and the blobs written so far; the same command
    again fetches only the rest, and the bundle verifies. (kill -9 is in tests/test_media.py.)"""
    server, up, d = upstream
    from bundler.bundle.names import journal_path
    from bundler.export import ExportOptions, run_export

    opts = ExportOptions(config_path=up.write_config(tmp_path / "isc.yaml"), bundle=tmp_path / "b.tar.zst",
                         authfile=d / "auth.json", ca_file=server.ca_file, split_size=100 * 1024, workers=1)
    total = run_export(ExportOptions(**{**opts.__dict__, "dry_run": True})).bytes_total
    with pytest.raises(KeyboardInterrupt):
        run_export(opts, bars=lambda name, _: _Interrupt(total // 2) if name == "pull" else _Interrupt(1 << 62))
    assert journal_path(opts.bundle).exists() and not opts.bundle.exists()  # no front: not a finished bundle
    said: list[str] = []
    result = run_export(opts, say=said.append)
    assert result.copy is not None
    assert 0 < result.copy.bytes_copied < total
    assert any("already in the parts from an earlier run" in line for line in said), said
    assert not journal_path(opts.bundle).exists()
    code, out = cli("verify", opts.bundle)
    assert code == 0, out


def test_export_goes_on_past_a_failing_image_and_exits_non_zero(upstream: tuple, tmp_path: Path) -> None:
    server, up, d = upstream
    doc = up.config()
    doc["mirror"]["additionalImages"].append({"name": f"{up.host}/ubi8/ubi:no-such-tag"})
    doc["mirror"]["additionalImages"].append({"name": f"{up.host}/nowhere/image:1"})
    cfg = tmp_path / "isc.yaml"
    cfg.write_text(yaml.safe_dump(doc))
    bundle = tmp_path / "b.tar.zst"
    code, output = cli("export", "-c", cfg, "-o", bundle, "--authfile", d / "auth.json", "--ca-file", server.ca_file)
    assert code == 2, output
    assert f"{up.host}/ubi8/ubi:no-such-tag" in output and f"{up.host}/nowhere/image:1" in output
    assert "INCOMPLETE" in output
    code, listing = cli("inspect", bundle)
    assert code == 0 and up.release in listing and "MISSING" in listing


def test_dry_run_prints_plan_and_pulls_nothing(upstream: tuple, tmp_path: Path) -> None:
    server, up, d = upstream
    cfg = up.write_config(tmp_path / "isc.yaml")
    bundle = tmp_path / "b.tar.zst"
    code, output = cli("export", "-c", cfg, "-o", bundle, "--authfile", d / "auth.json", "--ca-file",
                       server.ca_file, "--dry-run")
    assert code == 0, output
    assert f"{len(up.components) + 1 + len(up.additional)} images" in output
    assert "unique blobs" in output
    assert not list(tmp_path.glob("b.tar.zst*"))


def _inside_a_blob(parts: list[Path], layout: Path) -> tuple[Path, int]:
    """A data part (the middle one if it can) and an offset in it that is a byte of a gzip layer, carried as
    is (a stored zstd frame). Blobs are written in the order their downloads finish, so a fixed offset may
    land on a tar header instead, and then no blob is hit."""
    layers = [b.read_bytes() for b in (layout / "blobs" / "sha256").iterdir() if b.read_bytes()[:2] == b"\x1f\x8b"]
    for part in sorted(parts, key=lambda p: abs(parts.index(p) - len(parts) // 2)):
        data = part.read_bytes()
        for blob in layers:
            at = data.find(blob[:256]) if len(blob) > 1024 else -1
            if at >= 0 and at + 512 < len(data):
                return part, at + 300
    raise AssertionError("no gzip layer found whole enough in any data part")


def test_corrupt_part_is_refused_and_leaves_no_image(exported: dict, target: RegistryServer, tmp_path: Path) -> None:
    src = exported["bundle"]
    copy_dir = tmp_path / "media"
    copy_dir.mkdir()
    for p in src.parent.glob(src.name + "*"):
        if p.is_file():
            shutil.copy(p, copy_dir / p.name)
    bundle = copy_dir / src.name
    victim, at = _inside_a_blob(sorted(copy_dir.glob(src.name + ".[0-9][0-9][0-9]")), exported["work"])
    data = bytearray(victim.read_bytes())
    data[at] ^= 0x55
    victim.write_bytes(bytes(data))
    code, output = _import(bundle, target, tmp_path / "out", prefix="corrupt")
    assert code != 0
    assert victim.name in output
    client = target.client()
    assert client.list_tags("corrupt/openshift-release-dev/ocp-release") == []
    code, output = cli("verify", bundle)
    assert code != 0 and victim.name in output
    # without the checksum file the damage is found by the blob it hits, and both are named
    Path(f"{bundle}.sha256").unlink()
    code, output = _import(bundle, target, tmp_path / "out2", prefix="corrupt")
    assert code != 0 and "blob sha256:" in output
    named = re.search(r"bundle part (\S+)(?: \.\. (\S+))? is corrupt", output)
    assert named, output
    numbers = [int(n.rsplit(".", 1)[1]) for n in named.groups() if n]
    assert numbers[0] <= int(victim.name.rsplit(".", 1)[1]) <= numbers[-1], output
    assert client.list_tags("corrupt/openshift-release-dev/ocp-release") == []


def test_missing_part_is_named(exported: dict, target: RegistryServer, tmp_path: Path) -> None:
    src = exported["bundle"]
    for p in src.parent.glob(src.name + "*"):
        if p.is_file():
            shutil.copy(p, tmp_path / p.name)
    gone = tmp_path / f"{src.name}.001"
    gone.unlink()
    code, output = _import(tmp_path / src.name, target, tmp_path / "out")
    assert code == 1 and gone.name in output and "missing" in output


def test_a_blob_that_fails_mid_pull_still_gives_a_consistent_bundle(tmp_path: Path) -> None:
    """The front of the archive is written before the pull ends; when a blob then fails the bundle is
    packed again without the image that needs it, and says so."""
    with RegistryServer(auth=None) as server:
        up = build_upstream(server.client(), version="4.4.7", components=3, layer_size=24 * 1024)
        victim = up.components["installer"]
        repo, digest = victim.split("/", 1)[1].split("@")
        manifest = server.client().get_manifest(repo, digest)
        layer = manifest.doc["layers"][-1]["digest"].split(":")[1]
        data = server.storage / "docker" / "registry" / "v2" / "blobs" / "sha256" / layer[:2] / layer / "data"
        data.unlink()
        cfg = up.write_config(tmp_path / "isc.yaml")
        bundle = tmp_path / "b.tar.zst"
        code, output = cli("export", "-c", cfg, "-o", bundle, "--ca-file", server.ca_file)
    assert code == 2, output
    assert victim in output and "INCOMPLETE" in output
    code, listing = cli("inspect", bundle, "--json")
    meta = json.loads(listing)
    assert victim not in {i["source"] for i in meta["images"]}
    assert victim in {f["reference"] for f in meta["failed"]}
    assert up.release in {i["source"] for i in meta["images"]}
    code, output = cli("verify", bundle)
    assert code == 0, output


def test_import_copies_within_the_registry_when_it_refuses_mounts(exported: dict, target: RegistryServer) -> None:
    """Some registries refuse cross-repository mounts (Quay across organizations a robot cannot read).
    Distribution always mounts, so this destination answers "no" to mounts and nothing else; the
    engine must then copy the blob from the repository it already landed in, not re-read the stream."""
    from bundler.bundle import BundleSource
    from bundler.engine import CopyEngine
    from bundler.importer import plan_jobs
    from bundler.oci import Descriptor
    from bundler.transport.registry import RegistryDestination

    class NoMounts(RegistryDestination):
        def mount_blob(self, target: str, desc: Descriptor, from_target: str) -> bool:
            return False

    source = BundleSource.open(exported["bundle"])
    jobs, _ = plan_jobs(source.metadata.images, f"{target.host}/nomount")
    result = CopyEngine(source, NoMounts(target.client()), workers=1).run(jobs)
    assert result.failed == {}
    assert result.blobs_mounted == 0 and result.blobs_copied > result.blobs_total
    client = target.client()
    for job in jobs:
        assert client.head_manifest(job.target, job.source.digest) == job.source.digest


def test_multi_arch_release_keeps_every_platform(upstream: tuple, tmp_path: Path) -> None:
    """A multi-arch release (a manifest list of per-arch release images) and its components (manifest
    lists too) are carried with every platform, byte for byte."""
    server, up, d = upstream
    up_multi = build_upstream(server.client(), version="4.4.5", components=12, layer_size=48 * 1024,
                              multi_release=True)
    assert up_multi.multi_release and up_multi.multi_components
    cfg = up_multi.write_config(tmp_path / "isc.yaml", include_multi=True)
    bundle = tmp_path / "b.tar.zst"
    code, output = cli("export", "-c", cfg, "-o", bundle, "--authfile", d / "auth.json", "--ca-file",
                       server.ca_file)
    assert code == 0, output
    work = unpack(bundle, tmp_path / "layout")
    client = server.client()

    def carried(repo: str, digest: str) -> int:
        m = client.get_manifest(repo, digest)
        assert (work / "blobs" / "sha256" / digest.split(":")[1]).read_bytes() == m.data
        kids = m.doc["manifests"]
        for kid in kids:
            assert (work / "blobs" / "sha256" / kid["digest"].split(":")[1]).exists()
        return len(kids)

    assert carried("openshift-release-dev/ocp-release", up_multi.multi_release_digest or "") >= 2
    for ref in up_multi.multi_components.values():
        repo, digest = ref.split("/", 1)[1].split("@")
        assert carried(repo, digest) >= 2
