"""Every command's --help renders (texts such as HOST[:PORT][/PREFIX] must not be taken for markup)
and names the options an admin looks for."""

import pytest

from testkit.cli import invoke


@pytest.mark.parametrize(("command", "expected"), [
    ((), ["export", "import", "verify", "inspect", "quay", "mirror", "delete", "list"]),
    (("mirror",), ["--config", "--registry", "--output", "--max-nested-paths", "--pull-secret", "--dry-run",
                   "--src-tls-verify", "--dest-tls-verify", "--retry-times", "--retry-delay", "--parallel-images"]),
    (("delete",), ["--generate", "--plan", "--keep", "--registry", "--output"]),
    (("list",), ["releases", "operators"]),
    (("list", "releases"), ["--channel", "--version", "--repository", "--graph-url"]),
    (("list", "operators"), ["--catalog", "--package"]),
    (("export",), ["--config", "--output", "--authfile", "--ca-file", "--workers", "--split-size", "--dry-run"]),
    (("import",), ["--registry", "HOST[:PORT][/PREFIX]", "--output", "--authfile", "--ca-file", "--hostname",
                   "--port", "--data-dir", "--max-nested-paths", "--pull-secret", "--dest-tls-verify"]),
    (("verify",), ["BUNDLE.sha256"]),
    (("inspect",), ["--json"]),
    (("quay",), ["up", "down", "status"]),
    (("quay", "down"), ["--purge"]),
])
def test_help(command: tuple[str, ...], expected: list[str]) -> None:
    code, output = invoke(*command, "--help")
    assert code == 0, output
    for word in expected:
        assert word in output, word
