"""Looking up the sigstore signatures of many images in one repository, against a real Docker Distribution
(TLS + token auth): the repository's tag list is read once and only the tags it lists are asked for, so
an image without a signature costs no request; and the signatures found are the same as asking image by
image. (Tag lists too long to read: tests/test_quay_real_api.py, against Quay, which pages them.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import yaml

from bundler import config as bconfig
from bundler.auth import AuthStore
from bundler.content import additional, sigstore
from bundler.plan import Plan, PlanContext
from bundler.registry import RegistryPool
from bundler.transport.registry import RegistrySource
from testkit.registry import RegistryServer
from testkit.releases import cosign_sign, push_referrer
from testkit.synthetic import push_image

REPO = "sig/components"


def record_requests(pool: RegistryPool, host: str) -> list[tuple[str, str, int]]:
    """(method, path, status) of every request the pool's client for ``host`` makes from now on."""
    client = pool.get(host)
    seen: list[tuple[str, str, int]] = []
    send: Callable[..., requests.Response] = client.request

    def recording(method: str, path: str, *args: Any, **kw: Any) -> requests.Response:
        resp = send(method, path, *args, **kw)
        seen.append((method, path.split("?")[0], resp.status_code))
        return resp

    client.request = recording  # type: ignore[method-assign]
    return seen


def _plan(tmp_path: Path, server: RegistryServer, images: list[str], listing: bool) -> tuple[PlanContext, list]:
    isc = tmp_path / "isc.yaml"
    isc.write_text(yaml.safe_dump({"apiVersion": "mirror.openshift.io/v2alpha1", "kind": "ImageSetConfiguration",
                                   "mirror": {"additionalImages": [{"name": i} for i in images]}}))
    pool = RegistryPool(AuthStore.load(server.authfile(tmp_path / f"auth-{listing}.json")), server.ca_file)
    source = RegistrySource(pool)
    if not listing:
        source.tags = lambda repo, max_pages=None: None  # type: ignore[method-assign]  # as a registry that does not list
    ctx = PlanContext(config=bconfig.load(isc), source=source, plan=Plan(), workers=4)
    additional.plan(ctx)
    seen = record_requests(pool, server.host)
    sigstore.plan(ctx)
    return ctx, seen


def test_one_tag_list_instead_of_two_lookups_an_image(tmp_path: Path,
                                                      registry_factory: Callable[..., RegistryServer]) -> None:
    server = registry_factory(auth="token")
    writer = server.client()
    pushed = [push_image(writer, REPO, None, {"n": str(i).encode()}) for i in range(6)]
    images = [f"{server.host}/{REPO}@{m.digest}" for m in pushed]
    sig = cosign_sign(writer, images[1])
    referrer = push_referrer(writer, images[2], pushed[2])

    ctx, seen = _plan(tmp_path, server, images, listing=True)
    found = {img.digest for img in ctx.plan.images if img.kind == sigstore.KIND_NAME}
    assert found == {sig.digest, referrer.digest}
    assert not ctx.plan.warnings and not ctx.plan.failed
    assert [(m, p, s) for m, p, s in seen if p.endswith("/tags/list")] == [("GET", f"/v2/{REPO}/tags/list", 200)]
    asked = sorted(p.rsplit("/", 1)[1] for m, p, s in seen if "/manifests/" in p)
    assert asked == sorted([sigstore.cosign_tag(pushed[1].digest), sigstore.fallback_tag(pushed[2].digest),
                            referrer.digest])           # the two tags listed, and the referrer the index names
    assert not [r for r in seen if r[2] == 404 and "/manifests/" in r[1]]   # no image without one cost a request

    ctx_each, seen_each = _plan(tmp_path, server, images, listing=False)
    assert {i.digest for i in ctx_each.plan.images if i.kind == sigstore.KIND_NAME} == found
    assert len([r for r in seen_each if "/manifests/" in r[1]]) == 2 * len(images) + 1   # every tag asked for


def test_a_repository_without_tags_needs_no_lookup(tmp_path: Path,
                                                   registry_factory: Callable[..., RegistryServer]) -> None:
    """Docker Distribution answers 404 NAME_UNKNOWN for the tag list of a repository holding no tag (the
    release components are pushed by digest only): none of its images has a signature to ask for."""
    server = registry_factory(auth="token")
    writer = server.client()
    images = [f"{server.host}/{REPO}@{push_image(writer, REPO, None, {'n': str(i).encode()}).digest}" for i in range(3)]
    ctx, seen = _plan(tmp_path, server, images, listing=True)
    assert not [i for i in ctx.plan.images if i.kind == sigstore.KIND_NAME]
    assert [r for r in seen if "/manifests/" in r[1]] == []
    assert ("GET", f"/v2/{REPO}/tags/list", 404) in seen
