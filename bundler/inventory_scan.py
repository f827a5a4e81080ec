"""``bundler inventory``: walk a mirror registry and write what it holds (:mod:`bundler.bundle.inventory`).

Repositories come from the distribution catalog (``GET /v2/_catalog``, paginated by ``Link``), filtered to
the given prefix. A registry that does not serve the catalog (some answer 404 or UNSUPPORTED, Quay only
lists what the user may see) is walked from the repositories named with ``--repository`` or read from an
earlier import's ``mapping.txt`` (``--mapping``); without either it is an error saying so. Each repository's
tags are listed, every tagged manifest is fetched (lists with their children) and every blob they name is
recorded once, with a repository that holds it.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urljoin

from .bundle.inventory import Inventory, RepositoryContent
from .errors import BundlerError, NotFoundError, RegistryError
from .mapping import split_target
from .oci import Manifest
from .progress import Printer
from .registry import RegistryClient

PAGE = 1000


def catalog(client: RegistryClient) -> list[str]:
    """Every repository the registry lists (following ``Link`` pages)."""
    repos: list[str] = []
    url = f"/v2/_catalog?n={PAGE}"
    while url:
        resp = client.request("GET", url, "", extra_scopes=("registry:catalog:*",))
        if resp.status_code in (404, 405) or (resp.status_code == 400 and "UNSUPPORTED" in resp.text):
            raise BundlerError(f"{client.registry} does not list its repositories (/v2/_catalog answered "
                               f"HTTP {resp.status_code})",
                               "name them with --repository (repeatable) or --mapping mapping.txt from an earlier import")
        if resp.status_code != 200:
            raise RegistryError(f"listing the repositories of {client.registry} failed: HTTP {resp.status_code}")
        repos += list(resp.json().get("repositories") or [])
        link = resp.headers.get("Link", "")
        m = re.search(r"<([^>]+)>", link)
        url = urljoin(client.base + "/", m.group(1)) if m else ""
    return repos


def repositories_from_mapping(path: Path, host: str) -> list[str]:
    """Mirror repositories (paths on ``host``) named in an import's ``mapping.txt`` (``source=mirror``)."""
    repos: set[str] = set()
    for line in path.read_text().splitlines():
        _, _, mirror = line.partition("=")
        if mirror.startswith(host + "/"):
            repos.add(re.split(r"@|:(?=[^/]*$)", mirror[len(host) + 1:])[0])
    return sorted(repos)


class _Walker:
    def __init__(self, client: RegistryClient, inv: Inventory) -> None:
        self.client = client
        self.inv = inv
        self.lock = threading.Lock()

    def repository(self, repo: str) -> None:
        content = RepositoryContent()
        for tag in self.client.list_tags(repo):
            try:
                m = self.client.get_manifest(repo, tag)
            except NotFoundError:
                continue  # deleted between the listing and now
            content.tags[tag] = m.digest
            self._tree(repo, m, content)
        with self.lock:
            self.inv.repositories[repo] = content

    def _tree(self, repo: str, m: Manifest, content: RepositoryContent) -> None:
        if m.digest in content.manifests:
            return
        content.manifests.append(m.digest)
        for child in m.children:
            self._tree(repo, self.client.get_manifest(repo, child.digest), content)
        with self.lock:
            for desc in m.blobs:
                self.inv.blobs.setdefault(desc.digest, repo)


def scan(client: RegistryClient, registry: str, repos: list[str] | None, workers: int, say: Printer) -> Inventory:
    _, prefix = split_target(registry)
    names = repos if repos else catalog(client)
    names = sorted(n for n in names if not prefix or n == prefix or n.startswith(prefix + "/"))
    inv = Inventory(registry)
    walker = _Walker(client, inv)
    with ThreadPoolExecutor(max(1, workers)) as pool:
        list(pool.map(walker.repository, names))
    say(f"{registry}: {len(inv.repositories)} repositories, "
        f"{sum(len(c.manifests) for c in inv.repositories.values())} manifests, {len(inv.blobs)} blobs")
    return inv
