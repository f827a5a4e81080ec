"""Errors of the Helm content kind: each names the chart, its version and the file or URL at fault."""

from __future__ import annotations

from ...errors import BundlerError


class HelmError(BundlerError):
    """A chart, a chart repository or a template could not be used."""


class ChartError(HelmError):
    """A path or archive is not a chart, or the chart is malformed (Chart.yaml, values, archive)."""


class ChartRepositoryError(HelmError):
    """A classic chart repository failed: unreachable, refused, bad index or archive."""

    def __init__(self, message: str, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint)
        self.status = status


class ChartNotFoundError(ChartRepositoryError):
    """The chart, or the requested version of it, is not in the repository's index."""


class ChartAuthError(ChartRepositoryError):
    """The repository wants credentials (401) or refuses the ones given (403)."""


class TemplateError(HelmError):
    """A template expression could not be evaluated (unsupported, or an error helm would raise too).

    ``template`` is the template's full name (``chart/templates/x.yaml``), ``line`` its 1-based line."""

    def __init__(self, template: str, line: int, reason: str) -> None:
        super().__init__(f"{template}:{line}: {reason}")
        self.template = template
        self.line = line
        self.reason = reason
