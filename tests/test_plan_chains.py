"""Planning the content kinds at once: the release and the additional images (and operators, Helm charts,
the bootstrap images) are planned side by side, and what comes out is what planning them one after another
gives, whichever finished first: an image two kinds name keeps the first kind's name, the images, warnings
and records come in the kinds' order, and a failing kind stops the others and is reported once they ended."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bundler import config as bconfig
from bundler import content
from bundler.auth import AuthStore
from bundler.content.base import ContentKind
from bundler.content.chains import PlanningStopped, StoppableSource
from bundler.errors import BundlerError, ConfigError, NotFoundError
from bundler.oci import Descriptor, Manifest, Reference, Repository, parse
from bundler.plan import Plan, PlanContext, PlannedImage
from bundler.records import TARGETS, image_key
from bundler.registry import RegistryPool
from bundler.transport.base import SourceCaps
from bundler.transport.memory import MemoryStore
from bundler.transport.registry import RegistrySource
from testkit.registry import RegistryServer
from testkit.synthetic import Upstream


class ReleaseLast(RegistrySource):
    """The real upstream, but the release image's lookup is answered only after an additional image's was:
    planning the kinds one after another (the release first) waits here in vain. Not a fake of the registry,
    which answers every lookup; only a way to make the additional images finish first."""

    def __init__(self, pool: RegistryPool, release: str, additional: set[str]) -> None:
        super().__init__(pool)
        self.release, self.additional = release, additional
        self.additional_answered = threading.Event()
        self.release_waited_in_vain = False

    def get_manifest(self, ref: Reference) -> Manifest:
        if ref.name == self.release:
            self.release_waited_in_vain = not self.additional_answered.wait(20)
        manifest = super().get_manifest(ref)
        if ref.name in self.additional:
            self.additional_answered.set()
        return manifest


def test_kinds_are_planned_at_once_and_merged_in_their_order(
        tmp_path: Path, upstream_registry: tuple[RegistryServer, Upstream]) -> None:
    server, up = upstream_registry
    shared = sorted(up.components.values())[0]  # a release component, also named as an additional image
    isc = tmp_path / "isc.yaml"
    isc.write_text(yaml.safe_dump({
        "apiVersion": "mirror.openshift.io/v2alpha1", "kind": "ImageSetConfiguration",
        "mirror": {"platform": {"release": up.release},
                   "additionalImages": [{"name": ref} for ref in up.additional]
                   + [{"name": shared, "targetRepo": "kept/apart", "targetTag": "v1"}]}}))
    pool = RegistryPool(AuthStore.load(server.authfile(tmp_path / "auth.json")), server.ca_file)
    source = ReleaseLast(pool, parse(up.release).name, {parse(ref).name for ref in up.additional})
    ctx = PlanContext(config=bconfig.load(isc), source=source, plan=Plan(), workers=4)

    content.plan_all(ctx, alongside=True)

    assert not source.release_waited_in_vain
    kinds = [img.kind for img in ctx.plan.images]
    assert kinds == sorted(kinds, key=lambda k: ["release", "release-component", "additional"].index(k))
    by_ref = {str(img.source): img for img in ctx.plan.images}
    assert by_ref[shared].kind == "release-component"  # the release's kind, though the additional one came first
    assert {str(img.source) for img in ctx.plan.images if img.kind == "additional"} == set(up.additional)
    assert len(ctx.plan.images) == 1 + len(up.components) + len(up.additional)
    assert ctx.plan.records["releases"][0]["digest"] == up.release_digest
    component = parse(shared)
    assert ctx.plan.records[TARGETS] == {image_key(component.name, component.digest or ""): [
        {"repository": "kept/apart", "tag": "v1"}]}
    assert not ctx.plan.failed


def _kind(name: str, seconds: float, error: Exception | None, finished: list[str]) -> ContentKind:
    def plan(ctx: PlanContext) -> None:
        time.sleep(seconds)
        ctx.plan.warnings.append(f"{name} planned")
        ctx.plan.add(PlannedImage(name, parse(f"example.com/{name}:1"), "sha256:" + "0" * 64, "", ["1"]))
        finished.append(name)
        if error is not None:
            raise error
    return ContentKind(name, plan)


class CountingSource:
    """A source of this test's own (in-process: what is checked is how planning stops, not a registry): every
    manifest lookup takes 10 ms and is counted."""

    caps = SourceCaps()

    def __init__(self) -> None:
        self.lookups = 0

    def get_manifest(self, ref: Reference) -> Manifest:
        time.sleep(0.01)
        self.lookups += 1
        raise NotFoundError(f"image {ref} not found")

    def open_blob(self, repo: Repository, desc: Descriptor) -> Iterator[bytes]:
        raise NotFoundError(f"blob {desc.digest} not found")


def _looking_up(name: str, count: int, finished: list[str]) -> ContentKind:
    """A kind that looks ``count`` images up one after another, noting each failure as planners do."""
    def plan(ctx: PlanContext) -> None:
        for i in range(count):
            try:
                ctx.source.get_manifest(parse(f"example.com/{name}:{i}"))
            except BundlerError as exc:
                ctx.plan.fail(f"example.com/{name}:{i}", str(exc))
        finished.append(name)
    return ContentKind(name, plan)


def test_a_failing_kind_stops_the_others_and_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    finished: list[str] = []
    monkeypatch.setattr(content, "CHAINS", (
        (_looking_up("slow", 500, finished),),
        (_kind("first", 0.3, ConfigError("the first kind's error"), finished),),
        (_kind("second", 0.0, ConfigError("the second kind's error"), finished),)))
    source = CountingSource()
    ctx = PlanContext(config=bconfig.ImageSetConfig(path=Path("isc.yaml")), source=source, plan=Plan())

    with pytest.raises(ConfigError, match="the first kind's error"):  # the first in the kinds' order
        content.plan_all(ctx)

    assert sorted(finished) == ["first", "second", "slow"]  # nothing still running behind the error
    assert source.lookups < 20  # the slow kind stopped at its next lookup: 500 would take 5 s
    assert ctx.plan.images == [] and ctx.plan.failed == {}


def test_stopped_blobs_stop_between_chunks() -> None:
    """A blob being read when planning stops ends at its next chunk (an in-memory store: no registry needed)."""
    store = MemoryStore()
    digest = store.add_blob(b"x" * 10)
    stop = threading.Event()
    source = StoppableSource(store, stop)
    chunks = source.open_blob(parse("example.com/a:1").repo, Descriptor("application/octet-stream", digest, 10))
    stop.set()
    with pytest.raises(PlanningStopped, match="another content kind failed"):
        next(iter(chunks))
    with pytest.raises(PlanningStopped):
        source.get_manifest(parse("example.com/a:1"))
    assert getattr(source, "referrers", None) is None  # what the store cannot do, the stoppable source cannot
    assert source.tags is store.tags  # what is not a call passes through


def test_warnings_come_in_the_kinds_order_not_the_order_they_finished(monkeypatch: pytest.MonkeyPatch) -> None:
    finished: list[str] = []
    monkeypatch.setattr(content, "CHAINS", (
        (_kind("a", 0.4, None, finished), _kind("b", 0.0, None, finished)),
        (_kind("c", 0.0, None, finished),)))
    monkeypatch.setattr(content, "OVER_ALL", ())
    ctx = PlanContext(config=bconfig.ImageSetConfig(path=Path("isc.yaml")), source=RegistrySource(RegistryPool()), plan=Plan())

    content.plan_all(ctx)

    assert finished == ["c", "a", "b"]
    assert ctx.plan.warnings == ["a planned", "b planned", "c planned"]
    assert [img.kind for img in ctx.plan.images] == ["a", "b", "c"]


CTRL_C_SCRIPT = """
import sys, time
from pathlib import Path
from bundler import config, content
from bundler.content.base import ContentKind
from bundler.errors import BundlerError, NotFoundError
from bundler.oci import parse
from bundler.plan import Plan, PlanContext
from bundler.transport.base import SourceCaps

