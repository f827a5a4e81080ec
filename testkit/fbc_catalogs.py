"""File-based operator catalogs from a compact description, pushed into a real registry or written as an OCI
image layout (as ``opm`` + ``skopeo copy oci:`` leave one): packages, channels (each a replaces chain, tail
first), bundles with ``olm.gvk`` / ``olm.gvk.required`` / ``olm.package.required`` properties, a bundle image
and an operand image per bundle (pushed to the registry, referenced by digest), extra related images.

Used by :mod:`testkit.realistic` to stand in for Red Hat's catalogs under the names the realistic
configurations use.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bundler.oci import mediatypes

from .synthetic import build_layer, image_config, platform, push_image, push_index, random_bytes
from .writer import as_writer

CONFIGS_LABEL = "operators.operatorframework.io.index.configs.v1"


@dataclass
class Pkg:
    name: str
    default: str
    channels: dict[str, list[str]]
    """channel -> versions, tail first (each replaces the one before)."""
    provides: list[str] = field(default_factory=list)
    """``group/version/Kind`` every bundle provides (olm.gvk)."""
    requires: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """version -> extra properties (olm.package.required, olm.gvk.required)."""
    related: list[str] = field(default_factory=list)
    """Extra related images every bundle names (pushed by the caller, full references)."""


@dataclass
class BuiltCatalog:
    files: dict[str, bytes]
    bundles: dict[str, str] = field(default_factory=dict)          # bundle name -> bundle image ref
    operands: dict[str, str] = field(default_factory=dict)         # bundle name -> operand image ref


def _gvk(text: str) -> dict[str, str]:
    group, version, kind = text.split("/")
    return {"group": group, "version": version, "kind": kind}


def _versions(p: Pkg) -> list[str]:
    seen: list[str] = []
    for versions in p.channels.values():
        seen += [v for v in versions if v not in seen]
    return seen


def build_fbc(client: Any, namespace: str, packages: list[Pkg]) -> BuiltCatalog:
    """Push every bundle and operand image under ``namespace``; return the catalog files (``configs/...``)."""
    host = client.registry
    out = BuiltCatalog(files={})
    for p in packages:
        docs: list[dict[str, Any]] = [{"schema": "olm.package", "name": p.name, "defaultChannel": p.default}]
        for ch, versions in p.channels.items():
            entries = [{"name": f"{p.name}.v{v}", **({"replaces": f"{p.name}.v{versions[i - 1]}"} if i else {})}
                       for i, v in enumerate(versions)]
            docs.append({"schema": "olm.channel", "package": p.name, "name": ch, "entries": entries})
        for v in _versions(p):
            name = f"{p.name}.v{v}"
            op = push_image(client, f"{namespace}/{p.name}-rhel9-operator", None,
                            {f"opt/{name}": random_bytes(name, 1024)})
            operand = f"{host}/{namespace}/{p.name}-rhel9-operator@{op.digest}"
            csv = {"apiVersion": "operators.coreos.com/v1alpha1", "kind": "ClusterServiceVersion",
                   "metadata": {"name": name}, "spec": {"version": v, "relatedImages": [{"name": "operator", "image": operand}]}}
            bundle = push_image(client, f"{namespace}/{p.name}-operator-bundle", None, {
                f"manifests/{p.name}.clusterserviceversion.yaml": yaml.safe_dump(csv).encode(),
                "metadata/annotations.yaml": yaml.safe_dump({"annotations": {
                    "operators.operatorframework.io.bundle.package.v1": p.name}}).encode()})
            image = f"{host}/{namespace}/{p.name}-operator-bundle@{bundle.digest}"
            props: list[dict[str, Any]] = [{"type": "olm.package", "value": {"packageName": p.name, "version": v}}]
            props += [{"type": "olm.gvk", "value": _gvk(g)} for g in p.provides]
            props += p.requires.get(v, [])
            docs.append({"schema": "olm.bundle", "name": name, "package": p.name, "image": image, "properties": props,
                         "relatedImages": [{"name": "", "image": image}, {"name": "operator", "image": operand},
                                           *({"name": f"extra-{i}", "image": r} for i, r in enumerate(p.related))]})
            out.bundles[name], out.operands[name] = image, operand
        out.files[f"configs/{p.name}/catalog.json"] = "".join(json.dumps(d, indent=2) + "\n" for d in docs).encode()
    return out


def _layers(files: dict[str, bytes], arch: str) -> list[Any]:
    return [build_layer({"bin/opm": random_bytes(f"opm-{arch}", 2048)}, "COPY opm /bin/opm"),
            build_layer(files, "ADD configs /configs")]


def push_catalog(client: Any, repo: str, tag: str | None, files: dict[str, bytes],
                 arches: tuple[str, ...] = ("amd64",)) -> str:
    """The catalog image (a list when several architectures) under ``repo:tag``; returns its digest."""
    labels = {CONFIGS_LABEL: "/configs", "io.k8s.display-name": f"{repo.rsplit('/', 1)[-1]} (synthetic)"}
    kids = [(push_image(client, repo, None, layers=_layers(files, a), arch=a, labels=labels,
                        cmd=["serve", "/configs", "--cache-dir=/tmp/cache"]), platform(a)) for a in arches]
    if len(kids) == 1:
        m = kids[0][0]
        if tag:
            as_writer(client).put_manifest(repo, tag, m)
        return m.digest
    return push_index(client, repo, tag, kids).digest


def write_layout(root: Path, files: dict[str, bytes] | None = None, *, image_files: dict[str, bytes] | None = None,
                 name: str = "latest") -> str:
    """An OCI image layout holding one image: a catalog of ``files`` (with the configs label), or a plain image
    of ``image_files``; returns the manifest digest. Written byte by byte, independent of bundler's layout code."""
    root.mkdir(parents=True, exist_ok=True)
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return "sha256:" + digest

    if files is not None:
        layers = _layers(files, "amd64")
        cfg = image_config(layers, labels={CONFIGS_LABEL: "/configs"}, cmd=["serve", "/configs"])
    else:
        layers = [build_layer(image_files or {"README": b"an image in a layout\n"})]
        cfg = image_config(layers)
    config = json.dumps(cfg).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST,
        "config": {"mediaType": mediatypes.OCI_CONFIG, "digest": put(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(layer.gz),
                    "size": layer.size} for layer in layers],
    }).encode()
    digest = put(manifest)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": [
        {"mediaType": mediatypes.OCI_MANIFEST, "digest": digest, "size": len(manifest),
         "annotations": {"org.opencontainers.image.ref.name": name}}]}))
    return digest
