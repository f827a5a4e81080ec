"""``mirror.platform.kubeVirtContainer``: the RHCOS KubeVirt container disk a release names.

oc-mirror (``internal/pkg/release/local_stored_collector.go`` ``getKubeVirtImages``,
``requestedKubeVirtArchKeys``; ``api/v2alpha1/type_kubevirt.go``): read the payload's
``release-manifests/0000_50_installer_coreos-bootimages.yaml`` (a ConfigMap), parse the CoreOS stream
JSON in ``data.stream`` and take ``architectures.<key>.images.kubevirt.digest-ref`` for each requested
key (``x86_64`` for amd64, ``s390x``; the other architectures carry no KubeVirt image). The image is
mirrored as ``openshift/release:<release tag>-kube-virt-container`` (``-<key>`` appended when several).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from ...errors import BundlerError

BOOTIMAGES = "release-manifests/0000_50_installer_coreos-bootimages.yaml"
ARCH_KEYS = {"amd64": "x86_64", "s390x": "s390x"}
ALL_KEYS = ("x86_64", "s390x")
NAME = "kube-virt-container"


@dataclass(frozen=True)
class KubeVirtImage:
    arch_key: str  # the stream's architecture key (x86_64, s390x)
    image: str  # digest-ref: repository@sha256:...
    name: str  # kube-virt-container[-<key>], oc-mirror's tag suffix
    rhcos: str  # the RHCOS build it was made from


def requested_keys(architectures: Sequence[str] = (), platforms: Sequence[str] = ()) -> list[str]:
    """The stream keys to read: from ``platforms`` (architecture names; all keys if none maps), else from
    ``architectures`` (``multi`` means all), else ``x86_64`` (oc-mirror ``requestedKubeVirtArchKeys``)."""
    if platforms:
        return [ARCH_KEYS[a] for a in platforms if a in ARCH_KEYS] or list(ALL_KEYS)
    if "multi" in architectures:
        return list(ALL_KEYS)
    return [ARCH_KEYS[a] for a in architectures if a in ARCH_KEYS] or ["x86_64"]


def kubevirt_images(bootimages: bytes | str, keys: Sequence[str], release: str) -> list[KubeVirtImage]:
    """The KubeVirt images of ``keys`` in a release's bootimages ConfigMap; none at all is an error."""
    where = f"release {release}: /{BOOTIMAGES}"
    try:
        stream = json.loads((yaml.safe_load(bootimages) or {})["data"]["stream"])
        arches = stream["architectures"]
    except (yaml.YAMLError, ValueError, KeyError, TypeError) as exc:
        raise BundlerError(f"{where} has no CoreOS stream (data.stream with architectures)",
                           "the release predates KubeVirt container disks; drop kubeVirtContainer") from exc
    out = []
    for key in keys:
        kubevirt = (((arches.get(key) or {}).get("images") or {}).get("kubevirt") or {})
        if kubevirt.get("digest-ref"):
            name = NAME if len(keys) == 1 else f"{NAME}-{key}"
            out.append(KubeVirtImage(key, str(kubevirt["digest-ref"]), name, str(kubevirt.get("release", ""))))
    if not out:
        raise BundlerError(f"{where} names no KubeVirt container image for {', '.join(keys)}",
                           "KubeVirt disks exist for x86_64 and s390x only; drop kubeVirtContainer")
    return out
