"""The copy engine over memory transports, in milliseconds: dedup, mounts, the sequential-source path,
children before lists, a fatal error stopping everything, failures reported per image.

The memory source and destination are bundler's own (``bundler.transport.memory``); the few misbehaving
transports below are test doubles, because no real registry can be made to fail on cue per blob.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator

import pytest

from bundler.engine import CopyEngine, ImageJob, resolve
from bundler.engine.buffers import BufferPool
from bundler.errors import DiskError, NotFoundError
from bundler.oci import Descriptor, Manifest, Pinned, Repository
from bundler.oci.image import build_image, build_index, image_config, platform_of
from bundler.oci.layer import build_layer
from bundler.transport import BlobStream, SourceCaps
from bundler.transport.memory import MemoryDestination, MemoryStore

REPO = Repository("upstream.example", "team/app")


def _image(store: MemoryStore, *layer_files: dict[str, bytes], arch: str = "amd64") -> Manifest:
    layers = [build_layer(files) for files in layer_files]
    return store.add_image(build_image(layers, image_config(layers, arch=arch)))


@pytest.fixture
def world() -> tuple[MemoryStore, dict[str, Manifest]]:
    store = MemoryStore()
    base = {"etc/os-release": b"base\n"}
    images = {
        "a": _image(store, base, {"a": b"a" * 1000}),
        "b": _image(store, base, {"b": b"b" * 2000}),
    }
    amd = _image(store, base, {"bin/tool": b"amd"}, arch="amd64")
    arm = _image(store, base, {"bin/tool": b"arm"}, arch="arm64")
    images["list"] = store.add_manifest(build_index([(amd, platform_of("amd64")), (arm, platform_of("arm64"))]))
    return store, images


def _job(m: Manifest, target: str, *tags: str) -> ImageJob:
    return ImageJob(REPO.pinned(m.digest), target, tuple(tags))


def test_each_blob_moves_once_and_other_targets_mount_it(world: tuple[MemoryStore, dict[str, Manifest]]) -> None:
    store, img = world
    dest = MemoryDestination()
    jobs = [_job(img["a"], "one/a", "v1"), _job(img["b"], "two/b", "v1"), _job(img["list"], "one/list", "v1")]
    result = CopyEngine(store, dest, workers=4).run(jobs)
    assert result.failed == {}
    res = resolve(store, jobs)
    # the base layer is needed by every image but uploaded once; other repositories mount it
    assert result.blobs_total == res.blobs_total == len(res.needs)
    assert result.blobs_copied + result.blobs_mounted == sum(len(n.targets) for n in res.needs.values())
    base_need = max(res.needs.values(), key=lambda n: len(n.targets))
    assert sorted(base_need.targets) == ["one/a", "one/list", "two/b"]
    assert result.blobs_copied == len(res.needs)
    assert result.blobs_mounted == 2
    for job in jobs:
        assert dest.store.tags[(job.target, "v1")] == job.source.digest


def test_a_second_run_moves_nothing(world: tuple[MemoryStore, dict[str, Manifest]]) -> None:
    store, img = world
    dest = MemoryDestination()
    jobs = [_job(img["a"], "x"), _job(img["list"], "y", "latest")]
    CopyEngine(store, dest).run(jobs)
    again = CopyEngine(store, dest).run(jobs)
    assert again.blobs_copied == again.blobs_mounted == again.manifests_pushed == 0
    assert again.blobs_skipped == again.blobs_total + 1  # the base layer is skipped in both targets
    assert again.manifests_skipped == 1 + 3


class OrderedDestination(MemoryDestination):
    def __init__(self) -> None:
        super().__init__()
        self.order: list[str] = []
        self.lock = threading.Lock()

    def put_manifest(self, target: str, manifest: Manifest, tag: str | None) -> None:
        with self.lock:
            self.order.append(manifest.digest)
        super().put_manifest(target, manifest, tag)


def test_children_are_pushed_before_their_list(world: tuple[MemoryStore, dict[str, Manifest]]) -> None:
    store, img = world
    dest = OrderedDestination()
    CopyEngine(store, dest, workers=8).run([_job(img["list"], "l", "v1", "v2")])
    kids = [c.digest for c in img["list"].children]
    assert sorted(dest.order[:2]) == sorted(kids)
    assert dest.order[2:] == [img["list"].digest] * 2  # the list last, once per tag


class RemoteLookups(MemoryDestination):
    """A destination whose manifest lookups are remote (as a registry's): records each one asked."""

    caps = dataclasses.replace(MemoryDestination.caps, remote_lookups=True)

    def __init__(self) -> None:
        super().__init__()
        self.lookups: list[str] = []

    def has_manifest(self, target: str, manifest: Manifest, tag: str | None) -> bool:
        self.lookups.append(f"{target}:{tag}")
        return super().has_manifest(target, manifest, tag)


def test_a_manifest_is_looked_up_only_where_its_blobs_were_there(world: tuple[MemoryStore, dict[str, Manifest]]) -> None:
    """Into a registry, "is it there already?" costs a request: a first copy put the images' blobs, so their
    manifests cannot be there and nothing is asked; a second run asks once per name and writes nothing; an
    image whose blob went missing at the destination is written again without asking."""
    store, img = world
    dest = RemoteLookups()
    jobs = [_job(img["a"], "x", "v1"), _job(img["b"], "y"), _job(img["list"], "z", "v1", "v2")]
    first = CopyEngine(store, dest, workers=2).run(jobs)
    assert dest.lookups == [] and first.failed == {}
    assert first.manifests_pushed == 1 + 1 + 2 + 2  # a list: its 2 children, 2 tags
    again = CopyEngine(store, dest, workers=2).run(jobs)
    assert sorted(dest.lookups) == ["x:v1", "y:None", "z:v1", "z:v2"]
    assert again.manifests_pushed == 0 and again.manifests_skipped == first.manifests_pushed
    dest.lookups.clear()
    dest.placed["x"].discard(img["a"].blobs[0].digest)
    third = CopyEngine(store, dest, workers=2).run(jobs)
    assert "x:v1" not in dest.lookups and third.manifests_pushed == 1  # its one manifest, again


class StreamSource:
    """A sequential source over a memory store: blobs only in its order, once."""

    caps = SourceCaps(sequential=True)

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.opened: list[str] = []

    def get_manifest(self, ref: Pinned) -> Manifest:  # type: ignore[override]
        return self.store.get_manifest(ref)

    def open_blob(self, repo: Repository, desc: Descriptor) -> Iterator[bytes]:
        raise AssertionError("a sequential source is never asked for a blob by digest")

    def stream_blobs(self, verify: bool = True) -> Iterator[BlobStream]:
        for digest, data in self.store.blobs.items():
            self.opened.append(digest)
            yield BlobStream(digest, len(data), iter((data,)))


class NoMounts(MemoryDestination):
    def __init__(self) -> None:
        super().__init__()
        self.read_back: list[str] = []

    def mount_blob(self, target: str, desc: Descriptor, from_target: str) -> bool:
        return False

    def read_blob(self, target: str, desc: Descriptor) -> Iterator[bytes]:
        self.read_back.append(desc.digest)
        return super().read_blob(target, desc)


def test_a_stream_that_went_by_is_read_back_from_the_destination(world: tuple[MemoryStore, dict[str, Manifest]]) -> None:
    """A destination refusing mounts, fed from a sequential source: later targets copy from the first."""
    store, img = world
    source = StreamSource(store)
    dest = NoMounts()
    jobs = [_job(img["a"], "one"), _job(img["b"], "two")]
    result = CopyEngine(source, dest, workers=1).run(jobs)
    assert result.failed == {}
    assert result.blobs_mounted == 0
    shared = [n.digest for n in resolve(store, jobs).needs.values() if len(n.targets) == 2]
    assert dest.read_back == shared
    assert len(source.opened) == len(store.blobs)  # the stream was read once, to its end


class FailingSource(MemoryStore):
    """Raises ``error`` for one blob; counts the blobs it was asked for."""

    def __init__(self, store: MemoryStore, bad: str, error: Exception) -> None:
        super().__init__()
        self.blobs, self.manifests = store.blobs, store.manifests
        self.bad, self.error = bad, error
        self.asked: list[str] = []

    def open_blob(self, repo: Repository, desc: Descriptor) -> Iterator[bytes]:
        self.asked.append(desc.digest)
        if desc.digest == self.bad:
            raise self.error
        return super().open_blob(repo, desc)


def test_a_failing_blob_fails_its_images_only(world: tuple[MemoryStore, dict[str, Manifest]]) -> None:
    store, img = world
    own_layer = img["b"].layers[-1].digest
    source = FailingSource(store, own_layer, NotFoundError(f"blob {own_layer} not found"))
    dest = MemoryDestination()
    jobs = [_job(img["a"], "a", "v1"), _job(img["b"], "b", "v1")]
    result = CopyEngine(source, dest, workers=2).run(jobs)
    assert result.failed == {str(jobs[1].source): f"blob {own_layer} not found"}
    assert ("a", "v1") in dest.store.tags and ("b", "v1") not in dest.store.tags


def test_a_fatal_error_stops_the_run(world: tuple[MemoryStore, dict[str, Manifest]]) -> None:
    store, img = world
    jobs = [_job(img["a"], "a"), _job(img["b"], "b"), _job(img["list"], "l")]
    biggest = max(resolve(store, jobs).needs.values(), key=lambda n: n.size).digest  # pulled first
    source = FailingSource(store, biggest, DiskError("disk full while writing the bundle"))
    dest = MemoryDestination()
    with pytest.raises(DiskError, match="disk full"):
        CopyEngine(source, dest, workers=1).run(jobs)
    assert source.asked == [biggest]  # nothing else was started once the first blob failed fatally
    assert dest.store.manifests == {}


def test_resolve_alone_is_the_dry_run(world: tuple[MemoryStore, dict[str, Manifest]]) -> None:
    store, img = world
    missing = REPO.pinned("sha256:" + "0" * 64)
    res = resolve(store, [_job(img["list"], "l"), ImageJob(missing, "m")])
    assert res.failed == {str(missing): f"image {missing} not found"}
    assert len(res.trees[_job(img["list"], "l").key]) == 3
    assert res.bytes_total == sum(n.size for n in res.needs.values()) > 0


def test_buffers_are_reused_within_their_budget() -> None:
    """Blobs buffered while a bundle streams on reuse each other's memory and never hold more than the
    budget; one blob larger than the budget waits for every other buffer, then goes alone."""
    pool = BufferPool(3 << 20)
    a = pool.take(1000)
    pool.give(a)
    b = pool.take(2000)
    assert b.obj is a.obj and len(b) == 2000
    c = pool.take(2 << 20)
    waiting: list[memoryview] = []
    t = threading.Thread(target=lambda: waiting.append(pool.take(1 << 20)))
    t.start()
    t.join(0.2)
    assert t.is_alive() and pool.held == 3 << 20  # 1 + 2 MiB in use: a third waits
    pool.give(b)
    t.join(5)
    assert waiting and waiting[0].obj is b.obj
    pool.give(c)
    pool.give(waiting[0])
    big = pool.take(5 << 20)
    assert len(big) == 5 << 20 and pool.held == 5 << 20  # the smaller free buffers were let go


class HeldUploads(MemoryDestination):
    """Holds every upload until ``go`` is set: a registry slower than the stream (a test double: a real
    registry cannot be paused on cue)."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()

    def put_blob(self, target: str, desc: Descriptor, chunks: Iterator[bytes]) -> None:
        assert self.go.wait(10)
        super().put_blob(target, desc, chunks)


def test_a_stream_reads_at_most_a_couple_of_blobs_ahead_of_the_workers(
        world: tuple[MemoryStore, dict[str, Manifest]]) -> None:
    """Blobs buffered for workers: one per worker and two waiting; the stream reads no further while the
    registry is slow (memory held, no speed gained), then everything goes through."""
    store, img = world
    source = StreamSource(store)
    dest = HeldUploads()
    jobs = [_job(m, name) for name, m in img.items()]
    results: list[object] = []
    run = threading.Thread(target=lambda: results.append(CopyEngine(source, dest, workers=2).run(jobs)))
    run.start()
    deadline = time.monotonic() + 10
    while len(source.opened) < 2 + 2 + 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    run.join(0.3)  # time enough to read further, if it would
    assert run.is_alive() and len(source.opened) == 2 + 2 + 1  # the fifth waits for a place
    dest.go.set()
    run.join(10)
    assert results and results[0].failed == {}  # type: ignore[attr-defined]
    assert len(source.opened) == len(store.blobs)
