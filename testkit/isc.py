"""Writing and loading ImageSetConfigurations in tests: the document header, OCI layouts, warning lookup."""

from __future__ import annotations

import json
from pathlib import Path

from bundler import config

V2 = "mirror.openshift.io/v2alpha1"
V1 = "mirror.openshift.io/v1alpha2"


def isc(tmp_path: Path, body: str, api: str = V2, kind: str = "ImageSetConfiguration", **kw: bool) -> config.ImageSetConfig:
    p = tmp_path / "isc.yaml"
    p.write_text(f"kind: {kind}\napiVersion: {api}\n{body}")
    return config.load(p, require_content=kw.get("require_content", False))


def disc(tmp_path: Path, body: str, api: str = V2) -> config.DeleteImageSetConfig:
    p = tmp_path / "delete.yaml"
    p.write_text(f"kind: DeleteImageSetConfiguration\napiVersion: {api}\n{body}")
    return config.load_delete(p)


def layout(root: Path, name: str = "my-index") -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (d / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "a" * 64, "size": 1}]}))
    return d


def warned(cfg: config.ImageSetConfig | config.DeleteImageSetConfig, field: str, text: str) -> bool:
    return any(f": {field}: " in w and text in w for w in cfg.warnings)
