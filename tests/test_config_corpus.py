"""A set of realistic configurations (tests/data/isc/, written for bundler in the shapes oc-mirror's
documentation shows) covering every field: how many load, how many bundler can export from today, and
that each one that does not fails for its stated reason, with its warnings printed first."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bundler import config
from bundler.config import ConfigLoadError
from bundler.isc.support import NOT_APPLICABLE, PENDING
from testkit.cli import invoke

DATA = Path(__file__).parent / "data" / "isc"

# file -> None when bundler exports from it today, else the reason load() refuses it
EXPECTED: dict[str, str | None] = {
    "release-pinned.yaml": None,
    "operators-filtered.yaml": None,
    "operators-oci.yaml": None,
    "blocked-and-samples.yaml": None,
    "helm.yaml": None,
    "v1-local-storage.yaml": None,
    "v1-registry-backend.yaml": None,
    "bundler-extensions.yaml": None,
    "platforms-multi.yaml": None,
    "channels-eus.yaml": "names nothing bundler can carry yet",
    "channels-only.yaml": "names nothing bundler can carry yet",
    "okd.yaml": "names nothing bundler can carry yet",
}
DELETE = ["delete.yaml"]

# every field of oc-mirror's v2alpha1 and v1alpha2 types (dotted, lists as [])
FIELDS = """
apiVersion kind archiveSize storageConfig.local.path storageConfig.registry.imageURL storageConfig.registry.skipTLS
mirror.platform.graph mirror.platform.release mirror.platform.kubeVirtContainer mirror.platform.architectures
mirror.platform.platforms[].os mirror.platform.platforms[].architecture mirror.platform.channels[].name
mirror.platform.channels[].type mirror.platform.channels[].minVersion mirror.platform.channels[].maxVersion
mirror.platform.channels[].shortestPath mirror.platform.channels[].full
mirror.operators[].catalog mirror.operators[].full mirror.operators[].skipDependencies mirror.operators[].targetCatalog
mirror.operators[].targetTag mirror.operators[].targetCatalogSourceTemplate mirror.operators[].platforms[].os
mirror.operators[].targetName mirror.operators[].originalRef
mirror.operators[].packages[].name mirror.operators[].packages[].defaultChannel mirror.operators[].packages[].minVersion
mirror.operators[].packages[].maxVersion mirror.operators[].packages[].minBundle
mirror.operators[].packages[].channels[].name mirror.operators[].packages[].channels[].minVersion
mirror.operators[].packages[].channels[].maxVersion
mirror.additionalImages[].name mirror.additionalImages[].targetRepo mirror.additionalImages[].targetTag
mirror.additionalImages[].platforms[].architecture mirror.blockedImages[].name mirror.samples[].name
mirror.helm.repositories[].name mirror.helm.repositories[].url mirror.helm.repositories[].charts[].name
mirror.helm.repositories[].charts[].version mirror.helm.repositories[].charts[].imagePaths
mirror.helm.repositories[].charts[].platforms[].os mirror.helm.local[].name mirror.helm.local[].path
delete.platform.channels[].name delete.platform.graph delete.operators[].catalog delete.operators[].packages[].name
delete.additionalImages[].name delete.helm.repositories[].charts[].name delete.samples[].name
""".split()


def _paths(node: Any, prefix: str = "") -> set[str]:
    out = {prefix} if prefix else set()
    if isinstance(node, dict):
        for k, v in node.items():
            out |= _paths(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(node, list):
        for v in node:
            out |= _paths(v, f"{prefix}[]")
    return out


def _load_all() -> dict[str, config.ImageSetConfig | config.DeleteImageSetConfig]:
    loaded: dict[str, config.ImageSetConfig | config.DeleteImageSetConfig] = {
        name: config.load(DATA / name, require_content=False) for name in EXPECTED}
    loaded.update({name: config.load_delete(DATA / name) for name in DELETE})
    return loaded


def test_every_realistic_config_is_listed() -> None:
    assert sorted(p.name for p in DATA.glob("*.yaml")) == sorted([*EXPECTED, *DELETE])


def test_how_many_load_and_how_many_export_today() -> None:
    loaded = _load_all()
    assert len(loaded) == 13  # every one of them reads without error
    exportable = [name for name, reason in EXPECTED.items() if reason is None]
    assert len(exportable) == 9
    for name, reason in EXPECTED.items():
        if reason is None:
            assert config.load(DATA / name).carried_today()
            continue
        with pytest.raises(ConfigLoadError) as e:
            config.load(DATA / name)
        assert reason in e.value.message
        assert e.value.warnings, name  # the warnings explain why


def test_the_set_covers_every_field() -> None:
    seen: set[str] = set()
    for cfg in _load_all().values():
        seen |= {re.sub(r"(?i)additionalimages", "additionalImages", re.sub(r"(?i)blockedimages", "blockedImages", p))
                 for p in _paths(cfg.raw)}
    missing = [f for f in FIELDS if f not in seen]
    assert not missing, missing


def test_every_unapplied_field_is_warned_about_in_the_set() -> None:
    warnings = [w for cfg in _load_all().values() for w in cfg.warnings]
    for key, text in [*PENDING.items(), *NOT_APPLICABLE.items()]:
        head = text.split("{")[0][:40]
        assert any(head in w for w in warnings), key
    assert all(re.match(r".+\.yaml line \d+: [\w.\[\]]+: ", w) for w in warnings)


def test_typed_settings_of_the_set() -> None:
    loaded = _load_all()
    oci = loaded["operators-oci.yaml"]
    assert isinstance(oci, config.ImageSetConfig)
    cat = oci.operators[0]
    assert cat.layout is not None and cat.layout.path == DATA / "files" / "catalogs" / "certified-index"
    assert (cat.mirror_repository, cat.mirror_tag) == ("certified/certified-index", "v4.16")
    tpl = cat.catalog_source_template
    assert tpl is not None and tpl.document["spec"]["grpcPodConfig"]["securityContextConfig"] == "restricted"
    eus = loaded["channels-eus.yaml"]
    assert isinstance(eus, config.ImageSetConfig)
    assert [c.name for c in eus.platform.channels] == ["eus-4.14", "stable-4.15", "eus-4.16"]
    assert eus.platform.graph and eus.platform.release_architectures == ["amd64", "arm64"]
    v1 = loaded["v1-local-storage.yaml"]
    assert isinstance(v1, config.ImageSetConfig)
    assert v1.api_version.endswith("v1alpha2") and v1.storage_config is not None and v1.archive_size == 1024 ** 3
    deletion = loaded["delete.yaml"]
    assert isinstance(deletion, config.DeleteImageSetConfig) and deletion.platform.channels[0].min_version == "4.15.20"


def test_export_prints_the_warnings_before_the_error(tmp_path: Path) -> None:
    code, output = invoke("export", "-c", DATA / "channels-only.yaml", "-o", tmp_path / "b.tar.zst")
    assert code == 1, output
    warning = output.index("warning: ")
    error = output.index("error: ")
    assert warning < error
    assert "channels-only.yaml line 6: mirror.platform.channels: release channels are not resolved yet" in output
    assert "names nothing bundler can carry yet" in output[error:]
    assert not (tmp_path / "b.tar.zst").exists()


def test_export_refuses_a_delete_configuration(tmp_path: Path) -> None:
    code, output = invoke("export", "-c", DATA / "delete.yaml", "-o", tmp_path / "b.tar.zst")
    assert code == 1
    assert "delete.yaml line 3: kind: this is a DeleteImageSetConfiguration" in output
