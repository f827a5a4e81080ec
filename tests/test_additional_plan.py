"""Planning ``mirror.additionalImages`` against the real synthetic upstream (TLS + token auth): the images
are looked up at once, as every other kind's are, and what comes out does not depend on which lookup
finished first: each image's digest, its ``targetRepo``/``targetTag`` record, a missing image named."""

from __future__ import annotations

import threading
from pathlib import Path

import yaml

from bundler import config as bconfig
from bundler.auth import AuthStore
from bundler.content import additional
from bundler.oci import Manifest, Reference, parse
from bundler.plan import Plan, PlanContext
from bundler.records import TARGETS, image_key
from bundler.registry import RegistryPool
from bundler.transport.registry import RegistrySource
from testkit.registry import RegistryServer
from testkit.synthetic import Upstream


class MeetingSource(RegistrySource):
    """The real upstream, but no manifest lookup returns before another one has started: planning that
    looks images up one after another stops at the first (the barrier breaks after its timeout). Not a
    fake of the registry, which answers every lookup; only a way to see that lookups overlap."""

    def __init__(self, pool: RegistryPool) -> None:
        super().__init__(pool)
        self.meet = threading.Barrier(2, timeout=20)

    def get_manifest(self, ref: Reference) -> Manifest:
        self.meet.wait()
        return super().get_manifest(ref)


def test_additional_images_are_looked_up_at_once(tmp_path: Path,
                                                 upstream_registry: tuple[RegistryServer, Upstream]) -> None:
    server, up = upstream_registry
    busybox, ubi, tools = (next(r for r in up.additional if part in r) for part in ("busybox", "ubi8", "ose-tools"))
    missing = f"{server.host}/nowhere/else:1.0"
    isc = tmp_path / "isc.yaml"
    isc.write_text(yaml.safe_dump({
        "apiVersion": "mirror.openshift.io/v2alpha1", "kind": "ImageSetConfiguration",
        "mirror": {"additionalImages": [{"name": busybox}, {"name": missing},
                                        {"name": ubi, "targetRepo": "base/ubi", "targetTag": "stable"},
                                        {"name": tools}]}}))
    pool = RegistryPool(AuthStore.load(server.authfile(tmp_path / "auth.json")), server.ca_file)
    source = MeetingSource(pool)
    ctx = PlanContext(config=bconfig.load(isc), source=source, plan=Plan(), workers=4)

    additional.plan(ctx)

    assert not source.meet.broken
    assert {str(i.source): i.digest for i in ctx.plan.images} == {ref: up.additional[ref] for ref in (busybox, ubi, tools)}
    assert list(ctx.plan.failed) == [missing]
    assert "nowhere/else" in ctx.plan.failed[missing]
    assert ctx.plan.records[TARGETS] == {image_key(parse(ubi).name, up.additional[ubi]): [
        {"repository": "base/ubi", "tag": "stable"}]}
