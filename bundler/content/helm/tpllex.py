"""Lexer for Go ``text/template`` source: text and actions, ``{{- -}}`` trimming, comments, tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import TemplateError

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FIELD = re.compile(r"\.[A-Za-z_][A-Za-z0-9_]*")
_VAR = re.compile(r"\$[A-Za-z0-9_]*")
_NUMBER = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|"
                     r"(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)")
_SIMPLE = {"(": "lparen", ")": "rparen", "|": "pipe", ",": "comma", "=": "assign"}


@dataclass
class Tok:
    kind: str     # ident field var string number char lparen rparen pipe declare assign comma dot bool nil
    value: Any
    space: bool   # whitespace before it
    line: int


class Lexer:
    """Splits template source into text and action token lists."""

    def __init__(self, name: str, src: str) -> None:
        self.name, self.src = name, src

    def fail(self, pos: int, msg: str) -> TemplateError:
        return TemplateError(self.name, self.src.count("\n", 0, pos) + 1, msg)

    def items(self) -> list[tuple[str, Any, int]]:
        """[("text", str, line) | ("action", [Tok], line)] with trim markers applied."""
        out: list[tuple[str, Any, int]] = []
        pos, trim_next = 0, False
        src = self.src
        while True:
            start = src.find("{{", pos)
            text = src[pos:] if start < 0 else src[pos:start]
            if trim_next:
                text = text.lstrip(" \t\r\n")
            if start < 0:
                if text:
                    out.append(("text", text, src.count("\n", 0, pos) + 1))
                return out
            inner = start + 2
            if src.startswith("-", inner) and inner + 1 < len(src) and src[inner + 1] in " \t\r\n":
                text = text.rstrip(" \t\r\n")
                inner += 2
            if text:
                out.append(("text", text, src.count("\n", 0, pos) + 1))
            line = src.count("\n", 0, start) + 1
            toks, end, trim_next = self._action(inner, line)
            if toks is not None:
                out.append(("action", toks, line))
            pos = end

    def _action(self, pos: int, line: int) -> tuple[list[Tok] | None, int, bool]:
        src = self.src
        probe = pos
        while probe < len(src) and src[probe] in " \t\r\n":
            probe += 1
        if src.startswith("/*", probe):
            close = src.find("*/", probe + 2)
            if close < 0:
                raise self.fail(probe, "unclosed comment")
            m = re.compile(r"(\s+-)?\}\}").match(src, close + 2)
            if not m:
                raise self.fail(close, "comment ends before closing delimiter")
            return None, m.end(), bool(m.group(1))
        toks: list[Tok] = []
        space = False
        while True:
            if pos >= len(src):
                raise self.fail(pos, "unclosed action")
            c = src[pos]
            if c in " \t\r\n":
                m = re.compile(r"[ \t\r\n]+-\}\}").match(src, pos)
                if m:
                    return toks, m.end(), True
                pos, space = pos + 1, True
                continue
            if src.startswith("}}", pos):
                return toks, pos + 2, False
            tok, pos = self._token(pos, space, src.count("\n", 0, pos) + 1)
            toks.append(tok)
            space = False

    def _token(self, pos: int, space: bool, line: int) -> tuple[Tok, int]:
        src = self.src
        if src.startswith(":=", pos):
            return Tok("declare", ":=", space, line), pos + 2
        c = src[pos]
        if c in _SIMPLE:
            return Tok(_SIMPLE[c], c, space, line), pos + 1
        for handler in (self._quoted, self._raw, self._char, self._var, self._field, self._num, self._word):
            got = handler(pos, space, line)
            if got is not None:
                return got
        raise self.fail(pos, f"unexpected {c!r} in action")

    def _raw(self, pos: int, space: bool, line: int) -> tuple[Tok, int] | None:
        if self.src[pos] != "`":
            return None
        end = self.src.find("`", pos + 1)
        if end < 0:
            raise self.fail(pos, "unterminated raw quoted string")
        return Tok("string", self.src[pos + 1:end], space, line), end + 1

    def _char(self, pos: int, space: bool, line: int) -> tuple[Tok, int] | None:
        if self.src[pos] != "'":
            return None
        m = re.compile(r"'(\\.[^']*|[^'\\])'").match(self.src, pos)
        if not m:
            raise self.fail(pos, "bad character constant")
        return Tok("number", ord(_unescape(m.group(1), self.fail, pos)), space, line), m.end()

    def _var(self, pos: int, space: bool, line: int) -> tuple[Tok, int] | None:
        m = _VAR.match(self.src, pos)
        return (Tok("var", m.group(0), space, line), m.end()) if m else None

    def _field(self, pos: int, space: bool, line: int) -> tuple[Tok, int] | None:
        m = _FIELD.match(self.src, pos)
        return (Tok("field", m.group(0)[1:], space, line), m.end()) if m else None

    def _num(self, pos: int, space: bool, line: int) -> tuple[Tok, int] | None:
        src, c = self.src, self.src[pos]
        if not (c.isdigit() or c in "+-" or (c == "." and src[pos + 1:pos + 2].isdigit())):
            return None
        m = _NUMBER.match(src, pos)
        return (Tok("number", _number(m.group(0)), space, line), m.end()) if m else None

    def _word(self, pos: int, space: bool, line: int) -> tuple[Tok, int] | None:
        if self.src[pos] == ".":
            return Tok("dot", ".", space, line), pos + 1
        m = _IDENT.match(self.src, pos)
        if not m:
            return None
        word = m.group(0)
        if word in ("true", "false"):
            return Tok("bool", word == "true", space, line), m.end()
        if word == "nil":
            return Tok("nil", None, space, line), m.end()
        return Tok("ident", word, space, line), m.end()

    def _quoted(self, pos: int, space: bool, line: int) -> tuple[Tok, int] | None:
        if self.src[pos] != '"':
            return None
        m = re.compile(r'"((?:[^"\\\n]|\\.)*)"').match(self.src, pos)
        if not m:
            raise self.fail(pos, "unterminated quoted string")
        return Tok("string", _unescape(m.group(1), self.fail, pos), space, line), m.end()


def _number(text: str) -> int | float:
    t = text.replace("_", "")
    try:
        return int(t, 0)
    except ValueError:
        return float(t)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a", "b": "\b",
            "f": "\f", "v": "\v", "0": "\0"}


def _unescape(s: str, fail: Any, pos: int) -> str:
    """Go string-literal escapes (``\\n``, ``\\t``, ``\\xNN``, ``\\uNNNN``...)."""
    if "\\" not in s:
        return s
    out, i = [], 0
    while i < len(s):
        ch = s[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = s[i + 1] if i + 1 < len(s) else ""
        if nxt in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[nxt]
            out.append(chr(int(s[i + 2:i + 2 + width], 16)))
            i += 2 + width
        elif nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            raise fail(pos, f"unknown escape sequence \\{nxt}")
    return "".join(out)
