"""Phase 2 of ``bundler delete``: delete the manifests a delete plan lists, by digest, and say how the
registry gives the space back. Every reference is checked to be in the registry named on the command line
before anything is deleted (as oc-mirror does); a registry that refuses deletes stops it at the first one."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import requests

from ..auth import AuthStore
from ..errors import BundlerError, ConfigError, RegistryError
from ..mapping import split_target
from ..oci.reference import parse
from ..progress import Printer
from ..registry import ConnectOptions, RegistryClient
from ..registry.session import _error_text
from .planfile import read_plan

RECLAIM = {
    "distribution": "Docker Distribution frees the space only when garbage-collected: stop it (or make it "
                    "read-only), run `registry garbage-collect --delete-untagged /etc/docker/registry/config.yml`, "
                    "start it again.",
    "quay": "Quay garbage-collects what no tag references any more by itself, once the organization's time "
            "machine window (tag expiration, 2 weeks by default) has passed; lower it on the organization to "
            "reclaim sooner.",
}


@dataclass
class DeleteResult:
    deleted: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    flavor: str = "unknown"


def _split(reference: str, host: str, prefix: str) -> tuple[str, str]:
    """(path, tag or digest) of ``docker://HOST/PATH@DIGEST``, refused unless it is under HOST/PREFIX."""
    ref = parse(reference)
    under = f"{host}/{prefix}/" if prefix else f"{host}/"
    if not f"{ref.name}/".startswith(under):
        raise ConfigError(f"{reference} is not in {under.rstrip('/')}",
                          "the plan was made for another registry: pass the --registry it names, or generate it again")
    return ref.repository, ref.digest or ref.tag or "latest"


def registry_flavor(client: RegistryClient) -> str:
    """quay (its /api/v1/discovery answers), distribution, or unknown."""
    try:
        resp = client.session.get(client.base + "/api/v1/discovery", timeout=10)
        if resp.status_code == 200 and "json" in resp.headers.get("Content-Type", ""):
            return "quay"
        resp = client.request("GET", "/v2/", "")
        if resp.headers.get("Docker-Distribution-Api-Version"):
            return "distribution"
    except (BundlerError, requests.RequestException):  # a probe only decides which advice to print
        pass
    return "unknown"


def delete_manifest(client: RegistryClient, path: str, ref: str) -> bool:
    """DELETE one manifest by digest (a tag is resolved first); False when it was already gone."""
    digest = ref if ref.startswith("sha256:") else client.head_manifest(path, ref)
    if digest is None:
        return False
    resp = client.request("DELETE", f"/v2/{path}/manifests/{digest}", path, "delete")
    if resp.status_code in (200, 202):
        return True
    if resp.status_code == 404:
        return False
    if resp.status_code == 405:
        raise RegistryError(f"{client.registry} refuses to delete manifests (HTTP 405 {_error_text(resp)})",
                            "Docker Distribution deletes only with storage.delete.enabled: true in its config; "
                            "Quay needs a user or robot with write access to the repository")
    raise RegistryError(f"deleting {client.registry}/{path}@{digest} failed: HTTP {resp.status_code} "
                        f"{_error_text(resp)}", status=resp.status_code)


def execute(plan_path: Path, registry: str, authfile: Path | None, ca_file: Path | None,
            connect: ConnectOptions | None = None, say: Printer = print) -> DeleteResult:
    plan = read_plan(plan_path)
    host, prefix = split_target(registry)
    targets = [(item, *_split(item.image_reference, host, prefix)) for item in plan.items]
    client = RegistryClient(host, AuthStore.load(authfile), ca_file, options=connect)
    client.ping()
    result = DeleteResult(flavor=registry_flavor(client))
    say(f"Deleting {len(targets)} manifests from {registry} ...")
    for item, path, ref in targets:
        try:
            (result.deleted if delete_manifest(client, path, ref) else result.gone).append(item.image_reference)
        except RegistryError as exc:
            if exc.status is None or "refuses to delete" in exc.message:
                raise
            result.failed[item.image_reference] = str(exc)
    say(f"Deleted {len(result.deleted)} manifests; {len(result.gone)} were already gone; {len(result.failed)} failed.")
    for ref, message in sorted(result.failed.items()):
        say(f"  - {ref}: {message}")
    say(RECLAIM.get(result.flavor) or " ".join(RECLAIM.values()))
    return result
