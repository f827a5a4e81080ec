"""Reading the samples operator image: which directory holds this architecture's image streams (4.6+ or
4.5-), and which images each stream names (DockerImage tags; ImageStreamTag entries are aliases)."""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ...errors import BundlerError, ConfigError
from ...oci import Reference, parse
from ...oci.platform import go_arch
from ...transport import Source
from ..imagefs import read_files

OPERATOR_ROOT = "opt/openshift/operator"


@dataclass
class ImageStreamInfo:
    """One sample image stream as read from the operator image."""

    name: str
    file: str
    images: list[str] = field(default_factory=list)     # DockerImage pull specs, in file order, unique
    aliases: list[str] = field(default_factory=list)    # tag names that are ImageStreamTag aliases
    repository: str = ""                                # spec.dockerImageRepository (deprecated), if set

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"file": self.file, "images": self.images}
        if self.aliases:
            doc["aliases"] = self.aliases
        if self.repository:
            doc["dockerImageRepository"] = self.repository
        return doc


def operator_dirs(arch_dir: str) -> tuple[str, str]:
    """The 4.6+ and the <=4.5 directory of the image streams for one architecture."""
    return f"{OPERATOR_ROOT}/{arch_dir}", f"{OPERATOR_ROOT}/ocp-{arch_dir}"


def is_imagestream_file(path: str) -> bool:
    return (path.startswith(OPERATOR_ROOT + "/") and "/imagestreams/" in path
            and path.rsplit(".", 1)[-1] in ("json", "yaml", "yml"))


def choose_root(paths: list[str], arch_dir: str) -> str | None:
    """The directory to read: the 4.6+ layout for ``arch_dir``, else the <=4.5 one, else None."""
    for root in operator_dirs(arch_dir):
        if any(p.startswith(root + "/") for p in paths):
            return root
    return None


def available_arch_dirs(paths: list[str]) -> list[str]:
    out: set[str] = set()
    for p in paths:
        parts = p[len(OPERATOR_ROOT) + 1:].split("/")
        if len(parts) > 1:
            out.add(parts[0])
    return sorted(out)


def _load(path: str, data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        pass
    try:
        return yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise BundlerError(f"/{path} is neither JSON nor YAML: {exc}") from exc


def stream_docs(doc: Any) -> list[dict[str, Any]]:
    """The ImageStream objects in a file (a single ImageStream or a List of them)."""
    if not isinstance(doc, dict):
        return []
    if doc.get("kind") == "ImageStream":
        return [doc]
    if str(doc.get("kind", "")).endswith("List"):
        return [d for d in doc.get("items") or [] if isinstance(d, dict) and d.get("kind") == "ImageStream"]
    return []


def parse_stream(doc: dict[str, Any], file: str) -> ImageStreamInfo:
    """Images and aliases of one ImageStream object."""
    name = str((doc.get("metadata") or {}).get("name") or posixpath.splitext(posixpath.basename(file))[0])
    spec = doc.get("spec") or {}
    info = ImageStreamInfo(name=name, file=file, repository=str(spec.get("dockerImageRepository") or ""))
    for tag in spec.get("tags") or []:
        src = (tag or {}).get("from") or {}
        kind = src.get("kind")
        if kind == "DockerImage" and src.get("name"):
            pull = str(src["name"]).strip()
            if pull not in info.images:
                info.images.append(pull)
        elif kind in ("ImageStreamTag", "ImageStreamImage"):
            info.aliases.append(str(tag.get("name", "")))
    return info


def parse_streams(files: dict[str, bytes], root: str) -> dict[str, ImageStreamInfo]:
    """Every image stream under ``root``, by name (a later file of the same name wins, as in the
    operator's inventory)."""
    streams: dict[str, ImageStreamInfo] = {}
    for path in sorted(files):
        if not path.startswith(root + "/") or not is_imagestream_file(path):
            continue
        for doc in stream_docs(_load(path, files[path])):
            info = parse_stream(doc, "/" + path)
            streams[info.name] = info
    return streams


def read_images_file(path: Path) -> list[Reference]:
    """One reference per line; ``#`` starts a comment; blank lines are ignored."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"mirror.samples.imagesFile {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read mirror.samples.imagesFile {path}: {exc.strerror}") from exc
    out: list[Reference] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            out.append(parse(line))
        except ConfigError as exc:
            raise ConfigError(f"{path} line {n}: {exc.message}") from exc
    return out


def read_operator_streams(source: Source, operator: Reference, arch_dir: str) -> tuple[str, dict[str, ImageStreamInfo]]:
    """(directory read, image streams) of a samples operator image, for ``arch_dir``."""
    files = read_files(source, operator, is_imagestream_file, arch=go_arch(arch_dir))
    paths = sorted(files)
    root = choose_root(paths, arch_dir)
    if root is None:
        found = available_arch_dirs(paths)
        raise BundlerError(
            f"{operator} has no image streams for {arch_dir} under /{OPERATOR_ROOT}/{arch_dir}/ (4.6+) "
            f"or /{OPERATOR_ROOT}/ocp-{arch_dir}/ (4.5 and earlier)"
            + (f"; it has {', '.join(found)}" if found else ""),
            "check that the release's cluster-samples-operator is an OpenShift samples operator image",
        )
    return "/" + root, parse_streams(files, root)
