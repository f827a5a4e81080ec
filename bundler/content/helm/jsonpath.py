"""The subset of Kubernetes JSONPath (client-go ``util/jsonpath``) that ``imagePaths`` use.

``{.spec.template.spec.containers[*].image}``: fields, ``..`` recursive descent, ``*``, ``[n]``,
``[a:b:c]``, ``[a,b]``, ``['key']``, filters ``[?(@.name=="x")]`` (``== != < > <= >=``, or existence),
quoted literals, ``{range ...}{end}`` and text outside braces. Missing keys are skipped
(``AllowMissingKeys(true)``, as oc-mirror sets it). ``execute`` returns the printed text, results of one
action separated by a space, like client-go; oc-mirror then splits it on spaces.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .gofmt import go_str


class JSONPathError(ValueError):
    """The expression is not JSONPath this evaluator understands."""


@dataclass
class _Action:
    kind: str            # "path" | "literal" | "range" | "end" | "text"
    value: Any


_STEP = re.compile(r"\.\.|\.|\[")
_NAME = re.compile(r"[A-Za-z0-9_\-$/]+|\*")
_FILTER = re.compile(r"^\?\(\s*@((?:\.[A-Za-z0-9_\-]+|\[[^\]]*\])*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*\)$")


def _parse_path(expr: str) -> list[tuple[str, Any]]:
    """A path into steps: ("field", name) ("recurse", name) ("index", [ints|slice|'*']) ("filter", ...)."""
    s = expr.strip()
    if s.startswith("$"):
        s = s[1:]
    steps: list[tuple[str, Any]] = []
    i = 0
    while i < len(s):
        m = _STEP.match(s, i)
        if not m:
            raise JSONPathError(f"unexpected {s[i:]!r} in JSONPath {expr!r}")
        if m.group(0) == "[":
            end = _bracket_end(s, i, expr)
            steps.append(_bracket(s[i + 1:end].strip(), expr))
            i = end + 1
            continue
        n = _NAME.match(s, m.end())
        if not n:
            if m.group(0) == "." and m.end() == len(s):
                break
            raise JSONPathError(f"expected a field name after {m.group(0)!r} in JSONPath {expr!r}")
        steps.append(("recurse" if m.group(0) == ".." else "field", n.group(0)))
        i = n.end()
    return steps


def _bracket_end(s: str, start: int, expr: str) -> int:
    depth, quote = 0, ""
    for j in range(start, len(s)):
        ch = s[j]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
            if depth == 0 and ch == "]":
                return j
    raise JSONPathError(f"unclosed [ in JSONPath {expr!r}")


def _bracket(inner: str, expr: str) -> tuple[str, Any]:
    if inner == "*":
        return ("all", None)
    if inner.startswith("?"):
        m = _FILTER.match(inner)
        if not m:
            raise JSONPathError(f"unsupported filter {inner!r} in JSONPath {expr!r}")
        return ("filter", (_parse_path(m.group(1)) if m.group(1) else [], m.group(2), _literal(m.group(3))))
    if inner[:1] in "'\"":
        return ("keys", [p.strip()[1:-1] for p in inner.split(",")])
    if ":" in inner:
        parts = [int(p) if p.strip() else None for p in inner.split(":")]
        return ("slice", slice(*parts))
    try:
        return ("indexes", [int(p) for p in inner.split(",")])
    except ValueError:
        raise JSONPathError(f"unsupported subscript [{inner}] in JSONPath {expr!r}") from None


def _literal(text: str | None) -> Any:
    if text is None:
        return None
    t = text.strip()
    if t[:1] in "'\"":
        return t[1:-1]
    try:
        return json.loads(t)
    except ValueError:
        return t


def _recurse(v: Any) -> list[Any]:
    out = [v]
    if isinstance(v, dict):
        for x in v.values():
            out.extend(_recurse(x))
    elif isinstance(v, list):
        for x in v:
            out.extend(_recurse(x))
    return out


def _compare(a: Any, op: str, b: Any) -> bool:
    if isinstance(a, (int, float)) and not isinstance(b, (int, float)):
        try:
            b = float(b)
        except (TypeError, ValueError):
            return op == "!="
    try:
        return {"==": a == b, "!=": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
    except TypeError:
        return False


def _field(v: Any, name: str) -> list[Any]:
    if isinstance(v, dict):
        return list(v.values()) if name == "*" else ([v[name]] if name in v else [])
    return list(v) if isinstance(v, list) and name == "*" else []


def _recursive(v: Any, name: str) -> list[Any]:
    return [x for node in _recurse(v) if isinstance(node, dict) for x in _field(node, name)]


def _all(v: Any, _: Any) -> list[Any]:
    return list(v) if isinstance(v, list) else list(v.values()) if isinstance(v, dict) else []


def _filter(v: Any, arg: Any) -> list[Any]:
    path, op, lit = arg
    if not isinstance(v, list):
        return []
    out = []
    for item in v:
        found = evaluate(path, item)
        if (op is None and found) or (op and any(_compare(f, op, lit) for f in found)):
            out.append(item)
    return out


_STEPS: dict[str, Any] = {
    "field": _field,
    "recurse": _recursive,
    "all": _all,
    "indexes": lambda v, ix: [v[i] for i in ix if -len(v) <= i < len(v)] if isinstance(v, list) else [],
    "slice": lambda v, sl: list(v[sl]) if isinstance(v, list) else [],
    "keys": lambda v, ks: [v[k] for k in ks if k in v] if isinstance(v, dict) else [],
    "filter": _filter,
}


def _apply(values: list[Any], step: tuple[str, Any]) -> list[Any]:
    kind, arg = step
    return [x for v in values for x in _STEPS[kind](v, arg)]


def evaluate(steps: list[tuple[str, Any]], data: Any) -> list[Any]:
    values = [data]
    for step in steps:
        values = _apply(values, step)
    return values


class JSONPath:
    """A parsed Kubernetes JSONPath template (raises JSONPathError on what it cannot parse)."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.actions = self._parse(template)

    @staticmethod
    def _parse(template: str) -> list[_Action]:
        actions: list[_Action] = []
        pos = 0
        for m in re.finditer(r"\{((?:[^{}'\"]|'[^']*'|\"[^\"]*\")*)\}", template):
            if m.start() > pos:
                actions.append(_Action("text", template[pos:m.start()]))
            body = m.group(1).strip()
            pos = m.end()
            if body == "end":
                actions.append(_Action("end", None))
            elif body.startswith("range "):
                actions.append(_Action("range", _parse_path(body[6:])))
            elif body[:1] in "'\"" and body[-1:] == body[:1]:
                actions.append(_Action("literal", json.loads(f'"{body[1:-1]}"') if body[0] == '"' else body[1:-1]))
            else:
                actions.append(_Action("path", _parse_path(body)))
        if pos < len(template):
            actions.append(_Action("text", template[pos:]))
        if not any(a.kind in ("path", "range") for a in actions):
            raise JSONPathError(f"{template!r} holds no JSONPath expression in braces")
        return actions

    def execute(self, data: Any) -> str:
        out: list[str] = []
        self._run(self.actions, data, out)
        return "".join(out)

    def _run(self, actions: list[_Action], data: Any, out: list[str]) -> None:
        i = 0
        while i < len(actions):
            a = actions[i]
            if a.kind in ("text", "literal"):
                out.append(a.value)
            elif a.kind == "path":
                out.append(" ".join(_text(v) for v in evaluate(a.value, data)))
            elif a.kind == "range":
                depth, j = 1, i + 1
                while j < len(actions) and depth:
                    depth += {"range": 1, "end": -1}.get(actions[j].kind, 0)
                    j += 1
                body = actions[i + 1:j - 1]
                for item in evaluate(a.value, data):
                    self._run(body, item, out)
                i = j
                continue
            i += 1


def _text(v: Any) -> str:
    if isinstance(v, (dict, list)):
        return go_str(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return go_str(float(v))
    return go_str(v)
