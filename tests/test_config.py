"""ImageSetConfiguration parsing: fields, warnings naming unsupported fields, errors naming the line."""

from pathlib import Path

import pytest

from bundler.config import load, loads
from bundler.errors import ConfigError

GOOD = """\
kind: ImageSetConfiguration
apiVersion: mirror.openshift.io/v2alpha1
mirror:
  platform:
    release: quay.io/openshift-release-dev/ocp-release:4.4.5-x86_64
    channels:
    - name: stable-4.4
  additionalImages:
  - name: registry.redhat.io/ubi8/ubi:8.4
  - name: quay.io/a/b@sha256:%s
""" % ("b" * 64)


def test_good_config() -> None:
    cfg = loads(GOOD, Path("isc.yaml"))
    assert [str(r) for r in cfg.releases] == ["quay.io/openshift-release-dev/ocp-release:4.4.5-x86_64"]
    assert [r.name for r in cfg.additional_images] == ["registry.redhat.io/ubi8/ubi", "quay.io/a/b"]
    assert cfg.warnings == ["isc.yaml line 6: mirror.platform.channels: is ignored because mirror.platform.release "
                            "is set (oc-mirror mirrors only the named release then); remove one of them"]


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    p = tmp_path / "isc.yaml"
    p.write_text("kind: ImageSetConfiguration\nmirror:\n  additionalImages:\n  - name: [oops\n")
    with pytest.raises(ConfigError, match=r"isc.yaml line \d+: not valid YAML"):
        load(p)


def test_bad_reference_names_field_and_line() -> None:
    text = GOOD.replace("registry.redhat.io/ubi8/ubi:8.4", "NOT A REF")
    with pytest.raises(ConfigError) as e:
        loads(text, Path("isc.yaml"))
    assert "isc.yaml line 9: mirror.additionalImages[0].name" in str(e.value)


def test_wrong_kind_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="kind: must be ImageSetConfiguration"):
        loads(GOOD.replace("kind: ImageSetConfiguration", "kind: Pod"))
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "missing.yaml")


def test_empty_mirror_is_an_error() -> None:
    with pytest.raises(ConfigError, match="mirror"):
        loads("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror: {}\n")
