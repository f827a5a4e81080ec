"""A registry client speaking the distribution API (OCI distribution-spec v1): manifests (digest-checked,
byte-exact), blobs (sha256-checked while they stream; redirects followed without sending credentials to
another host), monolithic uploads, cross-repository mounts, tags. Auth, retries and TLS: :mod:`.session`."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import requests

from ..auth import AuthStore
from ..errors import AuthError, DigestMismatchError, NotFoundError, RegistryError
from ..oci import Manifest, mediatypes
from .options import ConnectOptions
from .session import RegistrySession, _error_text, _short

CHUNK = 1 << 20


class RegistryClient(RegistrySession):
    """One registry host: the distribution API's verbs."""

    def ping(self) -> None:
        resp = self.request("GET", "/v2/", "")
        if resp.status_code not in (200, 401):
            raise RegistryError(f"{self.registry} does not speak the registry API (HTTP {resp.status_code})")

    def get_manifest(self, repo: str, ref: str) -> Manifest:
        """Fetch a manifest by tag or digest; a digest reference is verified."""
        resp = self.request("GET", f"/v2/{repo}/manifests/{ref}", repo, headers={"Accept": mediatypes.ACCEPT})
        where = f"{self.registry}/{repo}{'@' if ref.startswith('sha256:') else ':'}{ref}"
        if resp.status_code == 404:
            raise NotFoundError(f"image {where} not found", "check the name and tag", status=404)
        if resp.status_code == 403:
            raise AuthError(f"access to {where} is denied (HTTP 403)", "check the pull secret", status=403)
        if resp.status_code != 200:
            raise RegistryError(f"fetching {where} failed: HTTP {resp.status_code} {_error_text(resp)}")
        data = resp.content
        try:
            media_type = mediatypes.detect_media_type(data, resp.headers.get("Content-Type"))
        except ValueError:
            raise RegistryError(f"{where}: the manifest is not JSON") from None
        if media_type in mediatypes.SCHEMA1:
            raise RegistryError(
                f"{where} is a Docker schema1 manifest, which bundler refuses",
                "schema1 images are deprecated; mirror a newer tag of this image",
            )
        m = Manifest.from_bytes(data, resp.headers.get("Content-Type"))
        if ref.startswith("sha256:") and m.digest != ref:
            raise DigestMismatchError(f"{where}: registry served a manifest whose digest is {m.digest}")
        return Manifest(data, media_type, m.digest)

    def head_manifest(self, repo: str, ref: str) -> str | None:
        resp = self.request("HEAD", f"/v2/{repo}/manifests/{ref}", repo, headers={"Accept": mediatypes.ACCEPT})
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise RegistryError(f"checking {self.registry}/{repo}:{ref} failed: HTTP {resp.status_code}")
        return resp.headers.get("Docker-Content-Digest")

    def put_manifest(self, repo: str, ref: str, manifest: Manifest) -> str:
        """Push a manifest byte-exact under a tag or its digest; check the registry's digest."""
        resp = self.request(
            "PUT",
            f"/v2/{repo}/manifests/{ref}",
            repo,
            "pull,push",
            headers={"Content-Type": manifest.media_type},
            data=manifest.data,
        )
        where = f"{self.registry}/{repo}:{ref}"
        if resp.status_code not in (200, 201):
            raise RegistryError(f"pushing manifest {where} failed: HTTP {resp.status_code} {_error_text(resp)}")
        got = resp.headers.get("Docker-Content-Digest")
        if got and got != manifest.digest:
            raise DigestMismatchError(
                f"registry {self.registry} stored {repo} manifest as {got}, expected {manifest.digest}",
                "the registry rewrites manifests; use a registry that stores them byte-exact",
            )
        return manifest.digest

    def has_blob(self, repo: str, digest: str) -> bool:
        resp = self.request("HEAD", f"/v2/{repo}/blobs/{digest}", repo, allow_redirects=True)
        resp.close()
        if resp.status_code == 200:
            return True
        if resp.status_code == 404:
            return False
        raise RegistryError(f"checking blob {digest} in {self.registry}/{repo} failed: HTTP {resp.status_code}")

    def open_blob(self, repo: str, digest: str) -> requests.Response:
        """A streaming response for a blob, redirects followed without leaking credentials."""
        resp = self.request("GET", f"/v2/{repo}/blobs/{digest}", repo, stream=True, allow_redirects=False)
        hops = 0
        while resp.status_code in (301, 302, 303, 307, 308) and hops < 5:
            location = urljoin(resp.url, resp.headers["Location"])
            resp.close()
            same_host = urlparse(location).netloc == urlparse(self.base).netloc
            if same_host:
                resp = self.request("GET", location, repo, stream=True, allow_redirects=False)
            else:
                resp = self._send("GET", location, stream=True, allow_redirects=False)
            hops += 1
        if resp.status_code == 404:
            raise NotFoundError(f"blob {digest} not found in {self.registry}/{repo}", status=404)
        if resp.status_code != 200:
            raise RegistryError(f"fetching blob {digest} from {self.registry}/{repo} failed: HTTP {resp.status_code}")
        return resp

    def iter_blob(self, repo: str, digest: str) -> Iterator[bytes]:
        """Yield a blob's bytes, checking the sha256 as they stream; raise on mismatch at the end."""
        resp = self.open_blob(repo, digest)
        h = hashlib.sha256()
        complete = False
        try:
            for chunk in resp.iter_content(CHUNK):
                h.update(chunk)
                yield chunk
            complete = True
        except requests.exceptions.RequestException as exc:
            raise RegistryError(f"download of blob {digest} from {self.registry}/{repo} broke: {_short(exc)}") from exc
        finally:
            if complete:
                resp.raw.release_conn()  # fully read: the connection goes back to the pool (close() would drop it)
            resp.close()
        if "sha256:" + h.hexdigest() != digest:
            raise DigestMismatchError(f"blob {digest} from {self.registry}/{repo} hashed to sha256:{h.hexdigest()}")

    def get_blob(self, repo: str, digest: str) -> bytes:
        return b"".join(self.iter_blob(repo, digest))

    def mount_blob(self, repo: str, digest: str, from_repo: str) -> bool:
        """Cross-repository mount; True when the registry mounted it."""
        resp = self.request(
            "POST",
            f"/v2/{repo}/blobs/uploads/",
            repo,
            "pull,push",
            extra_scopes=(f"repository:{from_repo}:pull",),
            params={"mount": digest, "from": from_repo},
        )
        resp.close()
        if resp.status_code == 201:
            return True
        if resp.status_code == 202 and resp.headers.get("Location"):
            self.request("DELETE", urljoin(self.base + "/", resp.headers["Location"]), repo, "pull,push").close()
        return False

    def push_blob(self, repo: str, digest: str, size: int, opener: Callable[[], Any],
                  skip_present: bool = False) -> bool:
        """Monolithic upload: POST a session, PUT the bytes with ``?digest=``. The registry verifies.

        ``opener`` returns the blob as ``bytes`` or a ``memoryview`` (sent in one piece) or as a readable stream. With
        ``skip_present`` the POST asks to mount the blob from ``repo`` itself: a registry that has it there
        answers 201 and nothing is sent (returns False); one that does not opens the upload as usual (the
        existence check and the upload in one request instead of a HEAD first)."""
        params = {"mount": digest, "from": repo} if skip_present else None
        resp = self.request("POST", f"/v2/{repo}/blobs/uploads/", repo, "pull,push", params=params)
        if skip_present and resp.status_code == 201:
            resp.close()
            return False
        if resp.status_code != 202 or not resp.headers.get("Location"):
            raise RegistryError(
                f"starting upload of {digest} to {self.registry}/{repo} failed: HTTP {resp.status_code} {_error_text(resp)}"
            )
        location = urljoin(self.base + "/", resp.headers["Location"])
        sep = "&" if "?" in location else "?"
        resp = self.request(
            "PUT",
            f"{location}{sep}digest={digest}",
            repo,
            "pull,push",
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            data=body if isinstance(body := opener(), (bytes, memoryview)) else _Sized(body, size),
        )
        if resp.status_code != 201:
            raise RegistryError(
                f"upload of blob {digest} to {self.registry}/{repo} failed: HTTP {resp.status_code} {_error_text(resp)}"
            )
        return True

    def list_tags(self, repo: str) -> list[str]:
        """Every tag of ``repo``, page after page; [] when the registry does not know the repository."""
        tags = self.tag_pages(repo)
        return tags if tags is not None else []

    def tag_pages(self, repo: str, max_pages: int | None = None) -> list[str] | None:
        """The tags of ``repo``, following the distribution-spec's ``Link: <...>; rel="next"`` from page to
        page (Quay serves at most 100 a page); None when more than ``max_pages`` pages would be needed, or
        when the registry answers 404 without saying the repository is unknown (it may not list tags at all).
        Docker Distribution answers 404 NAME_UNKNOWN for a repository with no tag: [] then. Each next page is
        asked of this host, by its path and query only (as containers/image does): credentials never follow
        a link elsewhere."""
        path: str | None = f"/v2/{repo}/tags/list"
        tags: list[str] = []
        seen: set[str] = set()
        while path is not None:
            if path in seen:
                raise RegistryError(f"listing tags of {self.registry}/{repo}: the registry links page {path} twice")
            if max_pages is not None and len(seen) >= max_pages:
                return None
            seen.add(path)
            resp = self.request("GET", path, repo)
            if resp.status_code == 404 and len(seen) == 1:
                unknown = "NAME_UNKNOWN" in _error_text(resp)
                resp.close()
                return [] if unknown else None
            if resp.status_code != 200:
                raise RegistryError(f"listing tags of {self.registry}/{repo} failed: HTTP {resp.status_code} "
                                    f"{_error_text(resp)}")
            try:
                tags += [str(t) for t in resp.json().get("tags") or []]
            except (ValueError, AttributeError):
                raise RegistryError(f"listing tags of {self.registry}/{repo}: the answer is not a tag list") from None
            path = _next_page(resp)
        return tags