class Slow:
    caps = SourceCaps()
    lookups = 0
    def get_manifest(self, ref):
        time.sleep(0.01)
        Slow.lookups += 1
        raise NotFoundError(f"image {ref} not found")
    def open_blob(self, repo, desc):
        raise NotFoundError("no blobs")

def plan(ctx):
    for i in range(500):
        try:
            ctx.source.get_manifest(parse(f"example.com/slow:{i}"))
        except BundlerError:
            pass

content.CHAINS = ((ContentKind("slow", plan),),)
content.OVER_ALL = ()
ctx = PlanContext(config=config.ImageSetConfig(path=Path("isc.yaml")), source=Slow(), plan=Plan())
print("planning", flush=True)
try:
    content.plan_all(ctx)
except KeyboardInterrupt:
    print(f"interrupted after {Slow.lookups} lookups", flush=True)
"""


def test_ctrl_c_while_planning_stops_the_chains() -> None:
    """Ctrl-C (a real SIGINT to a real process) lands in the thread that waits for the chains: the chains
    stop at their next request instead of the interrupted command waiting for all of them."""
    proc = subprocess.Popen([sys.executable, "-c", CTRL_C_SCRIPT], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    assert proc.stdout is not None and proc.stdout.readline() == "planning\n"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    found = re.fullmatch(r"interrupted after (\d+) lookups\n", out)
    assert found, out
    assert int(found.group(1)) < 250  # 500 lookups take 5 s: it stopped soon after the signal
