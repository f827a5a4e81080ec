"""Template functions: Go builtins, the sprig functions charts use, helm's toYaml/fromYaml/toJson.

Argument types are checked as Go's reflection would: a sprig function taking ``string`` refuses a
float64 value (``wrong type for value; expected string; got float64``), like helm does.
``include``, ``tpl``, ``required`` and ``fail`` live in the evaluator (they need it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

from . import semver
from .gofmt import GoObject, go_quote, go_str, shape, sprintf, type_name
from .yamlutil import as_values, load, to_yaml


class FuncError(Exception):
    """A template function refused its arguments (reported with template file and line)."""


def s_(v: Any) -> str:
    """A ``string`` parameter."""
    if isinstance(v, str):
        return v
    raise FuncError(f"wrong type for value; expected string; got {type_name(v) if v is not None else 'interface {}'}")


def i_(v: Any) -> int:
    """An ``int`` parameter (template integer constants are ints; values are float64 and refused)."""
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    raise FuncError(f"wrong type for value; expected int; got {type_name(v) if v is not None else 'interface {}'}")


def strval(v: Any) -> str:
    """sprig ``strval``: strings as they are, everything else as ``%v``."""
    return v if isinstance(v, str) else go_str(v)


def empty(v: Any) -> bool:
    """sprig ``empty``: nil, "", 0, false, empty list/map; a struct is never empty."""
    if v is None:
        return True
    if isinstance(v, (str, list, tuple, dict, bytes)):
        return len(v) == 0
    if isinstance(v, (bool, int, float)):
        return not v
    return False


def to_int(v: Any) -> int:
    """spf13/cast ``ToInt64`` as sprig uses it (floats truncate, strings parse, nil is 0)."""
    if v is None:
        return 0
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        return int(v)
    if isinstance(v, str):
        try:
            return int(v, 0) if not v.lstrip("-").startswith("0") or v in ("0", "-0") else int(v)
        except ValueError:
            try:
                return int(float(v))
            except ValueError:
                return 0
    return 0


def to_float(v: Any) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return 0.0
    return 0.0


# -- comparisons (Go builtins) -------------------------------------------------------------------

_COMPARISON_KINDS = {"nil": "invalid", "map": "other", "slice": "other", "object": "other"}


def _kind(v: Any) -> str:
    """The kind Go's ``eq``/``lt`` compare by (text/template's basicKind)."""
    kind = shape(v)
    return _COMPARISON_KINDS.get(kind, kind)


def eq(a: Any, *others: Any) -> bool:
    if not others:
        raise FuncError("missing argument for comparison")
    ka = _kind(a)
    for b in others:
        kb = _kind(b)
        if ka != kb:
            if ka != "invalid" and kb != "invalid":
                raise FuncError("incompatible types for comparison")
            continue
        if ka == "other" and (isinstance(a, (dict, list)) or isinstance(b, (dict, list))):
            raise FuncError(f"non-comparable type {go_str(b)}: {type_name(b)}")
        if a == b:
            return True
    return False


def _order(a: Any, b: Any) -> tuple[Any, Any]:
    ka, kb = _kind(a), _kind(b)
    if ka == "invalid" or kb == "invalid" or ka in ("other", "bool"):
        raise FuncError("invalid type for comparison")
    if ka != kb:
        raise FuncError("incompatible types for comparison")
    return a, b


FuncMap = dict[str, Callable[..., Any]]

COMPARE: FuncMap = {
    "eq": eq,
    "ne": lambda a, b: not eq(a, b),
    "lt": lambda a, b: (lambda x, y: x < y)(*_order(a, b)),
    "le": lambda a, b: (lambda x, y: x <= y)(*_order(a, b)),
    "gt": lambda a, b: (lambda x, y: x > y)(*_order(a, b)),
    "ge": lambda a, b: (lambda x, y: x >= y)(*_order(a, b)),
    "not": lambda v: not _truth(v),
}


def _truth(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, (bool, int, float)):
        return bool(v)
    if isinstance(v, (str, list, tuple, dict)):
        return len(v) > 0
    return True


# -- Go builtins ---------------------------------------------------------------------------------

def go_len(v: Any) -> int:
    if v is None:
        raise FuncError("len of nil pointer")
    if isinstance(v, (str, list, tuple, dict, bytes)):
        return len(v.encode() if isinstance(v, str) else v)
    raise FuncError(f"len of type {type_name(v)}")


def go_index(v: Any, *keys: Any) -> Any:
    for k in keys:
        if v is None:
            raise FuncError("index of untyped nil")
        if isinstance(v, dict):
            if not isinstance(k, str):
                raise FuncError(f"value has type {type_name(k)}; should be string")
            v = v.get(k)
        elif isinstance(v, (list, tuple, str)):
            if not isinstance(k, int) or isinstance(k, bool):
                raise FuncError(f"cannot index slice/array with type {type_name(k)}")
            if not 0 <= k < len(v):
                raise FuncError(f"index out of range: {k}")
            v = v[k]
        else:
            raise FuncError(f"can't index item of type {type_name(v)}")
    return v


def go_print(*args: Any) -> str:
    out = ""
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out += " "
        out += go_str(a)
    return out


BUILTINS: FuncMap = {
    "len": go_len,
    "index": go_index,
    "print": go_print,
    "println": lambda *a: " ".join(go_str(x) for x in a) + "\n",
    "printf": lambda fmt, *a: sprintf(s_(fmt), *a),
    "html": lambda *a: go_print(*a).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    .replace('"', "&#34;").replace("'", "&#39;"),
    "js": lambda *a: json.dumps(go_print(*a))[1:-1].replace("'", "\\'"),
    "urlquery": lambda *a: quote_plus(go_print(*a)),
}


# -- strings -------------------------------------------------------------------------------------

def indent(n: Any, text: Any) -> str:
    pad = " " * i_(n)
    return pad + s_(text).replace("\n", "\n" + pad)


def trunc(n: Any, text: Any) -> str:
    c, t = i_(n), s_(text)
    if c < 0 and len(t) + c > 0:
        return t[len(t) + c:]
    return t[:c] if c >= 0 else t


def substr(start: Any, end: Any, text: Any) -> str:
    a, b, t = i_(start), i_(end), s_(text)
    if a < 0:
        return t[:b]
    if b < 0 or b > len(t):
        return t[a:]
    return t[a:b]


def _go_repl(repl: str) -> str:
    """Go regexp Expand syntax (``$1``, ``${name}``) to Python's (``\\g<1>``)."""
    out = repl.replace("\\", "\\\\")
    out = re.sub(r"\$\{(\w+)\}", r"\\g<\1>", out)
    return re.sub(r"\$(\d+|[A-Za-z_]\w*)", r"\\g<\1>", out)