def _next_page(resp: requests.Response) -> str | None:
    """The path and query of a ``Link: <...>; rel="next"`` header (relative or absolute), or None."""
    link = resp.links.get("next", {}).get("url")
    if not link:
        return None
    target = urlparse(urljoin(resp.url, link))
    return target.path + (f"?{target.query}" if target.query else "")


class _Sized:
    """A file-like body with a known length so requests sends Content-Length, not chunked."""

    def __init__(self, fh: Any, size: int) -> None:
        self.fh = fh
        self.size = size

    def __len__(self) -> int:
        return self.size

    def read(self, n: int = -1) -> bytes:
        return bytes(self.fh.read(n))


class RegistryPool:
    """One client per registry host, sharing auth and TLS settings."""

    def __init__(self, auth: AuthStore | None = None, ca_file: str | Path | None = None,
                 options: ConnectOptions | None = None) -> None:
        self.auth = auth or AuthStore()
        self.ca_file = ca_file
        self.options = options
        self._clients: dict[str, RegistryClient] = {}
        self._lock = threading.Lock()

    @classmethod
    def of(cls, client: RegistryClient) -> RegistryPool:
        """A pool whose client for ``client.registry`` is ``client`` itself (its credentials, e.g. a robot's)."""
        pool = cls(client.auth)
        pool._clients[client.registry] = client
        return pool

    def get(self, registry: str) -> RegistryClient:
        with self._lock:
            if registry not in self._clients:
                self._clients[registry] = RegistryClient(registry, self.auth, self.ca_file, options=self.options)
            return self._clients[registry]

