"""The bundle on removable media, against real registries (Docker Distribution over TLS, token auth
upstream, Basic auth mirror): signed, differential, repaired from parity, on media presets, one copy on
disk, resumed after kill -9 of export and of import, a disk that fills up mid-export, and a receipt.

A throttling TCP relay (:mod:`testkit.throttle`) slows the registries down so a test can kill a process
or fill its disk at a moment it chooses; the bytes are the registries' own.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard

from bundler.bundle.inventory import Inventory
from testkit.bundle_v1 import write_schema1
from testkit.cli import invoke as cli
from testkit.registry import RegistryServer, write_authfile
from testkit.synthetic import Upstream, build_upstream
from testkit.throttle import Throttle
from testkit.zstream import next_zstream

LAYER = 48 * 1024
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """An upstream with release 4.4.5 and its next z-stream 4.4.6 (a fifth of the components rebuilt);
    exported: A (4.4.5, signed, 30% parity, 200K parts), B (4.4.6, full) and D (4.4.6 since A)."""
    d = tmp_path_factory.mktemp("media")
    server = RegistryServer(auth="token").start()
    try:
        a_up = build_upstream(server.client(), version="4.4.5", components=8, layer_size=LAYER)
        b_up, changed = next_zstream(server.client(), "4.4.5", "4.4.6", components=8, layer_size=LAYER)
        auth = server.authfile(d / "auth.json")
        pull = ("--authfile", auth, "--ca-file", server.ca_file)
        assert cli("keygen", "-o", d / "keys" / "signer")[0] == 0
        assert cli("keygen", "-o", d / "keys" / "other")[0] == 0
        a, b, diff = d / "a" / "a.tar.zst", d / "b" / "b.tar.zst", d / "d" / "d.tar.zst"
        code, out = cli("export", "-c", a_up.write_config(d / "a.yaml"), "-o", a, *pull, "--split-size", "200K",
                        "--parity", "30%", "--sign-key", d / "keys" / "signer")
        assert code == 0, out
        code, out = cli("export", "-c", b_up.write_config(d / "b.yaml"), "-o", b, *pull)
        assert code == 0, out
        front_only = d / "archive" / a.name  # only the base's front: its parts went across the gap
        front_only.parent.mkdir()
        shutil.copy(a, front_only)
        code, diff_out = cli("export", "-c", d / "b.yaml", "-o", diff, *pull, "--since", front_only)
        assert code == 0, diff_out
        yield {"dir": d, "server": server, "a": a, "b": b, "d": diff, "a_up": a_up, "b_up": b_up, "changed": changed,
               "pull": pull, "key": d / "keys" / "signer", "other": d / "keys" / "other", "diff_out": diff_out}
    finally:
        server.close()


@pytest.fixture
def mirror(basic_registry: tuple[RegistryServer, str], tmp_path: Path) -> dict:
    server, prefix = basic_registry
    auth = write_authfile(tmp_path / "mirror-auth.json", {server.host: (server.username, server.password)})
    return {"server": server, "prefix": prefix, "args": ("--authfile", auth, "--ca-file", server.ca_file),
            "auth": auth}


def _import(bundle: Path, mirror: dict, out: Path, prefix: str | None = None, *extra: object) -> tuple[int, str]:
    return cli("import", bundle, "--registry", f"{mirror['server'].host}/{prefix or mirror['prefix']}",
               *mirror["args"], "-o", out, *extra)


def _copy(bundle: Path, into: Path) -> Path:
    into.mkdir(parents=True)
    for p in bundle.parent.glob(bundle.name + "*"):
        shutil.copy(p, into / p.name)
    return into / bundle.name


def _pushed_nothing(mirror: dict, prefix: str | None = None) -> bool:
    repos = mirror["server"].storage / "docker" / "registry" / "v2" / "repositories" / (prefix or mirror["prefix"])
    return not repos.exists()


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def _inventory(mirror: dict, prefix: str, out: Path) -> dict:
    code, text = cli("inventory", "--registry", f"{mirror['server'].host}/{prefix}", *mirror["args"], "-o", out)
    assert code == 0, text
    inv = Inventory.from_json(json.loads(out.read_text()), str(out))
    return {"tags": {r.split("/", 1)[1]: c.tags for r, c in inv.repositories.items()},
            "manifests": {r.split("/", 1)[1]: sorted(c.manifests) for r, c in inv.repositories.items()},
            "blobs": sorted(inv.blobs)}


# -- signing ----------------------------------------------------------------------------------------

def test_keygen_writes_a_private_key_only_its_owner_reads(world: dict) -> None:
    assert world["key"].stat().st_mode & 0o777 == 0o600
    assert world["key"].with_name("signer.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    code, out = cli("keygen", "-o", world["key"])
    assert code == 1 and "exists" in out


def test_a_signed_bundle_verifies_with_its_key_and_names_its_signer_without(world: dict) -> None:
    pub, other = world["key"].with_name("signer.pub"), world["other"].with_name("other.pub")
    code, out = cli("verify", world["a"], "--verify-key", other, "--verify-key", pub)
    assert code == 0 and "(one of the keys given)" in out, out
    code, out = cli("verify", world["a"])
    fingerprint = out.split("Signed by key ")[1].split()[0]
    assert code == 0 and fingerprint.startswith("SHA256:") and "pass --verify-key" in out
    code, out = cli("verify", world["a"], "--verify-key", other)
    assert code == 1 and f"signed by key {fingerprint}, not by the key(s) given" in out
    code, out = cli("verify", world["b"], "--verify-key", pub)
    assert code == 1 and "is not signed" in out


def test_import_refuses_wrong_key_and_unsigned_before_pushing(world: dict, mirror: dict, tmp_path: Path) -> None:
    code, out = _import(world["a"], mirror, tmp_path / "o1", None, "--verify-key", world["other"].with_name("other.pub"))
    assert code == 1 and "not by the key(s) given" in out
    code, out = _import(world["b"], mirror, tmp_path / "o2", None, "--verify-key", world["key"].with_name("signer.pub"))
    assert code == 1 and "is not signed" in out
    assert _pushed_nothing(mirror)


def test_tampering_is_refused_even_with_the_checksum_file_rewritten(world: dict, mirror: dict, tmp_path: Path) -> None:
    pub = world["key"].with_name("signer.pub")
    # a flipped byte in the signature
    sig_copy = _copy(world["a"], tmp_path / "sig")
    sig = Path(f"{sig_copy}.sig")
    doc = json.loads(sig.read_text())
    raw = bytearray(__import__("base64").b64decode(doc["signature"]))
    raw[5] ^= 0x01
    doc["signature"] = __import__("base64").b64encode(bytes(raw)).decode()
    sig.write_text(json.dumps(doc))
    code, out = cli("verify", sig_copy, "--verify-key", pub)
    assert code == 1 and "does not verify" in out
    # the metadata in the front changed, and BUNDLE.sha256 rewritten to match
    meta_copy = _copy(world["a"], tmp_path / "meta")
    front = zstandard.ZstdDecompressor().decompressobj().decompress(meta_copy.read_bytes())
    assert b'"kind": "additional"' in front
    meta_copy.write_bytes(zstandard.ZstdCompressor().compress(front.replace(b'"kind": "additional"',
                                                                           b'"kind": "additionaX"', 1)))
    sums = Path(f"{meta_copy}.sha256")
    new = __import__("hashlib").sha256(meta_copy.read_bytes()).hexdigest()
    sums.write_text("".join(f"{new}  {meta_copy.name}\n" if line.endswith(f"  {meta_copy.name}") else line + "\n"
                            for line in sums.read_text().splitlines()))
    for args in ((), ("--verify-key", pub)):
        code, out = cli("verify", meta_copy, *args)
        assert code == 1 and "was altered" in out, out
    code, out = _import(meta_copy, mirror, tmp_path / "o", None, "--verify-key", pub)
    assert code == 1 and "was altered" in out
    # a data part changed, its line in BUNDLE.sha256 rewritten: the front (signed) names the real sha256
    part_copy = _copy(world["a"], tmp_path / "part")
    victim = part_copy.with_name(f"{part_copy.name}.001")
    _flip(victim, 5000)
    new = __import__("hashlib").sha256(victim.read_bytes()).hexdigest()
    sums = Path(f"{part_copy}.sha256")
    sums.write_text("".join(f"{new}  {victim.name}\n" if line.endswith(f"  {victim.name}") else line + "\n"
                            for line in sums.read_text().splitlines()))
    code, out = _import(part_copy, mirror, tmp_path / "o3", None, "--verify-key", pub)
    assert code == 1 and "altered" in out and victim.name in out and "sha256" in out
    assert _pushed_nothing(mirror)


# -- parity -----------------------------------------------------------------------------------------

def test_a_deleted_part_is_rebuilt_by_import_and_by_verify_repair(world: dict, mirror: dict, tmp_path: Path) -> None:
    bundle = _copy(world["a"], tmp_path / "media")
    gone = bundle.with_name(f"{bundle.name}.002")
    original = gone.read_bytes()
    gone.unlink()
    out_dir = tmp_path / "out"
    code, out = _import(bundle, mirror, out_dir, None, "--verify-key", world["key"].with_name("signer.pub"))
    assert code == 0, out
    assert f"Rebuilt from parity while reading (not written): {gone.name}" in out
    assert not gone.exists()
    receipt = json.loads((out_dir / "receipt.json").read_text())
    assert receipt["rebuiltFromParity"] == [gone.name] and receipt["signature"]["trustedKey"] is True
    assert receipt["blobs"] > 0 and receipt["manifests"] > 0 and len(receipt["parityParts"]) >= 2
    code, out = cli("verify", bundle, "--repair")
    assert code == 0 and f"repaired {gone.name} from parity" in out, out
    assert gone.read_bytes() == original


def test_more_parts_lost_than_parity_covers_names_them(world: dict, mirror: dict, tmp_path: Path) -> None:
    bundle = _copy(world["a"], tmp_path / "media")
    lost = [bundle.with_name(f"{bundle.name}.{i:03d}") for i in (0, 1, 3)]
    for p in lost:
        p.unlink()
    code, out = _import(bundle, mirror, tmp_path / "out")
    assert code == 1 and all(p.name in out for p in lost) and "parity part(s) are there" in out, out
    code, out = cli("verify", bundle, "--repair")
    assert code == 1 and all(p.name in out for p in lost)
    assert _pushed_nothing(mirror)


# -- differential -----------------------------------------------------------------------------------

def _size(bundle: Path) -> int:
    return sum(p.stat().st_size for p in bundle.parent.glob(bundle.name + "*"))


def test_a_z_stream_differential_is_small_and_says_its_base(world: dict) -> None:
    ratio = _size(world["d"]) / _size(world["b"])
    print(f"differential {_size(world['d'])} bytes / full {_size(world['b'])} bytes = {ratio:.2f} "
          f"({len(world['changed'])} of 10 components changed)")
    assert ratio <= 0.30
    code, out = cli("inspect", world["d"])
    assert code == 0 and "DIFFERENTIAL: needs the bundle a.tar.zst" in out
    assert "images" in out and world["b_up"].release in out  # the front still describes everything


def test_differential_without_its_base_is_refused_before_pushing(world: dict, mirror: dict, tmp_path: Path) -> None:
    code, out = _import(world["d"], mirror, tmp_path / "out")
    assert code == 1 and "lacks" in out and "import the base bundle" in out and "sha256:" in out, out
    assert _pushed_nothing(mirror)


def test_differential_on_its_base_leaves_the_mirror_as_the_full_bundle_would(world: dict, mirror: dict,
                                                                           tmp_path: Path) -> None:
    p1, p2 = f"{mirror['prefix']}a", f"{mirror['prefix']}b"
    for prefix, second in ((p1, world["d"]), (p2, world["b"])):
        assert _import(world["a"], mirror, tmp_path / f"{prefix}-a", prefix)[0] == 0
        code, out = _import(second, mirror, tmp_path / f"{prefix}-b", prefix)
        assert code == 0, out
    assert _inventory(mirror, p1, tmp_path / "i1.json") == _inventory(mirror, p2, tmp_path / "i2.json")
    for name in ("mapping.txt", "imageDigestMirrorSet.yaml", "imageTagMirrorSet.yaml"):
        diff_out = (tmp_path / f"{p1}-b" / name).read_text().replace(f"/{p1}/", "/P/")
        full_out = (tmp_path / f"{p2}-b" / name).read_text().replace(f"/{p2}/", "/P/")
        assert diff_out == full_out, name
    receipt = json.loads((tmp_path / f"{p1}-b" / "receipt.json").read_text())
    assert receipt["base"]["name"] == "a.tar.zst" and receipt["baseContentChecked"] > 0


def test_differential_since_an_inventory(world: dict, mirror: dict, registry_factory: object,
                                         tmp_path: Path) -> None:
    prefix = mirror["prefix"]
    assert _import(world["a"], mirror, tmp_path / "o1")[0] == 0
    inv = tmp_path / "inv.json"
    _inventory(mirror, prefix, inv)
    diff = tmp_path / "d" / "d.tar.zst"
    code, out = cli("export", "-c", world["dir"] / "b.yaml", "-o", diff, *world["pull"], "--since", inv)
    assert code == 0 and "since the inventory of" in out, out
    assert _size(diff) <= 0.30 * _size(world["b"])
    code, out = _import(diff, mirror, tmp_path / "o2")
    assert code == 0, out
    other = registry_factory(auth=None)  # type: ignore[operator]
    code, out = cli("import", diff, "--registry", other.host, "--ca-file", other.ca_file, "-o", tmp_path / "o3")
    assert code == 1 and "inventory of" in out and mirror["server"].host in out and other.host in out


# -- media, one copy on disk, resume ----------------------------------------------------------------

def test_unknown_preset_lists_the_presets(world: dict, tmp_path: Path) -> None:
    code, out = cli("export", "-c", world["dir"] / "a.yaml", "-o", tmp_path / "x.tar.zst", "--split-size", "cdrom")
    assert code == 1 and "cdrom" in out and all(p in out for p in ("fat32", "dvd", "dvd-dl", "bd25", "bd50"))
    assert not list(tmp_path.iterdir())


def test_a_schema1_bundle_still_imports(world: dict, mirror: dict, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    layout.mkdir()
    parts = sorted(world["b"].parent.glob("b.tar.zst.[0-9]*"))
    subprocess.run(f"cat {world['b']} {' '.join(map(str, parts))} | zstd -q -d | tar -C {layout} -xf -", shell=True,
                   check=True)
    old = tmp_path / "v1" / "old.tar.zst"
    old.parent.mkdir()
    write_schema1(layout, old, split=150_000)
    code, out = _import(old, mirror, tmp_path / "out")
    assert code == 0 and "schema 1" in out, out


def _bundler(*args: object, **kw: object) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "bundler.cli", *map(str, args)], env=env,  # type: ignore[call-overload]
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


def _wait_for(check: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A release behind a throttling relay (the references name the relay): exports take seconds."""
    d = tmp_path_factory.mktemp("slow")
    server = RegistryServer(auth="token").start()
    relay = Throttle(server.host, rate=None).start()
    try:
        up: Upstream = build_upstream(server.client(), version="4.5.1", components=12, layer_size=320 * 1024,
                                      host_in_refs=relay.host, seed=11)
        auth = write_authfile(d / "auth.json", {relay.host: (server.username, server.password)})
        yield {"dir": d, "relay": relay, "config": up.write_config(d / "isc.yaml"), "up": up,
               "pull": ("--authfile", auth, "--ca-file", server.ca_file)}
    finally:
        relay.close()
        server.close()


