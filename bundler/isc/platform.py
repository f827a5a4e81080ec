"""``mirror.platform`` (and ``delete.platform``) and ``platforms`` lists.

Sources: oc-mirror internal/pkg/api/v2alpha1/type_config.go (Platform, ReleaseChannel),
type_platform.go (PlatformType, InstancePlatformFilter), config/validate.go (duplicate channels,
platforms vs architectures), release/cincinnati.go (what the fields select).
"""

from __future__ import annotations

import re
from typing import Any

from .reader import Reader
from .settings import Platform, PlatformSpec, ReleaseChannel
from .support import pending

# Values the update graph answers for (oc-mirror passes them as ?arch=; v1 docs list the same).
RELEASE_ARCHITECTURES = ("amd64", "arm64", "ppc64le", "s390x", "multi")
# Go's GOARCH / GOOS values, which OCI image indexes use in platform.architecture / platform.os.
GOARCH = ("386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle", "ppc64",
          "ppc64le", "riscv64", "s390x", "wasm")
GOOS = ("aix", "android", "darwin", "dragonfly", "freebsd", "illumos", "ios", "js", "linux", "netbsd",
        "openbsd", "plan9", "solaris", "wasip1", "windows")
_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "ppc64el": "ppc64le", "i386": "386"}
# blang/semver Parse, which oc-mirror applies to channel versions when it resolves them
SEMVER_STRICT = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")

PLATFORM_FIELDS = ("graph", "channels", "architectures", "platforms", "release", "kubeVirtContainer")
CHANNEL_FIELDS = ("name", "type", "minVersion", "maxVersion", "shortestPath", "full")


def read_platform(r: Reader, value: Any, fpath: str) -> PlatformSpec:
    doc = r.fields(value, fpath, (*PLATFORM_FIELDS, "releases"))
    spec = PlatformSpec(
        graph=r.boolean(doc.get("graph"), f"{fpath}.graph"),
        kubevirt_container=r.boolean(doc.get("kubeVirtContainer"), f"{fpath}.kubeVirtContainer"),
        architectures=_architectures(r, doc.get("architectures"), f"{fpath}.architectures"),
        platforms=read_platforms(r, doc.get("platforms"), f"{fpath}.platforms"),
        channels=_channels(r, doc.get("channels"), f"{fpath}.channels"),
    )
    if spec.platforms and spec.architectures:
        raise r.error(f"{fpath}.platforms", "cannot be used together with platform.architectures",
                      "keep one: platforms (os/architecture pairs of the multi payload) or architectures "
                      "(deprecated: one payload per architecture), as oc-mirror requires")
    if doc.get("release") is not None:
        spec.release = r.ref(doc["release"], f"{fpath}.release")
    spec.releases = _releases(r, doc.get("releases"), f"{fpath}.releases")
    _notes(r, spec, fpath)
    return spec


def _notes(r: Reader, spec: PlatformSpec, fpath: str) -> None:
    if spec.release is not None and spec.channels:
        r.warn(f"{fpath}.channels", f"is ignored because {fpath}.release is set (oc-mirror mirrors only the "
                                    "named release then); remove one of them")
        spec.channels = []
    used = {"channels": spec.channels, "graph": spec.graph, "kubeVirtContainer": spec.kubevirt_container,
            "platforms": spec.platforms, "architectures": spec.architectures and spec.channels}
    for key, value in used.items():
        if value:
            pending(r, f"{fpath}.{key}", f"platform.{key}")


