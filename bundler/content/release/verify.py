"""Release signatures at export: fetch each release digest's signatures from the store, verify them with the
release key, keep the verified ones (the store's bytes, unchanged) in the release record for import's
ConfigMap. A release without an acceptable signature stops the export, unless the admin said
``--ignore-release-signature`` (then nothing is fetched, as in oc-mirror)."""

from __future__ import annotations

import base64
from typing import Any

from ...plan import PlanContext
from .signatures import ReleaseSignature, SignatureStore, release_keyring, release_signatures


class Verifier:
    """The store and the key, set up once per export."""

    def __init__(self, ctx: PlanContext) -> None:
        opts = ctx.release
        self.ctx = ctx
        self.keyring = release_keyring(opts.release_key)
        self.store = SignatureStore(ca_file=str(opts.ca_file) if opts.ca_file else None)

    def verify(self, digest: str, label: str) -> list[dict[str, Any]]:
        """The verified signatures of ``digest`` as record entries; raises a SignatureError naming ``label``."""
        sigs, warnings = release_signatures(self.store, digest, self.keyring, release=label)
        self.ctx.plan.warnings.extend(warnings)
        return [to_json(s) for s in sigs]


def verifier(ctx: PlanContext) -> Verifier | None:
    return None if ctx.release.ignore_release_signature else Verifier(ctx)


def to_json(sig: ReleaseSignature) -> dict[str, Any]:
    return {"index": sig.index, "data": base64.b64encode(sig.data).decode(), "key": sig.key,
            "reference": sig.reference}


def from_json(digest: str, doc: dict[str, Any]) -> ReleaseSignature:
    return ReleaseSignature(digest, int(doc["index"]), base64.b64decode(doc["data"]), str(doc.get("reference", "")),
                            str(doc.get("key", "")))
