"""Import side of ``--extract-tools``: read ``oc``/``openshift-install`` from the mirrored payload, write the
release-info markers (:func:`.tools.injector`) with the mirror's release location, version and
architecture, and write them executable to ``tools/<version>/`` in the output directory."""

from __future__ import annotations

import hashlib
from typing import Any

from ...errors import BundlerError
from ...oci import parse
from ...outputs import OutputContext
from ..imagefs import read_files
from . import ReleaseRecord
from .tools import injector


def mirror_of(octx: OutputContext, ref: str) -> str | None:
    """Where a carried image (``repo@digest``) now lives in the mirror, by digest."""
    src = parse(ref)
    for img in octx.images:
        if img.source.name == src.name and img.digest == src.digest:
            return img.mirror_by_digest
    return None


def render_tools(octx: OutputContext, record: ReleaseRecord) -> None:
    if not record.tools:
        return
    release = mirror_of(octx, f"{parse(record.image).name}@{record.digest}")
    if octx.mirror is None or release is None:
        octx.notes.append(f"warning: release {record.version}: tools not written: the release image is not in the mirror")
        return
    for command in ("oc", "openshift-install"):
        spec = record.tools.get(command)
        if spec:
            try:
                _write(octx, record, command, spec, release)
            except BundlerError as exc:
                octx.notes.append(f"warning: release {record.version}: {command} not written: {exc}")


def _write(octx: OutputContext, record: ReleaseRecord, command: str, spec: dict[str, Any], release: str) -> None:
    image = mirror_of(octx, spec["image"])
    if image is None:
        raise BundlerError(f"its {spec['component']} image {spec['image']} is not in the mirror")
    arch = str(record.tools.get("arch") or "amd64")
    data = read_files(octx.mirror, parse(image), [spec["path"]], arch).get(spec["path"])
    if data is None or hashlib.sha256(data).hexdigest() != spec["sha256"]:
        raise BundlerError(f"{image} /{spec['path']} is missing or differs from what export recorded")
    inject = injector(command, release_image=release, version=record.version,
                      architecture=str(record.tools.get("platform") or ""))
    out = b"".join(inject.stream([data]))
    if inject.missing:
        octx.notes.append(f"warning: {command} {record.version}: no release-info marker to fill in (as oc warns: not all "
                          "expected replacements were made)")
    path = octx.outdir / "tools" / record.version / command
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{command}.tmp")
    tmp.write_bytes(out)
    tmp.chmod(0o755)
    tmp.replace(path)
    octx.written.append(path)
