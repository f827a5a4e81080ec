"""``bundler list``: what a user checks before writing a configuration.

* releases of a channel, through the update graph (the service oc-mirror asks: ``UPDATE_URL_OVERRIDE`` or
  ``--graph-url`` to point elsewhere), with the channel's head and, for ``--version``, its payload and the
  releases it updates to; or, with ``--repository`` (inside the air gap), the release tags a registry holds;
* operators of a catalog (a registry reference or ``oci://PATH``): packages, default channels, channel heads;
  for ``--package``: every channel with its entries and their versions.
"""

from __future__ import annotations

import re
from pathlib import Path

from .auth import AuthStore
from .config import ImageSetConfig
from .content.operators import load_catalog
from .content.operators.model import Catalog, parse_version
from .content.operators.select import channel_head
from .content.release.graph import GraphClient
from .content.release.semver import parse_version as release_version
from .errors import ConfigError
from .oci import parse
from .oci.reference import Reference
from .plan import Plan, PlanContext
from .progress import Printer
from .registry import ConnectOptions, RegistryClient, RegistryPool
from .transport import Source
from .transport.registry import RegistrySource
from .transport.routed import LocalLayout, RoutedSource


def list_releases(channel: str, say: Printer = print, *, version: str | None = None, arch: str = "amd64",
                  graph_url: str | None = None, ca_file: Path | None = None) -> list[str]:
    """The channel's releases, oldest first (the head last, marked); with ``version`` that release's payload
    and the versions it updates to."""
    graph = GraphClient(graph_url, ca_file=str(ca_file) if ca_file else None).graph(channel, arch)
    nodes = sorted(graph.nodes, key=lambda n: n.version)
    if version is not None:
        wanted = release_version(version, "--version")
        node = graph.node(wanted)
        if node is None:
            raise ConfigError(f"release {version} is not in channel {channel} ({arch})",
                              f"the channel has: {', '.join(str(n.version) for n in nodes)}")
        i = graph.nodes.index(node)
        targets = sorted({graph.nodes[b].version for a, b in graph.edges if a == i})
        say(f"{node.version}  {node.payload}")
        say(f"updates to: {', '.join(str(v) for v in targets) or '(none: it is the head)'}")
        return [str(node.version)]
    for n in nodes:
        say(f"{str(n.version):<24} {n.payload}{'  (channel head)' if n is nodes[-1] else ''}")
    say(f"{len(nodes)} releases in {channel} for {arch}; the head is {nodes[-1].version}")
    return [str(n.version) for n in nodes]


def list_release_tags(repository: str, say: Printer = print, *, version: str | None = None,
                      authfile: Path | None = None, ca_file: Path | None = None,
                      connect: ConnectOptions | None = None) -> list[str]:
    """The release tags a registry repository holds (``4.16.8-x86_64`` ...), version order."""
    ref = parse(repository if ":" in repository.rsplit("/", 1)[-1] else repository + ":latest")
    client = RegistryClient(ref.registry, AuthStore.load(authfile), ca_file, options=connect)
    tags = [t for t in client.list_tags(ref.repository) if re.match(r"^\d+\.\d+\.\d+", t)]
    if version:
        tags = [t for t in tags if t == version or t.startswith(version + "-")]
    tags.sort(key=lambda t: (release_version(t.split("-")[0]), t))
    for t in tags:
        say(f"{ref.name}:{t}")
    say(f"{len(tags)} release tags in {ref.name}")
    return tags


def _catalog_source(text: str, authfile: Path | None, ca_file: Path | None,
                    connect: ConnectOptions | None) -> tuple[Source, Reference]:
    upstream = RegistrySource(RegistryPool(AuthStore.load(authfile), ca_file, connect))
    if text.startswith("oci://"):
        path, _, digest = text[len("oci://"):].partition("@")
        layout = Path(path).absolute()
        if not (layout / "index.json").is_file():
            raise ConfigError(f"{text}: {layout} is not an OCI image layout (no index.json)")
        ref = Reference("oci-layout.invalid", "catalog", tag="latest")
        return RoutedSource(upstream, {ref.name: LocalLayout(layout, digest or None, text)}), ref
    return upstream, parse(text)


def read_catalog(text: str, authfile: Path | None = None, ca_file: Path | None = None,
                 connect: ConnectOptions | None = None) -> Catalog:
    source, ref = _catalog_source(text, authfile, ca_file, connect)
    pinned = ref.pin(source.get_manifest(ref).digest)
    ctx = PlanContext(config=ImageSetConfig(path=Path(text)), source=source, plan=Plan())
    return load_catalog(ctx, pinned)[0]


def list_operators(text: str, say: Printer = print, *, package: str | None = None, authfile: Path | None = None,
                   ca_file: Path | None = None, connect: ConnectOptions | None = None) -> Catalog:
    cat = read_catalog(text, authfile, ca_file, connect)
    if package is None:
        say(f"{'PACKAGE':<40} {'DEFAULT CHANNEL':<20} CHANNELS (head)")
        for name in sorted(cat.packages):
            pkg = cat.packages[name]
            heads = ", ".join(f"{c} ({channel_head(pkg.channels[c])})" for c in sorted(pkg.channels))
            say(f"{name:<40} {pkg.default_channel:<20} {heads}")
        say(f"{len(cat.packages)} packages in {text} ({cat.format})")
        return cat
    found = cat.packages.get(package)
    if found is None:
        raise ConfigError(f"package {package!r} is not in catalog {text}",
                          f"it has: {', '.join(sorted(cat.packages)) or '(none)'}")
    say(f"package {package}: default channel {found.default_channel}")
    for cname in sorted(found.channels):
        ch = found.channels[cname]
        say(f"  channel {cname}: head {channel_head(ch)}")
        for e in sorted(ch.entries, key=lambda e: _version_key(cat, package, e.name)):
            b = cat.bundle(package, e.name)
            say(f"    {e.name:<50} {(b.version if b else None) or '-':<14} {(b.image if b else '') or ''}")
    return cat


def _version_key(cat: Catalog, package: str, name: str) -> tuple[tuple[object, ...], str]:
    b = cat.bundle(package, name)
    v = parse_version(b.version if b else None)
    return (v._key() if v is not None else (), name)
