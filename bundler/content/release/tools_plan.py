"""``--extract-tools``: ``oc`` and ``openshift-install`` for this host's architecture.

How they travel: they do not travel twice. The binaries are files in payload images the bundle carries
anyway (``cli``, ``installer``, or ``cli-artifacts``/``installer-artifacts`` for another host
architecture), so export only checks that each file is there and records where it is (component, path,
size and sha256 of the file as the payload holds it). Import reads the file back from the mirror it just
pushed, writes the release-info markers as ``oc adm release extract --command`` does, with the MIRROR's
release location (what the disconnected install documentation has you extract), and writes it executable
(:mod:`.tools_render`). A separate copy in the bundle would add the binaries' size (hundreds of MB for a
real release) for nothing; reading them from the mirror proves the pushed payload is whole.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from ...errors import BundlerError
from ...oci import parse
from ...plan import PlanContext
from ..imagefs import image_config, read_files
from .tools import release_platform, tool_source

if TYPE_CHECKING:
    from . import ReleaseRecord

COMMANDS = ("oc", "openshift-install")


def plan_tools(ctx: PlanContext, record: ReleaseRecord) -> None:
    """Record in ``record.tools`` where each tool of this host's architecture is; a missing one fails
    the release's tools (by name), not the export."""
    host = ctx.release.tools_arch()
    where = f"release {record.version} ({record.image})"
    try:
        top = ctx.source.get_manifest(record.pinned)
        cfg = image_config(ctx.source, record.pinned, host)
    except BundlerError as exc:
        ctx.plan.fail(f"{record.image} tools", f"{where}: cannot read the release image config: {exc}")
        return
    arch = str(cfg.get("architecture") or "")
    tools: dict[str, Any] = {"arch": host, "platform": release_platform(str(cfg.get("os") or ""), arch, top.is_list)}
    for command in COMMANDS:
        try:
            tools[command] = _locate(ctx, record, command, host, arch)
        except BundlerError as exc:
            ctx.plan.fail(f"{record.image} {command}", f"{where}: {command} for linux/{host}: {exc}")
    record.tools = tools


def _locate(ctx: PlanContext, record: ReleaseRecord, command: str, host: str, arch: str) -> dict[str, Any]:
    src = tool_source(command, host, arch)
    image = record.components.get(src.image)
    if image is None:
        raise BundlerError(f"the payload has no {src.image} image (or it failed to pin)")
    found = read_files(ctx.source, parse(image), [src.path], host)
    if src.path not in found:
        raise BundlerError(f"{src.image} image {image} has no /{src.path}")
    data = found[src.path]
    return {"image": image, "component": src.image, "path": src.path, "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "injectRelease": src.inject_release}