def _journal_entries(bundle: Path) -> int:
    journal = Path(f"{bundle}.journal")
    return max(0, len(journal.read_text().splitlines()) - 1) if journal.exists() else 0


def test_kill_9_of_export_then_the_same_command_fetches_only_the_rest(slow: dict, tmp_path: Path) -> None:
    bundle = tmp_path / "usb" / "b.tar.zst"
    args = ("export", "-c", slow["config"], "-o", bundle, *slow["pull"], "--split-size", "300K", "--workers", "2")
    slow["relay"].rate = 400 << 10
    proc = _bundler(*args)
    try:
        _wait_for(lambda: _journal_entries(bundle) >= 4)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        slow["relay"].rate = None
    assert not bundle.exists()  # no front: nothing claims to be a finished bundle
    kept = _journal_entries(bundle)
    code, out = cli(*args)
    assert code == 0 and "already in the parts from an earlier run" in out, out
    pulled = int(out.split("Pulled ")[1].split()[0])
    assert pulled <= slow["up"].unique_blobs - kept
    assert cli("verify", bundle)[0] == 0
    assert not Path(f"{bundle}.journal").exists() and not Path(f"{bundle}.cache").exists()


def test_a_disk_that_fills_during_export_stops_it_cleanly_and_a_rerun_completes(slow: dict, tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=80m", "tmpfs", str(usb)], check=True)
    try:
        bundle = usb / "b.tar.zst"
        args = ("export", "-c", slow["config"], "-o", bundle, *slow["pull"], "--split-size", "1M")
        slow["relay"].rate = 150 << 10
        proc = _bundler(*args)
        try:
            _wait_for(lambda: Path(f"{bundle}.001").exists())  # a megabyte written, four to go
            filler = usb / "filler"
            with open(filler, "wb") as fh:  # another program takes the rest of the disk
                try:
                    while True:
                        fh.write(b"\0" * (1 << 20))
                        fh.flush()
                except OSError:
                    pass
            out = proc.communicate(timeout=120)[0].decode()
        finally:
            slow["relay"].rate = None
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 1 and "disk full" in out and str(usb) in out, out
        assert not bundle.exists() and not list(usb.glob("*.spool"))
        filler.unlink()
        code, out = cli(*args)
        assert code == 0 and "already in the parts from an earlier run" in out, out
        assert cli("verify", bundle)[0] == 0
    finally:
        subprocess.run(["umount", str(usb)], check=True)


def test_kill_9_of_import_then_a_rerun_completes(slow: dict, world: dict, tmp_path: Path) -> None:
    bundle = tmp_path / "b.tar.zst"
    code, out = cli("export", "-c", slow["config"], "-o", bundle, *slow["pull"])
    assert code == 0, out
    target = RegistryServer(auth="basic", workdir=tmp_path / "target").start()
    relay = Throttle(target.host, rate=300 << 10).start()
    try:
        auth = write_authfile(tmp_path / "t.json", {relay.host: (target.username, target.password)})
        args = ("import", bundle, "--registry", f"{relay.host}/m", "--authfile", auth, "--ca-file", target.ca_file,
                "-o", tmp_path / "out", "--workers", "2")
        blobs = target.storage / "docker" / "registry" / "v2" / "blobs"
        proc = _bundler(*args)
        _wait_for(lambda: blobs.exists() and sum(1 for _ in blobs.rglob("data")) >= 5)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        client = target.client()
        assert client.list_tags("m/openshift-release-dev/ocp-release") == []  # manifests go last: none yet
        relay.rate = None
        code, out = cli(*args)
        assert code == 0, out
        report = json.loads((tmp_path / "out" / "report.json").read_text())
        assert report["blobs"]["skipped"] >= 4
        for img in json.loads(cli("inspect", bundle, "--json")[1])["images"]:
            repo = "m/" + img["name"].split("/", 1)[1]
            assert client.head_manifest(repo, img["digest"]) == img["digest"]
    finally:
        relay.close()
        target.close()
