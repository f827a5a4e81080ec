"""Several synthetic OpenShift releases that share most of their components, and everything their lifecycle
needs: an update graph naming them, their GPG release signatures, cosign ``.sig`` signatures and an OCI 1.1
referrer, a KubeVirt container disk named by the payload's CoreOS stream, and ``oc``/``openshift-install``
carrying the real release-info markers.

``build_series`` pushes the first version with :func:`testkit.synthetic.build_upstream`, then each later
version rebuilds only the ``changed`` components (and the release image); every other component is the
same image by digest, as between two real z-streams most of the payload is. Everything is written with
testkit's independent registry writer.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from bundler.oci import Manifest, mediatypes, sha256_digest
from bundler.registry.client import RegistryClient

from .graph_server import Release, Universe
from .signing import GpgSigner
from .synthetic import (
    COMPONENT_REPO,
    RELEASE_REPO,
    Upstream,
    _base_layer,
    _component_files,
    build_upstream,
    push_blob,
    push_image,
    push_release_image,
    random_bytes,
)
from .writer import Writer, as_writer

BOOTIMAGES = "release-manifests/0000_50_installer_coreos-bootimages.yaml"
CHANNEL = "stable-4.4"
# oc's markers (pkg/cli/admin/release/extract_tools.go) with '!' as NUL, as the real binaries carry them
IMAGE_MARKER = b"\x00_RELEASE_IMAGE_LOCATION_\x00" + b"X" * 300 + b"\x00"
VERSION_MARKER = b"\x00_RELEASE_VERSION_LOCATION_\x00" + b"X" * 64 + b"\x00"
ARCH_MARKER = b"\x00_RELEASE_ARCHITECTURE_LOCATION_\x00" + b"X" * 64 + b"\x00"
COSIGN_LAYER = "application/vnd.dev.cosign.simplesigning.v1+json"
BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
EMPTY = b"{}"


@dataclass
class SyntheticRelease:
    version: str
    tag_ref: str      # <host>/openshift-release-dev/ocp-release:<version>-x86_64
    digest: str
    components: dict[str, str]

    @property
    def by_digest(self) -> str:
        return f"{self.tag_ref.rsplit(':', 1)[0]}@{self.digest}"


@dataclass
class ReleaseSeries:
    upstream: Upstream
    releases: dict[str, SyntheticRelease]
    kubevirt: str     # the container disk's digest-ref
    changed: tuple[str, ...]
    signed_images: dict[str, str] = field(default_factory=dict)  # cosign-signed image -> its .sig digest
    referrers: dict[str, str] = field(default_factory=dict)      # subject image -> its referrer's digest

    def universe(self, channel: str = CHANNEL, unpullable: str | None = None) -> Universe:
        """The update graph: every release in ``channel``, each updating to the next and the first straight
        to the last (so the shortest path skips the middle ones); with ``unpullable``
        also that version, only in ``candidate-<minor>``, whose payload digest is in no registry."""
        versions = list(self.releases)
        rels = [Release(v, [channel, f"fast-{channel.split('-')[-1]}"], {"amd64": r.by_digest})
                for v, r in self.releases.items()]
        edges = list(zip(versions, versions[1:], strict=False))
        if len(versions) > 2:
            edges.append((versions[0], versions[-1]))
        if unpullable:
            minor = channel.split("-")[-1]
            for rel in rels:
                rel.channels.append(f"candidate-{minor}")
            missing = f"{self.upstream.host}/{RELEASE_REPO}@sha256:{sha256_digest(unpullable.encode())[7:]}"
            rels.append(Release(unpullable, [f"candidate-{minor}"], {"amd64": missing}))
            edges.append((versions[-1], unpullable))
        return Universe(rels, edges)

    def sign_releases(self, signer: GpgSigner) -> dict[str, list[bytes]]:
        """sha256 hex -> [signature-1] for each release, as Red Hat's store holds them."""
        return {r.digest.removeprefix("sha256:"): [signer.sign_release(r.digest, r.tag_ref)]
                for r in self.releases.values()}


def tool_files(version: str) -> dict[str, dict[str, bytes]]:
    """``oc`` and ``openshift-install`` with oc's release-info markers, as the real binaries have them."""
    pad = random_bytes(f"tools/{version}", 2048)
    return {
        "cli": {"usr/bin/oc": b"#!/bin/sh\necho oc\nexit 0\n" + pad + VERSION_MARKER + pad},
        "installer": {"usr/bin/openshift-install": b"#!/bin/sh\necho openshift-install\nexit 0\n" + pad
                      + IMAGE_MARKER + pad + VERSION_MARKER + ARCH_MARKER + pad},
    }


def bootimages(kubevirt: str, rhcos: str = "44.81.202004260000-0") -> bytes:
    """The payload's CoreOS boot images ConfigMap naming ``kubevirt`` as the x86_64 container disk."""
    stream = {"stream": "rhcos-4.4", "architectures": {"x86_64": {"artifacts": {}, "images": {
        "kubevirt": {"release": rhcos, "image": kubevirt.split("@")[0] + ":4.4-kubevirt", "digest-ref": kubevirt}}}}}
    doc = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "coreos-bootimages", "namespace": "openshift-machine-config-operator"},
           "data": {"releaseVersion": "0.0.1-snapshot", "stream": json.dumps(stream)}}
    return yaml.safe_dump(doc, sort_keys=False).encode()


