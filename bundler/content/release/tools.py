"""``oc`` and ``openshift-install`` out of a release payload, as ``oc adm release extract --command`` does.

From openshift/oc ``pkg/cli/admin/release/extract_tools.go``: for Linux, a tool for the release's own
architecture comes from the ``cli`` image (``usr/bin/oc``) or the ``installer`` image
(``usr/bin/openshift-install``); for another host architecture from ``cli-artifacts``
(``usr/share/openshift/linux_<arch>/oc``) or ``installer-artifacts``
(``usr/share/openshift/linux_<arch>/openshift-install``; amd64 and arm64 only). Image names are tags of the
payload's ``image-references``. While copying, the first occurrence of each marker is overwritten with
the value and a NUL: ``openshift-install`` gets the release image (``repo@digest``; the manifest-list
digest for a multi payload), version and architecture; ``oc`` the version only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ...errors import BundlerError

_X = b"X"
# the markers as they appear in the binaries: oc's constants with the leading '!' replaced by NUL
RELEASE_IMAGE_MARKER = b"\x00_RELEASE_IMAGE_LOCATION_\x00" + _X * 300 + b"\x00"
RELEASE_VERSION_MARKER = b"\x00_RELEASE_VERSION_LOCATION_\x00" + _X * 64 + b"\x00"
RELEASE_ARCH_MARKER = b"\x00_RELEASE_ARCHITECTURE_LOCATION_\x00" + _X * 64 + b"\x00"
CROSS_ARCH = {"oc": ("amd64", "arm64", "ppc64le"), "openshift-install": ("amd64", "arm64")}


@dataclass(frozen=True)
class ToolSource:
    """Where a tool is in the payload: the ``image-references`` tag and the file path in that image."""

    command: str
    image: str
    path: str
    inject_release: bool  # release image + architecture (openshift-install); every tool gets the version


def tool_source(command: str, host_arch: str, release_arch: str) -> ToolSource:
    """The image and path of ``command`` (oc | openshift-install) for a Linux host of ``host_arch``
    (amd64, arm64, ppc64le, s390x) from a payload whose image config architecture is ``release_arch``
    (for a multi payload, the architecture of the manifest chosen for this host)."""
    if command not in CROSS_ARCH:
        raise BundlerError(f"tool {command!r} is not one of oc, openshift-install")
    install = command == "openshift-install"
    if host_arch == release_arch:
        return ToolSource(command, "installer" if install else "cli", f"usr/bin/{command}", install)
    if host_arch not in CROSS_ARCH[command]:
        raise BundlerError(f"the release ({release_arch}) carries no {command} for linux/{host_arch}",
                           "extract it on a host of the release's architecture")
    image = "installer-artifacts" if install else "cli-artifacts"
    return ToolSource(command, image, f"usr/share/openshift/linux_{host_arch}/{command}", install)


def release_platform(os_name: str, arch: str, manifest_list: bool) -> str:
    """The architecture string oc records (``ReleaseInfo.Platform``): ``linux/amd64``, or
    ``multi (linux/amd64)`` for a payload pulled through a manifest list."""
    platform = f"{os_name or 'unknown'}/{arch or 'unknown'}"
    return f"multi ({platform})" if manifest_list else platform


@dataclass
class Injector:
    """Streams a binary, replacing the first occurrence of each marker (oc ``copyAndReplace``)."""

    values: dict[bytes, str]
    replaced: set[bytes] = field(default_factory=set)

    def __post_init__(self) -> None:
        for marker, value in self.values.items():
            if len(value.encode()) > len(marker) - 1:
                raise BundlerError(f"value {value!r} is longer than the {len(marker) - 1} bytes its marker holds")

    @property
    def missing(self) -> list[bytes]:
        """Markers that were never found (oc warns: "Unable to make all expected replacements")."""
        return [m for m in self.values if m not in self.replaced]

    def stream(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        keep = max((len(m) for m in self.values), default=0)
        buf = bytearray()
        for chunk in chunks:
            buf += chunk
            self._replace(buf)
            if len(self.replaced) == len(self.values):
                yield bytes(buf)
                buf.clear()
                keep = 0
                continue
            if len(buf) > keep:
                cut = len(buf) - keep
                yield bytes(buf[:cut])
                del buf[:cut]
        if buf:
            yield bytes(buf)

    def _replace(self, buf: bytearray) -> None:
        for marker, value in self.values.items():
            if marker in self.replaced:
                continue
            at = buf.find(marker)
            if at >= 0:
                data = value.encode() + b"\x00"
                buf[at:at + len(data)] = data
                self.replaced.add(marker)


def injector(command: str, *, release_image: str, version: str, architecture: str) -> Injector:
    """The replacements ``oc adm release extract --command`` makes in ``command``."""
    values = {RELEASE_VERSION_MARKER: version}
    if command == "openshift-install":
        values = {RELEASE_IMAGE_MARKER: release_image, **values, RELEASE_ARCH_MARKER: architecture}
    return Injector(values)