def read_platforms(r: Reader, value: Any, fpath: str) -> list[Platform]:
    out: list[Platform] = []
    for i, item in enumerate(r.seq(value, fpath)):
        ipath = f"{fpath}[{i}]"
        if isinstance(item, str) and "/" in item:  # the "os/arch" string form of --platform flags
            raise r.error(ipath, f"must be a mapping {{os: ..., architecture: ...}}, not the string {item!r}",
                          f"write: {{os: {item.split('/')[0]}, architecture: {item.split('/', 1)[1]}}}")
        doc = r.fields(item, ipath, ("os", "architecture"))
        os_ = r.string(doc.get("os"), f"{ipath}.os")
        arch = r.string(doc.get("architecture"), f"{ipath}.architecture")
        if os_ not in GOOS:
            raise r.error(f"{ipath}.os", f"{os_!r} is not an operating system of image platforms",
                          f"one of: {', '.join(GOOS)}")
        if arch not in GOARCH:
            raise r.error(f"{ipath}.architecture", f"{arch!r} is not an architecture of image platforms",
                          _arch_hint(arch, GOARCH))
        out.append(Platform(os_, arch))
    return out


def _architectures(r: Reader, value: Any, fpath: str) -> list[str]:
    out = []
    for i, arch in enumerate(r.strings(value, fpath)):
        if arch not in RELEASE_ARCHITECTURES:
            raise r.error(f"{fpath}[{i}]", f"{arch!r} is not a release architecture",
                          _arch_hint(arch, RELEASE_ARCHITECTURES))
        out.append(arch)
    return out


def _arch_hint(arch: str, allowed: tuple[str, ...]) -> str:
    alias = _ALIASES.get(arch.lower())
    known = f"one of: {', '.join(allowed)}"
    return f"{arch} is called {alias} here; {known}" if alias else known


def _channels(r: Reader, value: Any, fpath: str) -> list[ReleaseChannel]:
    out: list[ReleaseChannel] = []
    seen: set[str] = set()
    for i, item in enumerate(r.seq(value, fpath)):
        ch = _channel(r, item, f"{fpath}[{i}]")
        if ch.name in seen:
            raise r.error(f"{fpath}[{i}].name", f"release channel {ch.name!r} is listed twice")
        seen.add(ch.name)
        out.append(ch)
    return out


def _channel(r: Reader, value: Any, cpath: str) -> ReleaseChannel:
    doc = r.fields(value, cpath, CHANNEL_FIELDS)
    ch = ReleaseChannel(
        name=r.string(doc.get("name"), f"{cpath}.name"),
        type=r.opt_string(doc.get("type"), f"{cpath}.type") or "ocp",
        min_version=_version(r, doc.get("minVersion"), f"{cpath}.minVersion"),
        max_version=_version(r, doc.get("maxVersion"), f"{cpath}.maxVersion"),
        shortest_path=r.boolean(doc.get("shortestPath"), f"{cpath}.shortestPath"),
        full=r.boolean(doc.get("full"), f"{cpath}.full"),
    )
    if ch.type not in ("ocp", "okd"):
        # oc-mirror's UnmarshalJSON maps an unknown type to ocp without a word; bundler refuses it
        raise r.error(f"{cpath}.type", f"{ch.type!r} is not a platform type", "ocp (the default) or okd")
    if ch.min_version and ch.max_version and _key(ch.max_version) < _key(ch.min_version):
        raise r.error(f"{cpath}.maxVersion", f"{ch.max_version} is lower than minVersion {ch.min_version}")
    return ch


def _version(r: Reader, value: Any, fpath: str) -> str | None:
    text = r.opt_string(value, fpath)
    if text is not None and not SEMVER_STRICT.match(text):
        raise r.error(fpath, f"{text!r} is not a release version", "MAJOR.MINOR.PATCH, e.g. 4.15.3 or 4.16.0-rc.2")
    return text


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.split(r"[-+]", version, maxsplit=1)[0].split("."))


def _releases(r: Reader, value: Any, fpath: str) -> list[Any]:
    """bundler's ``releases`` list: pullspecs, or ``- name: <pullspec>`` like additionalImages."""
    out = []
    for i, rel in enumerate(r.seq(value, fpath)):
        if isinstance(rel, dict):
            doc = r.fields(rel, f"{fpath}[{i}]", ("name",))
            out.append(r.ref(doc.get("name"), f"{fpath}[{i}].name"))
        else:
            out.append(r.ref(rel, f"{fpath}[{i}]"))
    return out