def build_series(client: RegistryClient | Writer, versions: Sequence[str] = ("4.4.5", "4.4.6"), *,
                 changed: Sequence[str] = ("cli", "installer", "cluster-version-operator"), components: int = 6,
                 layer_size: int = 16 * 1024, seed: int = 0) -> ReleaseSeries:
    """Push ``versions`` (the first with additional images, as ``build_upstream`` does); see the module."""
    host = client.registry
    disk = push_image(client, COMPONENT_REPO, None, {"disk/rhcos-kubevirt.qcow2": random_bytes(f"{seed}/kubevirt",
                                                                                                 layer_size)})
    kubevirt = f"{host}/{COMPONENT_REPO}@{disk.digest}"
    extra = {BOOTIMAGES: bootimages(kubevirt)}
    up = build_upstream(client, version=versions[0], components=components, layer_size=layer_size, seed=seed,
                        component_files=tool_files(versions[0]), release_files=extra)
    first = SyntheticRelease(versions[0], up.release, up.release_digest, dict(up.components))
    series = ReleaseSeries(up, {first.version: first}, kubevirt, tuple(changed))
    base = [_base_layer(seed, "amd64", layer_size, 1)]
    for version in versions[1:]:
        refs = dict(first.components)
        for name in changed:
            files = {**_component_files(name, version, "amd64", layer_size, seed), **tool_files(version).get(name, {})}
            m = push_image(client, COMPONENT_REPO, None, files, base_layers=base, compresslevel=1,
                           labels={"io.openshift.build.component": name, "version": version})
            refs[name] = f"{host}/{COMPONENT_REPO}@{m.digest}"
        tag = f"{version}-x86_64"
        m, _, _ = push_release_image(client, RELEASE_REPO, tag, version, refs, base_layers=base, seed=seed,
                                     release_files=extra)
        series.releases[version] = SyntheticRelease(version, f"{host}/{RELEASE_REPO}:{tag}", m.digest, refs)
    return series


# -- sigstore ------------------------------------------------------------------------------------------

def _compact(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def cosign_sign(client: RegistryClient | Writer, image: str, key: ec.EllipticCurvePrivateKey | None = None) -> Manifest:
    """Push ``<repo>:sha256-<hex>.sig`` for ``image`` (``host/repo@digest``) shaped as cosign writes it: a
    simple-signing payload layer with the ECDSA signature in its annotation, compact JSON."""
    repo_ref, digest = image.split("@")
    repo = repo_ref.split("/", 1)[1]
    payload = _compact({"critical": {"identity": {"docker-reference": repo_ref}, "image": {
        "docker-manifest-digest": digest}, "type": "cosign container image signature"}, "optional": None})
    key = key or ec.generate_private_key(ec.SECP256R1())
    signature = base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
    config = _compact({"architecture": "", "created": "0001-01-01T00:00:00Z",
                       "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
                       "rootfs": {"type": "layers", "diff_ids": [sha256_digest(payload)]}, "config": {}})
    for blob in (payload, config):
        push_blob(client, repo, blob)
    doc = {"schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST,
           "config": {"mediaType": mediatypes.OCI_CONFIG, "size": len(config), "digest": sha256_digest(config)},
           "layers": [{"mediaType": COSIGN_LAYER, "size": len(payload), "digest": sha256_digest(payload),
                       "annotations": {"dev.cosignproject.cosign/signature": signature}}]}
    data = _compact(doc)
    m = Manifest(data, mediatypes.OCI_MANIFEST, sha256_digest(data))
    as_writer(client).put_manifest(repo, digest.replace(":", "-") + ".sig", m)
    return m


def push_referrer(client: RegistryClient | Writer, image: str, subject: Manifest) -> Manifest:
    """An OCI 1.1 referrer of ``image`` (a sigstore bundle artifact whose ``subject`` is it), and, as on a
    registry without the referrers API, the ``sha256-<hex>`` index listing it (the tag schema fallback)."""
    repo = image.split("@")[0].split("/", 1)[1]
    bundle = _compact({"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                       "messageSignature": {"signature": base64.b64encode(random_bytes(image, 64)).decode()}})
    for blob in (bundle, EMPTY):
        push_blob(client, repo, blob)
    doc = {"schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST, "artifactType": BUNDLE_TYPE,
           "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256_digest(EMPTY), "size": 2,
                      "data": "e30="},
           "layers": [{"mediaType": BUNDLE_TYPE, "digest": sha256_digest(bundle), "size": len(bundle)}],
           "subject": {"mediaType": subject.media_type, "digest": subject.digest, "size": len(subject.data)},
           "annotations": {"dev.sigstore.bundle.content": "message-signature"}}
    data = _compact(doc)
    referrer = Manifest(data, mediatypes.OCI_MANIFEST, sha256_digest(data))
    writer = as_writer(client)
    writer.put_manifest(repo, referrer.digest, referrer)
    index = _compact({"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": [
        {"mediaType": referrer.media_type, "digest": referrer.digest, "size": len(data), "artifactType": BUNDLE_TYPE}]})
    writer.put_manifest(repo, subject.digest.replace(":", "-"), Manifest(index, mediatypes.OCI_INDEX, sha256_digest(index)))
    return referrer


def sign_series(client: RegistryClient | Writer, series: ReleaseSeries, *, release: str, referrer_of: str = "cli") -> None:
    """cosign-sign release ``release`` and give its ``referrer_of`` component a referrer (the other releases
    stay without sigstore signatures, for the warning and ``--require-sigstore``)."""
    rel = series.releases[release]
    writer = as_writer(client)
    sig = cosign_sign(client, rel.by_digest)
    series.signed_images[rel.by_digest] = sig.digest
    comp = rel.components[referrer_of]
    subject = writer.get_manifest(comp.split("@")[0].split("/", 1)[1], comp.split("@")[1])
    series.referrers[comp] = push_referrer(client, comp, subject).digest
