"""Template functions over lists, dicts and numbers (sprig), plus deterministic stand-ins.

Functions that would make secrets or talk to a cluster (``randAlphaNum``, ``genCA``, ``uuidv4``,
``now``, ``lookup``, ``getHostByName``) return fixed placeholder values: image references never depend
on them, and ``helm template`` without a cluster returns empty results for ``lookup`` too.
"""

from __future__ import annotations

import copy
import math
import posixpath
from typing import Any

from . import semver
from .gofmt import GoObject, go_str, type_name
from .tplfuncs import FuncError, FuncMap, empty, i_, s_, strval, to_float, to_int


def _list(v: Any, fname: str) -> list[Any]:
    if isinstance(v, (list, tuple)):
        return list(v)
    raise FuncError(f"cannot {fname} on type {type_name(v)}")


def _dict(v: Any, fname: str, writes: bool = False) -> dict[str, Any]:
    """A ``map[string]interface{}`` parameter: Go passes nil as an empty map, writing to it fails."""
    if isinstance(v, dict):
        return v
    if v is None and not writes:
        return {}
    raise FuncError(f"{fname} needs a dict, not {type_name(v)}")


def make_dict(*kv: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(0, len(kv), 2):
        out[strval(kv[i])] = kv[i + 1] if i + 1 < len(kv) else ""
    return out


def merge(dst: Any, *srcs: Any, overwrite: bool = False) -> dict[str, Any]:
    """mergo.Merge as sprig uses it: fills keys missing in dst (deeply); ``overwrite`` replaces."""
    target = _dict(dst, "merge", writes=True)
    for src in srcs:
        _merge_into(target, _dict(src, "merge"), overwrite)
    return target


def _merge_into(dst: dict[str, Any], src: dict[str, Any], overwrite: bool) -> None:
    for k, v in src.items():
        if isinstance(dst.get(k), dict) and isinstance(v, dict):
            _merge_into(dst[k], v, overwrite)
        elif k not in dst or empty(dst[k]) or (overwrite and not empty(v)):
            dst[k] = copy.deepcopy(v)


def dig(*args: Any) -> Any:
    if len(args) < 3:
        raise FuncError("dig needs at least three arguments")
    *keys, default, d = args
    cur: Any = _dict(d, "dig")
    for k in keys:
        if not isinstance(cur, dict) or s_(k) not in cur:
            return default
        cur = cur[k]
    return cur


def _until_step(start: Any, stop: Any, step: Any) -> list[int]:
    a, b, c = i_(start), i_(stop), i_(step)
    if c == 0:
        return []
    return list(range(a, b, c))


def _seq(*args: Any) -> str:
    nums = [to_int(a) for a in args]
    if len(nums) == 1:
        r = range(1, nums[0] + 1) if nums[0] >= 1 else range(1, nums[0] - 1, -1)
    elif len(nums) == 2:
        r = range(nums[0], nums[1] + (1 if nums[1] >= nums[0] else -1), 1 if nums[1] >= nums[0] else -1)
    elif len(nums) == 3 and nums[1]:
        r = range(nums[0], nums[2] + (1 if nums[1] > 0 else -1), nums[1])
    else:
        return ""
    return " ".join(str(x) for x in r)


def _div(a: Any, b: Any) -> int:
    d = to_int(b)
    if d == 0:
        raise FuncError("integer divide by zero")
    q = abs(to_int(a)) // abs(d)
    return q if (to_int(a) >= 0) == (d > 0) else -q


def _mod(a: Any, b: Any) -> int:
    d = to_int(b)
    if d == 0:
        raise FuncError("integer divide by zero")
    return int(math.fmod(to_int(a), d))


class Cert(GoObject):
    """What ``genCA``/``genSelfSignedCert``/``genSignedCert`` return: ``.Cert`` and ``.Key`` (placeholders)."""

    go_type = "sprig.certificate"

    def __init__(self, cn: str) -> None:
        self.cn = cn

    def go_field(self, name: str, args: list[Any]) -> Any:
        if name == "Cert":
            return f"-----BEGIN CERTIFICATE-----\nplaceholder for {self.cn}\n-----END CERTIFICATE-----\n"
        if name == "Key":
            return f"-----BEGIN RSA PRIVATE KEY-----\nplaceholder for {self.cn}\n-----END RSA PRIVATE KEY-----\n"
        return super().go_field(name, args)


def _set(d: Any, k: Any, v: Any) -> dict[str, Any]:
    target = _dict(d, "set", writes=True)
    target[s_(k)] = v
    return target


class SemverValue(GoObject):
    """What sprig's ``semver`` returns (``*semver.Version``): Major, Minor, Patch, Prerelease..."""

    go_type = "*semver.Version"

    def __init__(self, v: semver.Version) -> None:
        self.v = v

    def go_field(self, name: str, args: list[Any]) -> Any:
        fields = {"Major": self.v.major, "Minor": self.v.minor, "Patch": self.v.patch, "Prerelease": self.v.pre,
                  "Original": self.v.original, "String": str(self.v)}
        if name in fields:
            return fields[name]
        if name in ("Compare", "LessThan", "GreaterThan", "Equal") and args and isinstance(args[0], SemverValue):
            c = -1 if self.v < args[0].v else (1 if args[0].v < self.v else 0)
            return {"Compare": c, "LessThan": c < 0, "GreaterThan": c > 0, "Equal": c == 0}[name]
        return super().go_field(name, args)

    def go_string(self) -> str:
        return str(self.v)


def _placeholder_text(n: Any) -> str:
    return "x" * max(to_int(n), 0)


COLLECTIONS: FuncMap = {
    "semver": lambda v: SemverValue(semver.parse_version(s_(v))),
    "list": lambda *a: list(a),
    "tuple": lambda *a: list(a),
    "first": lambda v: _list(v, "first")[0] if _list(v, "first") else None,
    "last": lambda v: _list(v, "last")[-1] if _list(v, "last") else None,
    "rest": lambda v: _list(v, "rest")[1:],
    "initial": lambda v: _list(v, "initial")[:-1],
    "append": lambda v, x: [*_list(v, "append"), x],
    "push": lambda v, x: [*_list(v, "push"), x],
    "prepend": lambda v, x: [x, *_list(v, "prepend")],
    "concat": lambda *vs: [x for v in vs for x in _list(v, "concat")],
    "reverse": lambda v: list(reversed(_list(v, "reverse"))),
    "uniq": lambda v: [x for i, x in enumerate(_list(v, "uniq")) if x not in _list(v, "uniq")[:i]],
    "without": lambda v, *xs: [x for x in _list(v, "without") if x not in xs],
    "has": lambda x, v: x in _list(v, "has") if v is not None else False,
    "compact": lambda v: [x for x in _list(v, "compact") if not empty(x)],
    "slice": lambda v, *ix: _list(v, "slice")[slice(*(to_int(i) for i in ix))],
    "chunk": lambda n, v: [_list(v, "chunk")[i:i + to_int(n)] for i in range(0, len(_list(v, "chunk")), max(to_int(n), 1))],
    "sortAlpha": lambda v: sorted(strval(x) for x in (_list(v, "sortAlpha") if not isinstance(v, str) else [v])),
    "join": lambda sep, v: s_(sep).join(strval(x) for x in (v if isinstance(v, (list, tuple)) else [v]) if x is not None),
    "splitList": lambda sep, t: s_(t).split(s_(sep)),
    "split": lambda sep, t: {f"_{i}": p for i, p in enumerate(s_(t).split(s_(sep)))},
    "splitn": lambda sep, n, t: {f"_{i}": p for i, p in enumerate(s_(t).split(s_(sep), i_(n) - 1))},
    "toStrings": lambda v: [strval(x) for x in _list(v, "toStrings")],
    "until": lambda n: list(range(i_(n))) if i_(n) >= 0 else list(range(0, i_(n), -1)),
    "untilStep": _until_step,
    "seq": _seq,
    "dict": make_dict,
    "get": lambda d, k: _dict(d, "get").get(s_(k), ""),
    "set": lambda d, k, v: _set(d, k, v),
    "unset": lambda d, k: (_dict(d, "unset", writes=True).pop(s_(k), None), d)[1],
    "hasKey": lambda d, k: s_(k) in _dict(d, "hasKey"),
    "pluck": lambda k, *ds: [d[s_(k)] for d in ds if isinstance(d, dict) and s_(k) in d],
    "keys": lambda *ds: sorted(k for d in ds for k in _dict(d, "keys")),
    "values": lambda d: [_dict(d, "values")[k] for k in sorted(d)],
    "pick": lambda d, *ks: {k: v for k, v in _dict(d, "pick").items() if k in ks},
    "omit": lambda d, *ks: {k: v for k, v in _dict(d, "omit").items() if k not in ks},
    "merge": lambda d, *srcs: merge(d, *srcs),
    "mergeOverwrite": lambda d, *srcs: merge(d, *srcs, overwrite=True),
    "deepCopy": copy.deepcopy,
    "dig": dig,
    "add": lambda *a: sum(to_int(x) for x in a),
    "add1": lambda a: to_int(a) + 1,
    "sub": lambda a, b: to_int(a) - to_int(b),
    "mul": lambda *a: math.prod(to_int(x) for x in a),
    "div": _div,
    "mod": _mod,
    "max": lambda *a: max(to_int(x) for x in a),
    "min": lambda *a: min(to_int(x) for x in a),
    "addf": lambda *a: sum(to_float(x) for x in a),
    "subf": lambda a, *b: to_float(a) - sum(to_float(x) for x in b),
    "mulf": lambda *a: math.prod(to_float(x) for x in a),
    "divf": lambda a, b: to_float(a) / to_float(b),
    "maxf": lambda *a: max(to_float(x) for x in a),
    "minf": lambda *a: min(to_float(x) for x in a),
    "floor": lambda a: float(math.floor(to_float(a))),
    "ceil": lambda a: float(math.ceil(to_float(a))),
    "round": lambda a, p, *r: float(round(to_float(a), to_int(p))),
    "base": lambda p: posixpath.basename(s_(p).rstrip("/")) or "/",
    "dir": lambda p: posixpath.dirname(s_(p)) or ".",
    "ext": lambda p: posixpath.splitext(s_(p))[1],
    "clean": lambda p: posixpath.normpath(s_(p)),
    "isAbs": lambda p: s_(p).startswith("/"),
    # cluster/DNS access: what `helm template` returns without a cluster
    "lookup": lambda *a: {},
    "getHostByName": lambda name: "",
    # random and crypto: deterministic placeholders (never part of an image reference)
    "randAlphaNum": _placeholder_text,
    "randAlpha": _placeholder_text,
    "randNumeric": lambda n: "0" * max(to_int(n), 0),
    "randAscii": _placeholder_text,
    "randInt": lambda a, b: to_int(a),
    "uuidv4": lambda: "00000000-0000-4000-8000-000000000000",
    "now": lambda: "1970-01-01T00:00:00Z",
    "date": lambda fmt, t: "1970-01-01",
    "dateInZone": lambda fmt, t, z: "1970-01-01",
    "unixEpoch": lambda t: "0",
    "htmlDate": lambda t: "1970-01-01",
    "genPrivateKey": lambda kind: "-----BEGIN PRIVATE KEY-----\nplaceholder\n-----END PRIVATE KEY-----\n",
    "genCA": lambda cn, days: Cert(go_str(cn)),
    "genCAWithKey": lambda cn, days, key: Cert(go_str(cn)),
    "genSelfSignedCert": lambda cn, ips, dns, days: Cert(go_str(cn)),
    "genSelfSignedCertWithKey": lambda cn, ips, dns, days, key: Cert(go_str(cn)),
    "genSignedCert": lambda cn, ips, dns, days, ca: Cert(go_str(cn)),
    "genSignedCertWithKey": lambda cn, ips, dns, days, ca, key: Cert(go_str(cn)),
    "htpasswd": lambda user, pw, *a: f"{go_str(user)}:$2a$10$placeholder",
    "bcrypt": lambda pw: "$2a$10$placeholder",
    "derivePassword": lambda *a: "placeholder",
    "encryptAES": lambda key, text: "placeholder",
    "decryptAES": lambda key, text: "placeholder",
}
