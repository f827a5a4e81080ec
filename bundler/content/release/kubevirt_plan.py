"""``mirror.platform.kubeVirtContainer: true``: carry the KubeVirt container disk the release's CoreOS
stream names (:mod:`.kubevirt` reads it), as a component of that release named like oc-mirror's tag
suffix (``kube-virt-container``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import BundlerError
from ...oci import parse
from ...plan import PlanContext
from .kubevirt import BOOTIMAGES, kubevirt_images, requested_keys

if TYPE_CHECKING:
    from . import ReleaseRecord


def plan_kubevirt(ctx: PlanContext, record: ReleaseRecord, bootimages: bytes | None) -> None:
    platform = ctx.config.platform
    where = f"release {record.version} ({record.image})"
    try:
        if bootimages is None:
            raise BundlerError(f"{where} has no /{BOOTIMAGES}: it names no KubeVirt container disk",
                               "drop mirror.platform.kubeVirtContainer for this release")
        keys = requested_keys(platform.architectures, [p.architecture for p in platform.platforms])
        images = kubevirt_images(bootimages, keys, f"{record.version} ({record.image})")
    except BundlerError as exc:
        ctx.plan.fail(f"{record.image} kube-virt-container", str(exc))
        return
    for image in images:
        try:
            pinned = ctx.pin("release-component", parse(image.image), label=image.name)
        except BundlerError as exc:
            ctx.plan.fail(image.image, f"{where} KubeVirt container disk {image.name} ({image.arch_key}): {exc}")
            continue
        record.components[image.name] = str(pinned.pinned)
