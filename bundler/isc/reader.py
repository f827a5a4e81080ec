"""Reading an oc-mirror configuration document: typed getters whose errors and warnings name the file,
the line and the field (``mirror.operators[0].packages[1].name``).

oc-mirror decodes with Go's ``encoding/json`` (``DisallowUnknownFields``) after ``sigs.k8s.io/yaml``
(internal/pkg/config/load.go): an unknown field, a duplicate key or a value of the wrong type is an error
there, and field names match case-insensitively (``additionalimages`` is read as ``additionalImages``).
The reader follows that: unknown fields and wrong types are errors; a case-insensitive match is read and
warned about with the right spelling.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from ..oci.reference import Reference, parse

# a repository path as containers/image and oc-mirror (v2alpha1.IsValidPathComponent) accept it
PATH_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*)*$")
TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")


class ConfigLoadError(ConfigError):
    """A configuration that cannot be loaded. ``warnings`` holds what was found before the error, so the
    caller prints them first: they often explain it."""

    def __init__(self, message: str, hint: str | None = None, warnings: Iterable[str] = ()) -> None:
        super().__init__(message, hint)
        self.warnings = list(warnings)


class _Lines:
    """Line numbers of YAML nodes by field path; duplicate keys (an error for oc-mirror) are recorded."""

    def __init__(self, node: yaml.Node | None) -> None:
        self.lines: dict[str, int] = {}
        self.duplicates: list[tuple[str, int]] = []
        if node is not None:
            self._walk(node, "")

    def _walk(self, node: yaml.Node, path: str) -> None:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for k, v in node.value:
                key = str(k.value)
                sub = f"{path}.{key}" if path else key
                if key in seen:
                    self.duplicates.append((sub, k.start_mark.line + 1))
                seen.add(key)
                self._walk(v, sub)
                self.lines[sub] = k.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                self._walk(v, f"{path}[{i}]")

    def at(self, path: str) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path.rsplit(".", 1)[0] if "." in path else ""
        return None


class Reader:
    """Typed access to one parsed document, with ``file line N: field: message`` diagnostics."""

    def __init__(self, path: Path, node: yaml.Node | None, api_version: str = "", delete: bool = False) -> None:
        self.path = path
        self.lines = _Lines(node)
        self.api_version = api_version
        self.delete = delete  # a DeleteImageSetConfiguration
        self.warnings: list[str] = []

    @property
    def v1(self) -> bool:
        """The document is ``mirror.openshift.io/v1alpha2``: oc-mirror v1 semantics where they differ."""
        return self.api_version.endswith("/v1alpha2")

    def where(self, fpath: str) -> str:
        line = self.lines.at(fpath)
        return f"{self.path} line {line}" if line else str(self.path)

    def error(self, fpath: str, message: str, hint: str | None = None) -> ConfigLoadError:
        prefix = f"{self.where(fpath)}: {fpath}: " if fpath else f"{self.where(fpath)}: "
        return ConfigLoadError(prefix + message, hint, self.warnings)

    def warn(self, fpath: str, message: str) -> None:
        self.warnings.append(f"{self.where(fpath)}: {fpath}: {message}")

    # -- structure ------------------------------------------------------------------------------

    def fields(self, value: Any, fpath: str, known: Iterable[str], extra: dict[str, str] | None = None,
               ) -> dict[str, Any]:
        """A mapping with only ``known`` keys (or ``extra`` ones: known elsewhere, rejected here with
        the given reason). A key that differs from a known one only in case is read as the known one,
        as oc-mirror does, with a warning."""
        doc = self.mapping(value, fpath)
        names = {k.lower(): k for k in known}
        out: dict[str, Any] = {}
        for key, item in doc.items():
            sub = f"{fpath}.{key}" if fpath else str(key)
            name = names.get(str(key).lower())
            if name is None:
                if extra and key in extra:
                    raise self.error(sub, extra[key])
                raise self.error(sub, "is not a field of this section",
                                 f"the fields here are: {', '.join(sorted(names.values()))}")
            if name != key:
                self.warn(sub, f"is spelled {name}; read as {name} (oc-mirror matches field names "
                               "case-insensitively, bundler does too but says so)")
            if name in out:
                raise self.error(sub, f"is given twice (also as {name})")
            out[name] = item
        return out

    def mapping(self, value: Any, fpath: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(fpath, f"must be a mapping, not {_kind(value)}")
        return value

    def seq(self, value: Any, fpath: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(fpath, f"must be a list, not {_kind(value)}")
        return value

    # -- scalars --------------------------------------------------------------------------------

    def string(self, value: Any, fpath: str) -> str:
        """A non-empty string. A number is refused (YAML reads ``4.10`` as 4.1; quote it), as oc-mirror's
        decoder refuses it."""
        if isinstance(value, bool) or isinstance(value, (int, float)):
            raise self.error(fpath, f"must be a string, not the number {value!r}",
                             f"quote it: '{value}' (YAML reads unquoted 4.10 as the number 4.1)")
        if not isinstance(value, str) or not value.strip():
            raise self.error(fpath, "must be a non-empty string")
        return value.strip()

    def opt_string(self, value: Any, fpath: str) -> str | None:
        return None if value is None or value == "" else self.string(value, fpath)

    def boolean(self, value: Any, fpath: str) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.error(fpath, f"must be true or false, not {value!r}")
        return value

    def integer(self, value: Any, fpath: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(fpath, f"must be a whole number, not {value!r}")
        return value

    def strings(self, value: Any, fpath: str) -> list[str]:
        return [self.string(v, f"{fpath}[{i}]") for i, v in enumerate(self.seq(value, fpath))]

    # -- image references and names -------------------------------------------------------------

    def ref(self, value: Any, fpath: str, *, pinned: bool = True) -> Reference:
        """An image reference. With ``pinned`` it must carry a tag or a digest: oc-mirror refuses one
        without (``image.ParseRef``: "tag and digest are empty"); bundler never guesses ``:latest``."""
        text = self.string(value, fpath)
        try:
            ref = parse(text)
        except ConfigError as exc:
            raise self.error(fpath, exc.message) from None
        if pinned and not has_tag_or_digest(text):
            raise self.error(fpath, f"{text} has neither a tag nor a digest",
                             f"name the image exactly, e.g. {text}:TAG or {text}@sha256:DIGEST")
        return ref

    def repo_path(self, value: Any, fpath: str) -> str | None:
        text = self.opt_string(value, fpath)
        if text is not None and not PATH_RE.match(text):
            raise self.error(fpath, f"{text!r} is not a repository path",
                             "one or more lower-case path components separated by '/', "
                             "without registry, tag or digest (e.g. my-org/my-index)")
        return text

    def tag(self, value: Any, fpath: str) -> str | None:
        text = self.opt_string(value, fpath)
        if text is not None and not TAG_RE.match(text):
            raise self.error(fpath, f"{text!r} is not a valid tag",
                             "a tag is up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'")
        return text

    def local_path(self, text: str, fpath: str, *, must_exist: bool = True) -> Path:
        """A path as oc-mirror resolves it (against the working directory); when nothing is there but the
        file sits next to the configuration, that one is used and said so."""
        p = Path(text).expanduser()
        if p.exists() or not must_exist:
            return p.absolute()
        if p.is_absolute():
            raise self.error(fpath, f"{text} does not exist")
        beside = (self.path.parent / p)
        if beside.exists():
            self.warn(fpath, f"{text} is not in the working directory; using {beside.absolute()} next to the "
                             "configuration (oc-mirror resolves it against the working directory only)")
            return beside.absolute()
        raise self.error(fpath, f"{text} does not exist (looked in the working directory {Path.cwd()} and "
                                f"next to the configuration)")


def has_tag_or_digest(text: str) -> bool:
    s = text.strip()
    if s.startswith("docker://"):
        s = s[len("docker://"):]
    return "@" in s or ":" in s.rsplit("/", 1)[-1]


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value!r}"
    return repr(value)