def _case_words(t: str) -> list[str]:
    return [w for w in re.split(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])", t) if w]


def quote(*args: Any) -> str:
    return " ".join(go_quote(strval(a)) for a in args if a is not None)


def squote(*args: Any) -> str:
    return " ".join(f"'{go_str(a)}'" for a in args if a is not None)


def _from_yaml(text: Any) -> dict[str, Any]:
    try:
        doc = load(s_(text))
    except Exception as exc:  # noqa: BLE001 - helm returns the error text in the map
        return {"Error": str(exc)}
    return as_values(doc) if isinstance(doc, dict) else {} if doc is None else {"Error": "not a map"}


def _json_ready(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return int(v)
    if isinstance(v, dict):
        return {str(k): _json_ready(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_ready(x) for x in v]
    if isinstance(v, GoObject):
        return go_str(v)
    return v


def to_json(v: Any) -> str:
    text = json.dumps(_json_ready(v), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _from_json(text: Any) -> Any:
    try:
        return as_values(json.loads(s_(text)))
    except ValueError as exc:
        return {"Error": str(exc)}


STRINGS: FuncMap = {
    "trim": lambda t: s_(t).strip(" \t\n\r\v\f"),
    "trimAll": lambda cut, t: s_(t).strip(s_(cut)),
    "trimSuffix": lambda suf, t: s_(t)[:-len(s_(suf))] if s_(suf) and s_(t).endswith(s_(suf)) else s_(t),
    "trimPrefix": lambda pre, t: s_(t)[len(s_(pre)):] if s_(t).startswith(s_(pre)) else s_(t),
    "upper": lambda t: s_(t).upper(),
    "lower": lambda t: s_(t).lower(),
    "title": lambda t: re.sub(r"(^|\s)(\S)", lambda m: m.group(1) + m.group(2).upper(), s_(t)),
    "untitle": lambda t: re.sub(r"(^|\s)(\S)", lambda m: m.group(1) + m.group(2).lower(), s_(t)),
    "repeat": lambda n, t: s_(t) * max(i_(n), 0),
    "substr": substr,
    "nospace": lambda t: re.sub(r"\s+", "", s_(t)),
    "trunc": trunc,
    "abbrev": lambda n, t: s_(t) if len(s_(t)) <= i_(n) or i_(n) < 4 else s_(t)[:i_(n) - 3] + "...",
    "contains": lambda sub, t: s_(sub) in s_(t),
    "hasPrefix": lambda p, t: s_(t).startswith(s_(p)),
    "hasSuffix": lambda p, t: s_(t).endswith(s_(p)),
    "replace": lambda old, new, t: s_(t).replace(s_(old), s_(new)),
    "indent": indent,
    "nindent": lambda n, t: "\n" + indent(n, t),
    "cat": lambda *a: " ".join(go_str(x) for x in a if x is not None),
    "quote": quote,
    "squote": squote,
    "toString": strval,
    "snakecase": lambda t: "_".join(w.lower() for w in _case_words(s_(t))),
    "kebabcase": lambda t: "-".join(w.lower() for w in _case_words(s_(t))),
    "camelcase": lambda t: "".join(w[:1].upper() + w[1:] for w in re.split(r"[_\-\s]+", s_(t)) if w),
    "regexMatch": lambda rx, t: re.search(s_(rx), s_(t)) is not None,
    "regexFind": lambda rx, t: (m.group(0) if (m := re.search(s_(rx), s_(t))) else ""),
    "regexFindAll": lambda rx, t, n: [m.group(0) for m in re.finditer(s_(rx), s_(t))][:None if i_(n) < 0 else i_(n)],
    "regexReplaceAll": lambda rx, t, r: re.sub(s_(rx), _go_repl(s_(r)), s_(t)),
    "regexReplaceAllLiteral": lambda rx, t, r: re.sub(s_(rx), lambda m: s_(r), s_(t)),
    "regexSplit": lambda rx, t, n: re.split(s_(rx), s_(t), maxsplit=0 if i_(n) < 0 else max(i_(n) - 1, 0)),
    "regexQuoteMeta": lambda t: re.escape(s_(t)),
    "b64enc": lambda t: base64.b64encode(s_(t).encode()).decode(),
    "b64dec": lambda t: base64.b64decode(s_(t)).decode("utf-8", "replace"),
    "b32enc": lambda t: base64.b32encode(s_(t).encode()).decode(),
    "sha256sum": lambda t: hashlib.sha256(s_(t).encode()).hexdigest(),
    "sha1sum": lambda t: hashlib.sha1(s_(t).encode()).hexdigest(),  # noqa: S324 - sprig's function
    "adler32sum": lambda t: str(zlib.adler32(s_(t).encode())),
    "toYaml": to_yaml,
    "toYamlPretty": to_yaml,
    "mustToYaml": to_yaml,
    "fromYaml": _from_yaml,
    "fromYamlArray": lambda t: (lambda d: d if isinstance(d, list) else [])(as_values(load(s_(t)))),
    "toJson": to_json,
    "toRawJson": to_json,
    "toPrettyJson": lambda v: json.dumps(_json_ready(v), sort_keys=True, indent=2, ensure_ascii=False),
    "fromJson": _from_json,
    "fromJsonArray": _from_json,
    "semverCompare": lambda c, v: semver.Constraint(s_(c)).check(semver.parse_version(s_(v))),
    "default": lambda d, *given: d if not given or empty(given[0]) else given[0],
    "empty": empty,
    "coalesce": lambda *a: next((x for x in a if not empty(x)), None),
    "all": lambda *a: all(not empty(x) for x in a),
    "any": lambda *a: any(not empty(x) for x in a),
    "ternary": lambda vt, vf, cond: vt if _bool(cond) else vf,
    "kindOf": lambda v: _kind_name(v),
    "kindIs": lambda k, v: s_(k) == _kind_name(v),
    "typeOf": type_name,
    "typeIs": lambda t, v: s_(t) == type_name(v),
    "deepEqual": lambda a, b: a == b,
    "atoi": lambda t: to_int(s_(t)),
    "int": to_int,
    "int64": to_int,
    "float64": to_float,
    "toDecimal": lambda v: to_int(str(v)) if str(v).isdigit() else 0,
}


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    raise FuncError(f"wrong type for value; expected bool; got {type_name(v)}")


_REFLECT_KINDS = {"nil": "invalid", "float": "float64", "object": "struct"}


def _kind_name(v: Any) -> str:
    """Sprig's ``kindOf``: the reflect.Kind name."""
    kind = shape(v)
    return _REFLECT_KINDS.get(kind, kind)


def _build() -> FuncMap:
    from .tplcollections import COLLECTIONS
    funcs: FuncMap = {}
    for table in (BUILTINS, COMPARE, STRINGS, COLLECTIONS):
        funcs.update(table)
    for name in ("append", "prepend", "first", "last", "rest", "initial", "uniq", "without", "has", "compact",
                 "slice", "reverse", "merge", "mergeOverwrite", "deepCopy", "regexMatch", "regexFind",
                 "regexFindAll", "regexReplaceAll", "regexReplaceAllLiteral", "regexSplit", "toJson",
                 "toRawJson", "toPrettyJson", "fromJson", "fromJsonArray", "push", "chunk"):
        if name in funcs:
            funcs["must" + name[0].upper() + name[1:]] = funcs[name]
    return funcs


FUNCS: FuncMap = _build()
