"""Go's printing of template values: ``%v`` of float64 (``1e+06``), maps, slices, ``%q``, and ``printf``.

Helm values are float64 (sigs.k8s.io/yaml decodes numbers as JSON numbers), so ``tag: 1.10`` prints
``1.1`` and ``20230101`` prints ``2.0230101e+07`` — the same surprises helm users get.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any


class GoObject:
    """A Go struct-like value for templates (``.Chart``, ``.Capabilities``, ``.Files``...).

    ``go_field(name, args)`` returns a field or calls a method; ``go_type`` names it in errors."""

    go_type = "struct"

    def go_field(self, name: str, args: list[Any]) -> Any:
        raise LookupError(f"can't evaluate field {name} in type {self.go_type}")

    def go_string(self) -> str:
        return "{" + self.go_type + "}"


_SHAPES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "bool"), (int, "int"), (float, "float"), (str, "string"), (dict, "map"), ((list, tuple), "slice"))


def shape(v: Any) -> str:
    """What a template value is, in one word (``nil``, ``bool``, ``int``, ``float``, ``string``, ``map``,
    ``slice``, else ``object``): Go's type names, comparison kinds and reflect kinds are each a table over it."""
    if v is None:
        return "nil"
    return next((name for t, name in _SHAPES if isinstance(v, t)), "object")


_TYPE_NAMES = {"nil": "<nil>", "float": "float64", "map": "map[string]interface {}", "slice": "[]interface {}"}


def type_name(v: Any) -> str:
    """The Go dynamic type helm would report for a value."""
    kind = shape(v)
    if kind == "object":
        return v.go_type if isinstance(v, GoObject) else type(v).__name__
    return _TYPE_NAMES.get(kind, kind)


def format_float(f: float, verb: str = "g", prec: int = -1) -> str:
    """strconv.FormatFloat: shortest ``'g'`` (what ``%v`` prints) switches to ``e`` when the decimal
    exponent is < -4 or >= 6 (``1e+06``); ``'f'``/``'e'`` take a precision (default 6)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if verb == "f":
        return f"{f:.{6 if prec < 0 else prec}f}"
    if verb == "e":
        return f"{f:.{6 if prec < 0 else prec}e}"
    if prec >= 0:
        return f"{f:.{prec}g}"
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    sign, digit_tuple, exponent = Decimal(repr(f)).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    dp = len(digits) + int(exponent)
    exp = dp - 1
    neg = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{neg}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if dp <= 0:
        return f"{neg}0.{'0' * -dp}{digits}"
    if dp >= len(digits):
        return neg + digits + "0" * (dp - len(digits))
    return f"{neg}{digits[:dp]}.{digits[dp:]}"


def go_str(v: Any, top: bool = False) -> str:
    """fmt's ``%v`` of a value; ``top`` prints nil as ``<no value>`` like a template action."""
    if v is None:
        return "<no value>" if top else "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format_float(v)
    if isinstance(v, str):
        return v
    if isinstance(v, bytes):
        return "[" + " ".join(str(b) for b in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{go_str(k)}:{go_str(v[k])}" for k in sorted(v, key=str)) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(go_str(x) for x in v) + "]"
    if isinstance(v, GoObject):
        return v.go_string()
    return str(v)


def go_quote(s: str) -> str:
    """strconv.Quote: ``"..."`` with Go escapes; printable Unicode kept."""
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch in "\a\b\f\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not ch.isprintable() and code > 0x7F:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_VERB = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d+))?([a-zA-Z%])")


def _bad(verb: str, v: Any) -> str:
    if v is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({type_name(v)}={go_str(v)})"


def _pad(s: str, flags: str, width: int | None) -> str:
    if width is None or len(s) >= width:
        return s
    if "-" in flags:
        return s.ljust(width)
    if "0" in flags and s[:1] in "+-" and s[1:].replace(".", "").isdigit():
        return s[0] + s[1:].rjust(width - 1, "0")
    return s.rjust(width, "0" if "0" in flags and s.replace(".", "").lstrip("-").isdigit() else " ")


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _v(flags: str, prec: int | None, v: Any) -> str:
    s = go_quote(v) if "#" in flags and isinstance(v, str) else go_str(v)
    return s[:prec] if prec is not None and isinstance(v, str) else s


def _s(flags: str, prec: int | None, v: Any) -> str | None:
    if not isinstance(v, (str, bytes, list, dict, GoObject)):
        return None
    s = go_str(v)
    return s[:prec] if prec is not None and isinstance(v, str) else s


def _q(flags: str, prec: int | None, v: Any) -> str | None:
    if isinstance(v, str):
        return go_quote(v)
    return f"'{chr(v)}'" if _int(v) else None


def _x(v: Any) -> str | None:
    if _int(v):
        return format(v, "x")
    return v.encode().hex() if isinstance(v, str) else None


def _float_verb(verb: str) -> Any:
    return lambda flags, prec, v: (format_float(v, verb, -1 if prec is None else prec)
                                   if isinstance(v, float) else None)


_VERBS: dict[str, Any] = {
    "v": _v,
    "s": _s,
    "d": lambda f, p, v: str(v) if _int(v) else None,
    "q": _q,
    "t": lambda f, p, v: go_str(v) if isinstance(v, bool) else None,
    "f": _float_verb("f"), "F": _float_verb("f"), "e": _float_verb("e"), "g": _float_verb("g"),
    "x": lambda f, p, v: _x(v),
    "X": lambda f, p, v: (lambda r: r.upper() if r else r)(_x(v)),
    "o": lambda f, p, v: format(v, "o") if _int(v) else None,
    "c": lambda f, p, v: chr(v) if _int(v) else None,
    "T": lambda f, p, v: type_name(v),
}


def _one(verb: str, flags: str, prec: int | None, v: Any) -> str:
    """One verb applied to one operand; a type mismatch prints as Go does (``%!d(string=x)``)."""
    fn = _VERBS.get(verb)
    out = fn(flags, prec, v) if fn else None
    return _bad(verb, v) if out is None else out


def sprintf(fmt: str, *args: Any) -> str:
    """Go ``fmt.Sprintf`` for the verbs charts use; mismatches render as Go does (``%!s(float64=1)``)."""
    out: list[str] = []
    pos = argi = 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width_s, prec_s, verb = m.group(1), m.group(2), m.group(3), m.group(4)
        if verb == "%":
            out.append("%")
            continue
        width: int | None = None
        prec: int | None = None
        if width_s == "*":
            width, argi = (int(args[argi]) if argi < len(args) else None), argi + 1
        elif width_s:
            width = int(width_s)
        if prec_s == "*":
            prec, argi = (int(args[argi]) if argi < len(args) else None), argi + 1
        elif prec_s is not None:
            prec = int(prec_s)
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        v = args[argi]
        argi += 1
        s = _one(verb, flags, prec, v)
        if "+" in flags and isinstance(v, (int, float)) and not isinstance(v, bool) and not s.startswith("-"):
            s = "+" + s
        out.append(_pad(s, flags, width))
    out.append(fmt[pos:])
    if argi < len(args):
        out.append("%!(EXTRA " + ", ".join(f"{type_name(a)}={go_str(a)}" for a in args[argi:]) + ")")
    return "".join(out)
