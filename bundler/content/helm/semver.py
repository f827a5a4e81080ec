"""Masterminds/semver v3 as helm uses it: loose versions, constraints (``^ ~ x * - || ,``).

Ported from github.com/Masterminds/semver ``version.go``/``constraints.go``: prerelease versions match
only an AND-group whose constraints carry a prerelease themselves (``>=1.21-0``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import total_ordering

_NUM_PRE = r"(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
_VERSION = re.compile(
    r"^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?"
    rf"(?:-({_NUM_PRE}(?:\.{_NUM_PRE})*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_CV = (r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?"
       r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
       r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?")
_OPS = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"
_CONSTRAINT = re.compile(rf"^\s*({_OPS})\s*({_CV})\s*$")
_RANGE = re.compile(rf"\s*({_CV})\s+-\s+({_CV})\s*")
_FIND = re.compile(rf"({_OPS})\s*({_CV})")
_VALID = re.compile(rf"^(\s*({_OPS})\s*({_CV})\s*)((?:\s+|,\s*)({_OPS})\s*({_CV})\s*)*$")


class SemverError(ValueError):
    """Not a semantic version or not a version constraint."""


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: str = ""
    original: str = ""

    def _cmp(self, other: Version) -> int:
        for a, b in ((self.major, other.major), (self.minor, other.minor), (self.patch, other.patch)):
            if a != b:
                return -1 if a < b else 1
        if self.pre == other.pre:
            return 0
        if not self.pre:
            return 1
        if not other.pre:
            return -1
        return _compare_pre(self.pre, other.pre)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._cmp(other) == 0

    def __lt__(self, other: Version) -> bool:
        return self._cmp(other) < 0

    def __hash__(self) -> int:
        return hash((self.major, self.minor, self.patch, self.pre))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}" + (f"-{self.pre}" if self.pre else "")


def _compare_pre(a: str, b: str) -> int:
    sa, sb = a.split("."), b.split(".")
    for i in range(max(len(sa), len(sb))):
        d = _compare_part(sa[i] if i < len(sa) else "", sb[i] if i < len(sb) else "")
        if d:
            return d
    return 0


def _compare_part(s: str, o: str) -> int:
    if s == o:
        return 0
    if not s:
        return -1
    if not o:
        return 1
    if s.isdigit() and o.isdigit():
        return -1 if int(s) < int(o) else 1
    if s.isdigit():
        return -1
    if o.isdigit():
        return 1
    return 1 if s > o else -1


def parse_version(text: str) -> Version:
    """A loose semantic version (``v1.2``, ``1.2.3-rc.1+build``); SemverError when it is not one."""
    m = _VERSION.match(str(text).strip())
    if not m:
        raise SemverError(f"{text!r} is not a semantic version")
    return Version(int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0), m.group(4) or "", str(text))


def is_version(text: str) -> bool:
    try:
        parse_version(text)
    except SemverError:
        return False
    return True


@dataclass(frozen=True)
class _Term:
    op: str
    con: Version
    orig: str
    dirty: bool = False
    minor_dirty: bool = False
    patch_dirty: bool = False


def _is_x(s: str) -> bool:
    return s in ("x", "X", "*")


def _parse_term(text: str) -> _Term:
    if not text:
        return _Term("", Version(0, 0, 0), "", dirty=True)
    m = _CONSTRAINT.match(text)
    if not m:
        raise SemverError(f"improper constraint: {text!r}")
    op, orig, major, minor, patch, pre = m.group(1), m.group(2), m.group(3), m.group(4), m.group(5), m.group(6) or ""
    minor_s, patch_s = (minor or "").lstrip("."), (patch or "").lstrip(".")
    dirty = minor_dirty = patch_dirty = False
    if _is_x(major) or not major:
        ver, dirty = f"0.0.0{pre}", True
    elif _is_x(minor_s) or not minor:
        ver, dirty, minor_dirty = f"{major}.0.0{pre}", True, True
    elif _is_x(patch_s) or not patch:
        ver, dirty, patch_dirty = f"{major}.{minor_s}.0{pre}", True, True
    else:
        ver = orig
    return _Term(op, parse_version(ver), orig, dirty, minor_dirty, patch_dirty)


def _tilde(v: Version, c: _Term) -> bool:
    if v < c.con:
        return False
    if (c.con.major, c.con.minor, c.con.patch) == (0, 0, 0) and not c.minor_dirty and not c.patch_dirty:
        return True
    if v.major != c.con.major:
        return False
    return not (v.minor != c.con.minor and not c.minor_dirty)


def _caret(v: Version, c: _Term) -> bool:
    if v < c.con:
        return False
    if c.con.major > 0 or c.minor_dirty:
        return v.major == c.con.major
    if v.major > 0:
        return False
    if c.con.minor > 0 or c.patch_dirty:
        return v.minor == c.con.minor
    if v.minor > 0:
        return False
    return v.patch == c.con.patch


def _not_equal(v: Version, c: _Term) -> bool:
    if c.dirty:
        if c.con.major != v.major:
            return True
        if c.minor_dirty:
            return False
        if c.con.minor != v.minor:
            return True
        if c.patch_dirty:
            return bool((v.pre or c.con.pre) and _compare_pre(v.pre, c.con.pre) != 0)
    return v != c.con


def _greater(v: Version, c: _Term) -> bool:
    if not c.dirty:
        return v > c.con
    if v.major != c.con.major:
        return v.major > c.con.major
    if c.minor_dirty:
        return False
    if c.patch_dirty:
        return v.minor > c.con.minor
    return v > c.con


def _less_equal(v: Version, c: _Term) -> bool:
    if not c.dirty:
        return v <= c.con
    if v.major > c.con.major:
        return False
    return not (v.major == c.con.major and v.minor > c.con.minor and not c.minor_dirty)


_CHECKS: dict[str, Callable[[Version, _Term], bool]] = {
    "": lambda v, c: _tilde(v, c) if c.dirty else v == c.con,
    "=": lambda v, c: _tilde(v, c) if c.dirty else v == c.con,
    "!=": _not_equal,
    ">": _greater,
    "<": lambda v, c: v < c.con,
    ">=": lambda v, c: v >= c.con,
    "=>": lambda v, c: v >= c.con,
    "<=": _less_equal,
    "=<": _less_equal,
    "~": _tilde,
    "~>": _tilde,
    "^": _caret,
}


class Constraint:
    """``NewConstraint``: OR-groups (``||``) of AND-terms (space or comma)."""

    def __init__(self, text: str) -> None:
        self.text = text
        rewritten = _RANGE.sub(lambda m: f">= {m.group(1)}, <= {m.group(11)} ", text)
        self.groups: list[tuple[list[_Term], bool]] = []
        for part in rewritten.split("||"):
            if part.strip() and not _VALID.match(part):
                raise SemverError(f"improper constraint: {part!r}")
            found = [m.group(0) for m in _FIND.finditer(part)] or [part.strip()]
            terms = [_parse_term(t.strip()) for t in found]
            self.groups.append((terms, any(t.con.pre for t in terms)))

    def check(self, version: Version | str) -> bool:
        v = parse_version(version) if isinstance(version, str) else version
        for terms, has_pre in self.groups:
            if v.pre and not has_pre:
                continue
            if all(_CHECKS[t.op](v, t) for t in terms):
                return True
        return False


def matches(constraint: str, version: str) -> bool:
    """True when ``version`` satisfies ``constraint``; SemverError if either does not parse."""
    return Constraint(constraint).check(version)


def is_compatible_range(constraint: str, version: str) -> bool:
    """helm's ``chartutil.IsCompatibleRange``: False (not an error) when either does not parse."""
    try:
        return Constraint(constraint).check(version)
    except SemverError:
        return False
