"""The OCI 1.1 referrers API (distribution-spec ``GET /v2/<name>/referrers/<digest>``): which manifests name
an image as their ``subject`` (signatures, SBOMs, attestations). A registry without the API answers 404;
clients then read the ``sha256-<hex>`` tag schema index instead (the caller's business).

A registry that implements the API "MUST NOT return a 404" to it (distribution-spec, "Listing Referrers"), so
one 404 says the host has none: it is not asked again (one request per image fewer on such registries)."""

from __future__ import annotations

import weakref
from typing import Any

from ..oci import mediatypes
from .client import RegistryClient

_WITHOUT_API: weakref.WeakSet[RegistryClient] = weakref.WeakSet()


def referrers(client: RegistryClient, repo: str, digest: str) -> list[dict[str, Any]] | None:
    """Descriptors of the manifests whose ``subject`` is ``digest``; None when the registry does not
    implement the API."""
    if client in _WITHOUT_API:
        return None
    resp = client.request("GET", f"/v2/{repo}/referrers/{digest}", repo, headers={"Accept": mediatypes.OCI_INDEX})
    try:
        if resp.status_code == 404:
            _WITHOUT_API.add(client)
        if resp.status_code != 200 or not resp.headers.get("Content-Type", "").startswith(mediatypes.OCI_INDEX):
            return None
        doc = resp.json()
    except ValueError:
        return None
    finally:
        resp.close()
    if not isinstance(doc, dict):
        return None
    return [d for d in doc.get("manifests") or [] if isinstance(d, dict)]
