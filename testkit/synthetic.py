"""A protocol-real synthetic OpenShift upstream, pushed into a real registry.

Everything is deterministic for a given seed: gzip tar layers with fixed mtimes and seeded
pseudo-random file content, real image configs (``rootfs.diff_ids`` = sha256 of the uncompressed tar),
Docker schema2 and OCI manifests, a Docker manifest list and an OCI index. What it builds:

* ``<host>/openshift-release-dev/ocp-release:<version>-x86_64``: the release image. Its top layer holds
  ``release-manifests/image-references`` (an ImageStream naming every component by digest),
  ``release-manifests/release-metadata`` (Cincinnati metadata) and a few ``0000_*.yaml`` manifests.
* ``<host>/openshift-release-dev/ocp-v4.0-art-dev@sha256:...``: the components, by digest only. All share
  one base layer; each has one own layer of about ``layer_size`` bytes. ``multi-arch-tool`` is a Docker
  manifest list (amd64, arm64, ppc64le) and ``oci-index-tool`` an OCI index (amd64, arm64).
* additional images: ``<host>/ubi8/ubi:8.4`` (Docker schema2), ``<host>/library/busybox:1.36`` (OCI index
  of three platforms) and ``<host>/openshift4/ose-tools:v4.4`` (Docker manifest list of three platforms).
* with ``multi_release=True`` also ``ocp-release:<version>-multi``: a manifest list of per-arch release
  images (amd64, arm64) whose image-references point at manifest-list digests of the components.

Layers are made with bundler's one layer builder (:mod:`bundler.oci.layer`); everything is pushed with
:mod:`testkit.writer`, never with bundler's own registry client.

Run ``python -m testkit.synthetic --help`` for the command line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bundler.oci import Manifest, mediatypes, sha256_digest
from bundler.oci.layer import File
from bundler.oci.layer import Layer as Layer
from bundler.oci.layer import build_layer as _build_layer
from bundler.oci.platform import GO_TO_RELEASE as GOARCH_TO_RELEASE
from bundler.oci.platform import VARIANTS
from bundler.registry.client import RegistryClient

from .writer import Writer, WriterError, as_writer

MTIME = 1577836800  # 2020-01-01T00:00:00Z: every tar entry, so layers are byte-reproducible
CREATED = "2020-01-01T00:00:00Z"
RELEASE_REPO = "openshift-release-dev/ocp-release"
COMPONENT_REPO = "openshift-release-dev/ocp-v4.0-art-dev"

DOCKER_CONFIG = mediatypes.DOCKER_CONFIG
DOCKER_LAYER = mediatypes.DOCKER_LAYER
OCI_CONFIG = mediatypes.OCI_CONFIG
OCI_LAYER = mediatypes.OCI_LAYER

# Real payload tag names, in the order they are used; more components get generated names.
COMPONENT_NAMES = [
    "cli", "installer", "cluster-version-operator", "machine-config-operator", "cluster-samples-operator",
    "cli-artifacts", "installer-artifacts", "baremetal-installer", "cloud-credential-operator", "must-gather",
    "tools", "tests", "etcd", "hyperkube", "pod", "oauth-server", "console", "console-operator",
    "cluster-network-operator", "cluster-dns-operator", "cluster-ingress-operator", "haproxy-router",
    "cluster-image-registry-operator", "docker-registry", "cluster-monitoring-operator", "prometheus",
    "prometheus-operator", "grafana", "cluster-kube-apiserver-operator", "cluster-kube-scheduler-operator",
    "cluster-kube-controller-manager-operator", "cluster-openshift-apiserver-operator", "openshift-apiserver",
    "cluster-authentication-operator", "cluster-storage-operator", "cluster-node-tuning-operator",
    "cluster-autoscaler-operator", "cluster-machine-approver", "machine-api-operator", "multus-cni",
    "ovn-kubernetes", "coredns", "operator-lifecycle-manager", "operator-registry", "cluster-config-operator",
    "service-ca-operator", "insights-operator", "kube-rbac-proxy", "oauth-proxy", "rhel-coreos",
]
LIST_COMPONENT = "multi-arch-tool"
INDEX_COMPONENT = "oci-index-tool"


# -- layers and images ---------------------------------------------------------------------------

def _files(files: Mapping[str, bytes]) -> dict[str, bytes | File]:
    """Paths under ``bin/`` are executables (0755)."""
    out: dict[str, bytes | File] = {}
    for path, data in files.items():
        clean = path.strip("/")
        out[path] = File(data, 0o755) if ("/bin/" in "/" + clean or clean.startswith("bin/")) else data
    return out


def make_layer(files: Mapping[str, bytes], compresslevel: int = 6) -> tuple[bytes, str]:
    """A deterministic gzip tar of ``{path: content}``: (gzip bytes, diff_id = sha256 of the tar).

    Parent directories get entries; paths under ``bin/`` are mode 0755. A file named ``.wh.<name>``
    is an ordinary whiteout entry.
    """
    layer = build_layer(files, compresslevel=compresslevel)
    return layer.gz, layer.diff_id


def build_layer(files: Mapping[str, bytes], created_by: str = "COPY files /", compresslevel: int = 6) -> Layer:
    return _build_layer(_files(files), created_by=created_by, mtime=MTIME, compresslevel=compresslevel)


def random_bytes(seed: str | int, size: int) -> bytes:
    """``size`` pseudo-random bytes, the same for the same seed."""
    return random.Random(seed).randbytes(size)


def _dumps(doc: Any, oci: bool) -> bytes:
    # Docker writes schema2 manifests indented by 3; OCI tools usually compact. Either is byte-exact.
    return json.dumps(doc, indent=None if oci else 3, separators=(",", ":") if oci else None).encode()


# -- pushing ---------------------------------------------------------------------------------------

class PushStats:
    """Unique blobs and manifests pushed (thread-safe), and where each blob already is."""

    def __init__(self) -> None:
        self.blobs: dict[str, int] = {}
        self.manifests: dict[str, int] = {}
        self.where: dict[str, str] = {}  # blob digest -> a repo that has it
        self._present: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    @property
    def blob_bytes(self) -> int:
        return sum(self.blobs.values())

    @property
    def manifest_bytes(self) -> int:
        return sum(self.manifests.values())

    @property
    def total_bytes(self) -> int:
        return self.blob_bytes + self.manifest_bytes


_DEFAULT_STATS: dict[int, PushStats] = {}


def _stats_for(client: RegistryClient | Writer, stats: PushStats | None) -> PushStats:
    if stats is not None:
        return stats
    return _DEFAULT_STATS.setdefault(id(client), PushStats())


def push_blob(client: RegistryClient | Writer, repo: str, data: bytes, stats: PushStats | None = None) -> str:
    """Upload ``data`` unless the repo has it (mounting it from another repo where possible)."""
    st = _stats_for(client, stats)
    writer = as_writer(client)
    digest = sha256_digest(data)
    with st._lock:
        st.blobs[digest] = len(data)
        if (repo, digest) in st._present:
            return digest
        source = st.where.get(digest)
    if not writer.has_blob(repo, digest):
        mounted = source is not None and source != repo and writer.mount_blob(repo, digest, source)
        if not mounted:
            writer.push_blob(repo, digest, len(data), lambda: data)
    with st._lock:
        st._present.add((repo, digest))
        st.where.setdefault(digest, repo)
    return digest


def _put(client: RegistryClient | Writer, repo: str, ref: str | None, m: Manifest, stats: PushStats | None) -> Manifest:
    st = _stats_for(client, stats)
    as_writer(client).put_manifest(repo, ref or m.digest, m)
    with st._lock:
        st.manifests[m.digest] = len(m.data)
    return m


def image_config(layers: Sequence[Layer], *, arch: str = "amd64", os_name: str = "linux",
                 labels: Mapping[str, str] | None = None, env: Sequence[str] | None = None,
                 cmd: Sequence[str] | None = None, variant: str | None = None) -> dict[str, Any]:
    """An image config document for ``layers`` (bottom first)."""
    config: dict[str, Any] = {
        "Env": list(env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]),
        "Labels": dict(sorted((labels or {}).items())),
    }
    if cmd:
        config["Cmd"] = list(cmd)
    doc: dict[str, Any] = {"architecture": arch, "os": os_name}
    if variant or VARIANTS.get(arch):
        doc["variant"] = variant or VARIANTS[arch]
    doc.update({
        "created": CREATED,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": CREATED, "created_by": layer.created_by} for layer in layers],
    })
    return doc


def push_image(
    client: RegistryClient | Writer,
    repo: str,
    tag: str | None,
    files: Mapping[str, bytes] | None = None,
    *,
    base_layers: Sequence[Layer] = (),
    layers: Sequence[Layer] = (),
    labels: Mapping[str, str] | None = None,
    arch: str = "amd64",
    os_name: str = "linux",
    variant: str | None = None,
    env: Sequence[str] | None = None,
    cmd: Sequence[str] | None = None,
    oci: bool = False,
    compresslevel: int = 6,
    stats: PushStats | None = None,
) -> Manifest:
    """Build and push one single-platform image: ``base_layers`` + ``layers`` + a layer of ``files``.

    The manifest is Docker schema2 (or OCI with ``oci=True``), pushed under ``tag`` or, with
    ``tag=None``, by digest only. Returns the manifest exactly as pushed.
    """
    all_layers = list(base_layers) + list(layers)
    if files:
        all_layers.append(build_layer(files, compresslevel=compresslevel))
    if not all_layers:
        raise ValueError("an image needs at least one layer (pass files, layers or base_layers)")
    for layer in all_layers:
        push_blob(client, repo, layer.gz, stats)
    config = json.dumps(image_config(all_layers, arch=arch, os_name=os_name, labels=labels, env=env, cmd=cmd,
                                     variant=variant), separators=(",", ":"), sort_keys=False).encode()
    config_digest = push_blob(client, repo, config, stats)
    media_type = mediatypes.OCI_MANIFEST if oci else mediatypes.DOCKER_MANIFEST
    doc = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": OCI_CONFIG if oci else DOCKER_CONFIG, "size": len(config), "digest": config_digest},
        "layers": [{"mediaType": OCI_LAYER if oci else DOCKER_LAYER, "size": layer.size, "digest": layer.digest}
                   for layer in all_layers],
    }
    data = _dumps(doc, oci)
    return _put(client, repo, tag, Manifest(data, media_type, sha256_digest(data)), stats)


def push_index(
    client: RegistryClient | Writer,
    repo: str,
    tag: str | None,
    children: Iterable[tuple[Manifest, Mapping[str, str]]],
    *,
    oci: bool = False,
    stats: PushStats | None = None,
) -> Manifest:
    """Push a Docker manifest list (or OCI index with ``oci=True``) of already pushed ``children``.

    ``children`` are ``(manifest, platform)`` pairs, platform like ``{"architecture": "arm64",
    "os": "linux", "variant": "v8"}``. Pushed under ``tag`` or, with ``tag=None``, by digest only.
    """
    media_type = mediatypes.OCI_INDEX if oci else mediatypes.DOCKER_LIST
    doc = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": [
            {"mediaType": child.media_type, "size": len(child.data), "digest": child.digest, "platform": dict(platform)}
            for child, platform in children
        ],
    }
    data = _dumps(doc, oci)
    return _put(client, repo, tag, Manifest(data, media_type, sha256_digest(data)), stats)


def platform(arch: str, os_name: str = "linux") -> dict[str, str]:
    p = {"architecture": arch, "os": os_name}
    if arch in VARIANTS:
        p["variant"] = VARIANTS[arch]
    return p


def push_multiarch(
    client: RegistryClient | Writer,
    repo: str,
    tag: str | None,
    files_for_arch: Mapping[str, Mapping[str, bytes]],
    *,
    base_layers: Mapping[str, Sequence[Layer]] | None = None,
    labels: Mapping[str, str] | None = None,
    oci: bool = False,
    stats: PushStats | None = None,
) -> tuple[Manifest, dict[str, Manifest]]:
    """One image per architecture (children by digest) and a list/index over them under ``tag``."""
    kids: dict[str, Manifest] = {}
    for arch, files in files_for_arch.items():
        kids[arch] = push_image(client, repo, None, files, base_layers=(base_layers or {}).get(arch, ()),
                                labels=labels, arch=arch, oci=oci, stats=stats)
    index = push_index(client, repo, tag, [(kids[a], platform(a)) for a in kids], oci=oci, stats=stats)
    return index, kids


# -- the upstream ----------------------------------------------------------------------------------

@dataclass
class Upstream:
    """What ``build_upstream`` pushed. Every reference uses ``host`` (``host_in_refs``)."""

    registry: str
    host: str
    version: str
    release: str  # by tag: <host>/openshift-release-dev/ocp-release:<version>-x86_64
    release_digest: str
    components: dict[str, str]  # component name -> <host>/openshift-release-dev/ocp-v4.0-art-dev@sha256:...
    additional: dict[str, str]  # additional image (by tag) -> its manifest digest
    manifest_list: str  # a Docker manifest list with 3 platforms (component, by digest)
    oci_index: str  # an OCI index with OCI manifests (additional image, by tag)
    multi_release: str | None = None  # <host>/openshift-release-dev/ocp-release:<version>-multi
    multi_release_digest: str | None = None
    multi_components: dict[str, str] = field(default_factory=dict)  # name -> manifest-list ref by digest
    blobs: dict[str, int] = field(default_factory=dict)  # every unique blob digest -> size
    manifests: dict[str, int] = field(default_factory=dict)  # every manifest digest -> size
    image_references: dict[str, Any] = field(default_factory=dict)  # the ImageStream in the release
    release_metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def release_by_digest(self) -> str:
        return f"{self.host}/{RELEASE_REPO}@{self.release_digest}"

    @property
    def additional_images(self) -> list[str]:
        return list(self.additional)

    @property
    def unique_blobs(self) -> int:
        return len(self.blobs)

    @property
    def blob_bytes(self) -> int:
        return sum(self.blobs.values())

    @property
    def total_bytes(self) -> int:
        """Bytes of every unique blob and manifest: what a full bundle of this upstream carries."""
        return self.blob_bytes + sum(self.manifests.values())

    def config(self, include_multi: bool = False) -> dict[str, Any]:
        """An ImageSetConfiguration naming the release and the additional images."""
        releases = [{"name": self.release}]
        if include_multi and self.multi_release:
            releases.append({"name": self.multi_release})
        return {
            "kind": "ImageSetConfiguration",
            "apiVersion": "mirror.openshift.io/v2alpha1",
            "mirror": {
                "platform": {"release": self.release} if len(releases) == 1 else {"releases": releases},
                "additionalImages": [{"name": ref} for ref in self.additional],
            },
        }

    def write_config(self, path: str | Path, include_multi: bool = False) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(yaml.safe_dump(self.config(include_multi), sort_keys=False))
        return p

    def summary(self) -> str:
        lines = [
            f"release         {self.release}",
            f"                {self.release_by_digest}",
        ]
        if self.multi_release:
            lines.append(f"multi release   {self.multi_release} ({self.multi_release_digest})")
        lines.append(f"components      {len(self.components)} in {self.host}/{COMPONENT_REPO} (by digest)")
        lines.append(f"manifest list   {self.manifest_list}")
        lines.append(f"OCI index       {self.oci_index}")
        for ref, digest in self.additional.items():
            lines.append(f"additional      {ref} ({digest})")
        lines.append(f"unique blobs    {self.unique_blobs}, {len(self.manifests)} manifests, "
                     f"{self.total_bytes} bytes ({self.total_bytes / 1e6:.1f} MB)")
        return "\n".join(lines)


def component_names(n: int) -> list[str]:
    """``n`` single-arch component names: real payload tag names first, then ``extra-component-NNN``."""
    names = COMPONENT_NAMES[:n]
    names += [f"extra-component-{i:03d}" for i in range(len(names), n)]
    return names


def _component_files(name: str, version: str, arch: str, size: int, seed: int) -> dict[str, bytes]:
    """The own layer of a component: a small script plus ``size`` bytes of seeded content."""
    files: dict[str, bytes] = {}
    if name == "cli":
        files["usr/bin/oc"] = f"#!/bin/sh\necho 'Client Version: {version}'\n".encode()
    elif name in ("installer", "baremetal-installer"):
        files["usr/bin/openshift-install"] = (
            f"#!/bin/sh\necho 'openshift-install {version}'\nexit 0\n# ".encode()
            + b"_RELEASE_IMAGE_LOCATION_\x00" + b"\x00" * 300 + b"\n"
        )
    elif name == "cloud-credential-operator":
        files["usr/bin/ccoctl"] = b"#!/bin/sh\necho ccoctl\n"
    else:
        files[f"usr/bin/{name}"] = f"#!/bin/sh\necho '{name} {version} {arch}'\n".encode()
    files[f"usr/share/synthetic/{name}.bin"] = random_bytes(f"{seed}/{name}/{arch}", max(size, 0))
    return files


def _base_layer(seed: int, arch: str, size: int, compresslevel: int = 1) -> Layer:
    files = {
        "etc/os-release": b'NAME="Red Hat Enterprise Linux CoreOS"\nID="rhcos"\nVERSION_ID="4.4"\n',
        f"etc/synthetic-base-{arch}": arch.encode(),
        "usr/lib/synthetic/base.bin": random_bytes(f"{seed}/base/{arch}", size),
    }
    return build_layer(files, "ADD rootfs.tar.gz /", compresslevel=compresslevel)


def _release_files(version: str, stream: dict[str, Any], metadata: dict[str, Any]) -> dict[str, bytes]:
    verification = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "release-verification", "namespace": "openshift-config-managed",
                     "annotations": {"release.openshift.io/verification-config-map": ""}},
        "data": {"verifier-public-key-redhat": "-----BEGIN PGP PUBLIC KEY BLOCK-----\nsynthetic\n"
                                               "-----END PGP PUBLIC KEY BLOCK-----\n",
                 "store-openshift-official-release-mirror":
                     "https://mirror.openshift.com/pub/openshift-v4/signatures/openshift/release"},
    }
    cvo = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "cluster-version-operator", "namespace": "openshift-cluster-version"},
        "spec": {"template": {"spec": {"containers": [{"name": "cluster-version-operator",
                                                        "image": "{{.ReleaseImage}}"}]}}},
    }
    return {
        "release-manifests/image-references": json.dumps(stream, indent=2).encode() + b"\n",
        "release-manifests/release-metadata": json.dumps(metadata, indent=2).encode() + b"\n",
        "release-manifests/0000_00_cluster-version-operator_03_deployment.yaml":
            yaml.safe_dump(cvo, sort_keys=False).encode(),
        "release-manifests/0000_90_cluster-update-keys_configmap.yaml":
            yaml.safe_dump(verification, sort_keys=False).encode(),
    }


def _image_stream(version: str, refs: Mapping[str, str]) -> dict[str, Any]:
    tags = []
    for name in sorted(refs):
        commit = hashlib.sha1(f"{name}/{version}".encode()).hexdigest()  # noqa: S324 - a fake commit id
        tags.append({
            "name": name,
            "annotations": {
                "io.openshift.build.commit.id": commit,
                "io.openshift.build.commit.ref": "",
                "io.openshift.build.source-location": f"https://github.com/openshift/{name}",
            },
            "from": {"kind": "DockerImage", "name": refs[name]},
            "generation": None,
            "importPolicy": {},
            "referencePolicy": {"type": ""},
        })
    return {
        "kind": "ImageStream",
        "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": version, "creationTimestamp": CREATED,
                     "annotations": {"release.openshift.io/from-image-stream": f"ocp/{version}-art-latest"}},
        "spec": {"lookupPolicy": {"local": False}, "tags": tags},
    }


def _previous(version: str) -> list[str]:
    parts = version.split(".")
    try:
        major, minor, patch = int(parts[0]), int(parts[1]), int(parts[2].split("-")[0])
    except (IndexError, ValueError):
        return []
    prev = [f"{major}.{minor}.{p}" for p in range(max(0, patch - 3), patch)]
    if minor > 0:
        prev.insert(0, f"{major}.{minor - 1}.0")
    return prev


def _release_metadata(version: str, arch: str | None = None) -> dict[str, Any]:
    minor = ".".join(version.split(".")[:2])
    meta: dict[str, Any] = {"url": "https://access.redhat.com/errata/RHBA-2020:0000"}
    if arch:
        meta["release.openshift.io/architecture"] = arch
    return {"kind": "cincinnati-metadata-v0", "version": version, "previous": _previous(version),
            "metadata": {**meta, "description": "", "channels": f"stable-{minor},fast-{minor}"}}


def push_release_image(
    client: RegistryClient | Writer,
    repo: str,
    tag: str | None,
    version: str,
    component_refs: Mapping[str, str],
    *,
    base_layers: Sequence[Layer] = (),
    arch: str = "amd64",
    metadata_arch: str | None = None,
    seed: int = 0,
    stats: PushStats | None = None,
    release_files: Mapping[str, bytes] | None = None,
) -> tuple[Manifest, dict[str, Any], dict[str, Any]]:
    """A release image: base + CVO layer + ``release-manifests/`` layer (plus ``release_files``, e.g. the
    CoreOS boot images ConfigMap). Returns (manifest, stream, metadata)."""
    stream = _image_stream(version, component_refs)
    metadata = _release_metadata(version, metadata_arch)
    cvo = build_layer({"usr/bin/cluster-version-operator":
                       b"#!/bin/sh\necho cluster-version-operator\n" + random_bytes(f"{seed}/cvo/{arch}", 4096)},
                      "COPY cluster-version-operator /usr/bin/")
    manifests = build_layer({**_release_files(version, stream, metadata), **(release_files or {})},
                            "COPY release-manifests /release-manifests/")
    labels = {
        "io.openshift.release": version,
        "io.openshift.release.base-image-digest": base_layers[0].digest if base_layers else "",
        "io.openshift.build.versions": "",
        "vendor": "Red Hat, Inc.",
    }
    m = push_image(client, repo, tag, None, base_layers=base_layers, layers=[cvo, manifests], labels=labels,
                   arch=arch, cmd=["/usr/bin/cluster-version-operator"], stats=stats)
    return m, stream, metadata


def build_upstream(
    client: RegistryClient | Writer,
    *,
    version: str = "4.4.5",
    components: int = 12,
    layer_size: int = 64 * 1024,
    seed: int = 0,
    host_in_refs: str | None = None,
    base_size: int | None = None,
    multi_release: bool = False,
    component_files: Mapping[str, Mapping[str, bytes]] | None = None,
    workers: int = 4,
    compresslevel: int = 1,
    release_files: Mapping[str, bytes] | None = None,
    content_versions: Mapping[str, str] | None = None,
) -> Upstream:
    """Push a synthetic OpenShift upstream through ``client``; see the module docstring.

    ``components`` single-arch components (each with a layer of about ``layer_size`` bytes) plus
    ``multi-arch-tool`` (Docker manifest list) and ``oci-index-tool`` (OCI index). ``base_size`` is the
    size of the shared base layer (default ``layer_size``). ``component_files`` adds files to the own
    layer of named components (e.g. samples content for ``cluster-samples-operator``).
    ``host_in_refs`` is the host[:port] written into image-references and every returned reference
    (default ``client.registry``). Deterministic: the same arguments give the same digests.
    ``compresslevel`` is the gzip level of the component layers (their content is random, so 0 -
    stored - is as small as 9 and many times faster; use it to build GBs quickly).
    ``content_versions`` says, per component name, which version its content is (default ``version``):
    a component given an earlier release's version is byte-identical to that release's (a z-stream that
    changed only some components: :func:`testkit.zstream.next_zstream`).
    """
    cv = dict(content_versions or {})
    host = host_in_refs or client.registry
    stats = PushStats()
    base_size = layer_size if base_size is None else base_size
    bases = {arch: [_base_layer(seed, arch, base_size, compresslevel)] for arch in ("amd64", "arm64", "ppc64le")}
    extra = component_files or {}

    def files(name: str, arch: str) -> dict[str, bytes]:
        f = _component_files(name, cv.get(name, version), arch, layer_size, seed)
        f.update(extra.get(name, {}))
        return f

    def labels(name: str) -> dict[str, str]:
        return {"io.openshift.build.component": name, "io.openshift.release.operator": "true",
                "com.redhat.component": f"{name}-container", "version": cv.get(name, version)}

    # the shared base goes up once before the workers start, so they find it instead of racing
    push_blob(client, COMPONENT_REPO, bases["amd64"][0].gz, stats)

    def single(name: str) -> tuple[str, Manifest]:
        return name, push_image(client, COMPONENT_REPO, None, files(name, "amd64"), base_layers=bases["amd64"],
                                labels=labels(name), compresslevel=compresslevel, stats=stats)

    names = component_names(components)
    with ThreadPoolExecutor(max(1, workers)) as pool:
        pushed = dict(pool.map(single, names))
    refs = {name: f"{host}/{COMPONENT_REPO}@{m.digest}" for name, m in pushed.items()}

    small = max(1024, layer_size // 8)
    lst, _ = push_multiarch(client, COMPONENT_REPO, None,
                            {a: _component_files(LIST_COMPONENT, cv.get(LIST_COMPONENT, version), a, small, seed)
                             for a in ("amd64", "arm64", "ppc64le")},
                            base_layers=bases, labels=labels(LIST_COMPONENT), stats=stats)
    idx, _ = push_multiarch(client, COMPONENT_REPO, None,
                            {a: _component_files(INDEX_COMPONENT, cv.get(INDEX_COMPONENT, version), a, small, seed)
                             for a in ("amd64", "arm64")},
                            base_layers=bases, labels=labels(INDEX_COMPONENT), oci=True, stats=stats)
    refs[LIST_COMPONENT] = f"{host}/{COMPONENT_REPO}@{lst.digest}"
    refs[INDEX_COMPONENT] = f"{host}/{COMPONENT_REPO}@{idx.digest}"

    release_tag = f"{version}-{GOARCH_TO_RELEASE['amd64']}"
    release, stream, metadata = push_release_image(client, RELEASE_REPO, release_tag, version, refs,
                                                   base_layers=bases["amd64"], seed=seed, stats=stats,
                                                   release_files=release_files)

    # additional images in other repositories
    additional: dict[str, str] = {}
    ubi = push_image(client, "ubi8/ubi", "8.4", {"etc/redhat-release": b"Red Hat Enterprise Linux release 8.4 (Ootpa)\n",
                                                 "usr/share/synthetic/ubi.bin": random_bytes(f"{seed}/ubi", small)},
                     base_layers=bases["amd64"], labels={"name": "ubi8", "version": "8.4"}, stats=stats)
    additional[f"{host}/ubi8/ubi:8.4"] = ubi.digest
    busybox, _ = push_multiarch(
        client, "library/busybox", "1.36",
        {a: {"bin/busybox": b"#!/bin/sh\necho busybox 1.36 " + a.encode() + b"\n",
             "usr/share/synthetic/busybox.bin": random_bytes(f"{seed}/busybox/{a}", small)}
         for a in ("amd64", "arm64", "ppc64le")},
        oci=True, stats=stats)
    additional[f"{host}/library/busybox:1.36"] = busybox.digest
    tools, _ = push_multiarch(
        client, "openshift4/ose-tools", "v4.4",
        {a: {"usr/bin/tools": b"#!/bin/sh\necho tools " + a.encode() + b"\n"} for a in ("amd64", "arm64", "ppc64le")},
        base_layers=bases, labels={"name": "openshift4/ose-tools"}, stats=stats)
    additional[f"{host}/openshift4/ose-tools:v4.4"] = tools.digest

    up = Upstream(
        registry=client.registry,
        host=host,
        version=version,
        release=f"{host}/{RELEASE_REPO}:{release_tag}",
        release_digest=release.digest,
        components=refs,
        additional=additional,
        manifest_list=refs[LIST_COMPONENT],
        oci_index=f"{host}/library/busybox:1.36",
        image_references=stream,
        release_metadata=metadata,
    )
    if multi_release:
        _build_multi(client, up, pushed, bases, files, labels, seed, stats, compresslevel)
    up.blobs = dict(stats.blobs)
    up.manifests = dict(stats.manifests)
    return up


def _build_multi(client: RegistryClient | Writer, up: Upstream, amd64: Mapping[str, Manifest], bases: Mapping[str, list[Layer]],
                 files: Any, labels: Any, seed: int, stats: PushStats, compresslevel: int = 1) -> None:
    """``<version>-multi``: components as amd64+arm64 lists, per-arch release images, one list over them."""

    def one(name: str) -> tuple[str, Manifest]:
        arm = push_image(client, COMPONENT_REPO, None, files(name, "arm64"), base_layers=bases["arm64"],
                         labels=labels(name), arch="arm64", compresslevel=compresslevel, stats=stats)
        lst = push_index(client, COMPONENT_REPO, None, [(amd64[name], platform("amd64")), (arm, platform("arm64"))],
                         stats=stats)
        return name, lst

    with ThreadPoolExecutor(4) as pool:
        lists = dict(pool.map(one, list(amd64)))
    refs = {name: f"{up.host}/{COMPONENT_REPO}@{m.digest}" for name, m in lists.items()}
    refs[LIST_COMPONENT] = up.components[LIST_COMPONENT]
    refs[INDEX_COMPONENT] = up.components[INDEX_COMPONENT]
    kids = []
    for arch in ("amd64", "arm64"):
        m, _, _ = push_release_image(client, RELEASE_REPO, None, up.version, refs, base_layers=bases[arch], arch=arch,
                                     metadata_arch="multi", seed=seed, stats=stats)
        kids.append((m, platform(arch)))
    tag = f"{up.version}-multi"
    release = push_index(client, RELEASE_REPO, tag, kids, stats=stats)
    up.multi_release = f"{up.host}/{RELEASE_REPO}:{tag}"
    up.multi_release_digest = release.digest
    up.multi_components = refs


# -- command line ------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    from bundler.auth import AuthStore
    from bundler.errors import BundlerError

    parser = argparse.ArgumentParser(prog="python -m testkit.synthetic",
                                     description="Push a synthetic OpenShift release and additional images into a registry.")
    parser.add_argument("--registry", required=True, help="HOST:PORT of the registry to push into")
    parser.add_argument("--ca-file", help="PEM CA certificate of the registry")
    parser.add_argument("--authfile", help="containers auth.json / pull secret with credentials for the registry")
    parser.add_argument("--plain-http", action="store_true", help="talk HTTP, not HTTPS")
    parser.add_argument("--version", default="4.4.5", help="release version (default 4.4.5)")
    parser.add_argument("--components", type=int, default=12, help="single-arch components (default 12)")
    parser.add_argument("--layer-size", type=int, default=64 * 1024, help="bytes of content per component layer")
    parser.add_argument("--base-size", type=int, default=None, help="bytes of the shared base layer (default layer size)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--host-in-refs", help="host[:port] written into image-references (default --registry)")
    parser.add_argument("--multi-release", action="store_true", help="also push <version>-multi (a manifest list)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--compress-level", type=int, default=1,
                        help="gzip level of component layers (0 is fastest; their content is random anyway)")
    parser.add_argument("--retries", type=int, default=4, help="retries per request on connection errors and 5xx")
    parser.add_argument("--write-config", metavar="PATH", help="write an ImageSetConfiguration naming what was pushed")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    try:
        creds = (AuthStore.load(args.authfile) if args.authfile else AuthStore()).lookup(args.registry)
        writer = Writer(args.registry, username=creds.username if creds else None,
                        password=creds.password if creds else None, ca_file=args.ca_file,
                        plain_http=args.plain_http, retries=args.retries)
        up = build_upstream(writer, version=args.version, components=args.components, layer_size=args.layer_size,
                            seed=args.seed, host_in_refs=args.host_in_refs, base_size=args.base_size,
                            multi_release=args.multi_release, workers=args.workers,
                            compresslevel=args.compress_level)
    except (BundlerError, WriterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        out = {k: v for k, v in up.__dict__.items() if k not in ("blobs", "manifests", "image_references")}
        out.update(unique_blobs=up.unique_blobs, total_bytes=up.total_bytes, release_by_digest=up.release_by_digest)
        print(json.dumps(out, indent=2))
    else:
        print(up.summary())
    if args.write_config:
        path = up.write_config(args.write_config)
        print(f"wrote {path}", file=sys.stderr if args.json else sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
