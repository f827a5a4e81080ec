"""Images for the stack: load them from an OCI layout into podman storage, and build the small
Docker Distribution image locally (the ``distribution`` flavor) from Debian's ``docker-registry`` binary.

Nothing here touches the network: the layout comes from the bundle, the binary from the host.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ..errors import BundlerError
from ..oci.image import build_image, image_config
from ..oci.layer import File, build_layer
from ..oci.layout import CONTAINERD_NAME, REF_NAME, OCILayout, index_entry
from ..oci.platform import host_go_arch
from .podman import podman_env, run

REGISTRY_BINARY = Path("/usr/bin/docker-registry")
DISTRIBUTION_IMAGE = "localhost/bundler/distribution:2.8"


def _entry_names(entry: dict[str, Any]) -> set[str]:
    ann = entry.get("annotations") or {}
    return {v for k, v in ann.items() if k in (REF_NAME, CONTAINERD_NAME) and v}


def _storage_name(ref: str) -> str:
    """The name an image gets in podman storage: the reference without its digest when it has a tag.

    containers-storage refuses a destination that carries a digest, so ``repo:tag@sha256:x`` becomes
    ``repo:tag`` and a digest-only ``repo@sha256:x`` becomes ``repo:sha256-x``.
    """
    name, _, digest = ref.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return name
    if digest:
        return f"{name}:{digest.replace(':', '-')}"
    return f"{name}:latest"


def load_images_from_layout(layout_dir: Path, refs: list[str]) -> dict[str, str]:
    """Copy images named by their ``ref.name`` annotation from an OCI layout into podman storage.

    Returns {ref as asked: name in podman storage}. Each image is copied through a one-entry view of
    the layout (its own index.json, the blobs directory linked), so any reference spelling works,
    digests included, whatever skopeo's ``oci:`` name syntax allows.
    """
    layout_dir = Path(layout_dir)
    try:
        index = json.loads((layout_dir / "index.json").read_text())
    except (OSError, ValueError) as exc:
        raise BundlerError(f"{layout_dir} is not an OCI layout: {exc}") from exc
    entries = index.get("manifests") or []
    out: dict[str, str] = {}
    for ref in refs:
        match = [e for e in entries if ref in _entry_names(e)]
        if not match:
            have = sorted(n for e in entries for n in _entry_names(e))
            raise BundlerError(f"image {ref} is not in the layout {layout_dir}",
                               f"it holds: {', '.join(have) or 'nothing named'}")
        target = _storage_name(ref)
        with tempfile.TemporaryDirectory(prefix="bundler-oci-") as tmp:
            view = Path(tmp)
            (view / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
            one = {k: v for k, v in match[0].items() if k != "annotations"}
            (view / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [one]}))
            (view / "blobs").symlink_to((layout_dir / "blobs").resolve())
            run(["skopeo", "copy", "--quiet", f"oci:{view}", f"containers-storage:{target}"],
                what=f"loading {ref} into podman storage")
        out[ref] = target
    return out


def _libs_of(binary: Path) -> list[Path]:
    """Shared libraries a dynamically linked binary needs (empty for a static one)."""
    try:
        res = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return []
    libs: list[Path] = []
    for line in res.stdout.splitlines():
        for tok in line.split():
            if tok.startswith("/") and Path(tok).exists():
                libs.append(Path(tok))
    return libs


def write_image_layout(layout_dir: Path, ref: str, files: list[tuple[str, Path | bytes, int]],
                       config: dict[str, Any]) -> str:
    """Write a single-layer OCI image of ``files`` (path in image, host file or bytes, mode) into a layout
    directory, named ``ref`` (replacing an image of that name); returns the manifest digest."""
    layer = build_layer({name: File(src if isinstance(src, bytes) else Path(src).read_bytes(), mode)
                         for name, src, mode in files}, created_by="bundler", dir_modes={"tmp": 0o1777})
    image = build_image([layer], image_config([layer], arch=host_go_arch(), config=config), oci=True,
                        style="compact")
    layout = OCILayout(layout_dir)
    for digest, data in image.blobs.items():
        layout.write_bytes(digest, data)
    m = image.manifest
    layout.write_bytes(m.digest, m.data)
    entries = [e for e in layout.read_index().get("manifests", []) if ref not in _entry_names(e)]
    layout.write_index([*entries, index_entry(m.media_type, m.digest, len(m.data), ref)])
    return m.digest


def distribution_layout(layout_dir: Path, ref: str = DISTRIBUTION_IMAGE, binary: Path = REGISTRY_BINARY) -> str:
    """Pack the host's Docker Distribution binary (and the libraries it links) into an OCI image."""
    if not binary.exists():
        raise BundlerError(f"{binary} not found: the distribution flavor packs the host's registry binary",
                           "install Debian's docker-registry package (apt-get install docker-registry)")
    files: list[tuple[str, Path | bytes, int]] = [("usr/bin/registry", binary, 0o755)]
    for lib in _libs_of(binary):
        files.append((str(lib).lstrip("/"), lib.resolve(), 0o755))
    files += [("etc/passwd", b"root:x:0:0:root:/:/sbin/nologin\n", 0o644),
              ("etc/group", b"root:x:0:\n", 0o644),
              ("tmp/.keep", b"", 0o644)]
    config = {"Entrypoint": ["/usr/bin/registry"], "Cmd": ["serve", "/etc/docker/registry/config.yml"],
              "ExposedPorts": {"5000/tcp": {}}, "Volumes": {"/var/lib/registry": {}},
              "Env": ["PATH=/usr/bin:/bin"]}
    return write_image_layout(layout_dir, ref, files, config)


def image_exists(ref: str) -> bool:
    res = subprocess.run(["podman", "image", "exists", ref], env=podman_env(), capture_output=True, check=False)
    return res.returncode == 0


def ensure_distribution_image(ref: str = DISTRIBUTION_IMAGE) -> str:
    """Build the distribution image into podman storage unless it is already there."""
    if image_exists(ref):
        return ref
    with tempfile.TemporaryDirectory(prefix="bundler-dist-") as tmp:
        distribution_layout(Path(tmp), ref)
        return load_images_from_layout(Path(tmp), [ref])[ref]


def podman_available() -> bool:
    return shutil.which("podman") is not None
