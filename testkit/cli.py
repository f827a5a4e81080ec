"""Run the bundler CLI in-process for tests: exit code and everything it printed."""

from __future__ import annotations

from typer.testing import CliRunner

from bundler.cli import app

_runner = CliRunner()


def invoke(*args: object) -> tuple[int, str]:
    result = _runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output
