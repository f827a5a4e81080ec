"""Every command's --help renders (texts such as HOST[:PORT][/PREFIX] must not be taken for markup)
and names the options an admin looks for."""

import pytest

from testkit.cli import invoke


@pytest.mark.parametrize(("command", "expected"), [
    ((), ["export", "import", "verify", "inspect", "quay", "mirror", "delete", "list", "keygen", "inventory"]),
    (("mirror",), ["--config", "--registry", "--output", "--max-nested-paths", "--pull-secret", "--dry-run",
                   "--src-tls-verify", "--dest-tls-verify", "--retry-times", "--retry-delay", "--parallel-images"]),
    (("delete",), ["--generate", "--plan", "--keep", "--registry", "--output"]),
    (("list",), ["releases", "operators"]),
    (("list", "releases"), ["--channel", "--version", "--repository", "--graph-url"]),
    (("list", "operators"), ["--catalog", "--package"]),
    (("export",), ["--config", "--output", "--authfile", "--ca-file", "--workers", "--split-size", "--dry-run",
                   "fat32", "--since", "--parity", "--sign-key"]),
    (("import",), ["--registry", "HOST[:PORT][/PREFIX]", "--output", "--authfile", "--ca-file", "--hostname",
                   "--port", "--data-dir", "--max-nested-paths", "--pull-secret", "--dest-tls-verify", "--verify-key"]),
    (("verify",), ["BUNDLE.sha256", "--verify-key", "--repair"]),
    (("keygen",), ["--output"]),
    (("inventory",), ["--registry", "HOST[:PORT][/PREFIX]", "--output", "--repository", "--mapping"]),
    (("inspect",), ["--json"]),
    (("quay",), ["up", "down", "status"]),
    (("quay", "down"), ["--purge"]),
])
def test_help(command: tuple[str, ...], expected: list[str]) -> None:
    code, output = invoke(*command, "--help")
    assert code == 0, output
    for word in expected:
        assert word in output, word


def test_verbose_shows_the_cause_of_an_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Without -v: one clear line. With -v: the underlying exception too (here the JSON decoder's)."""
    from typer.testing import CliRunner

    from bundler.cli import app

    bad = tmp_path / "auth.json"
    bad.write_text("{not json")
    cfg = tmp_path / "isc.yaml"
    cfg.write_text("apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\n"
                   "mirror:\n  additionalImages:\n  - name: registry.example/a/b:1\n")
    args = ["export", "-c", str(cfg), "-o", str(tmp_path / "b.tar.zst"), "--authfile", str(bad), "--dry-run"]
    plain = CliRunner().invoke(app, args)
    verbose = CliRunner().invoke(app, ["-v", *args])
    assert plain.exit_code == verbose.exit_code == 1
    assert f"error: auth file {bad} is not readable JSON" in plain.output
    assert "JSONDecodeError" not in plain.output
    assert "JSONDecodeError" in verbose.output and f"error: auth file {bad}" in verbose.output
