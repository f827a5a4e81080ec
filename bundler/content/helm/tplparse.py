"""Parse Go ``text/template`` source (as helm charts write it) into a small node tree.

Covers actions, ``{{- -}}`` trimming, comments, pipelines, ``$`` variables (declare/assign), fields and
chains, parenthesised pipelines, literals, ``if/else if/else``, ``with/else with``, ``range`` (with
``$i, $v :=``, ``else``, ``break``, ``continue``), ``define``, ``template`` and ``block``.
Line numbers are kept on every node so an evaluation error names template file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import TemplateError
from .tpllex import Lexer, Tok

_KEYWORDS = {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"}


# -- nodes ---------------------------------------------------------------------------------------

@dataclass
class Node:
    line: int


@dataclass
class Text(Node):
    text: str


@dataclass
class Literal(Node):
    value: Any


@dataclass
class Dot(Node):
    pass


@dataclass
class FieldRef(Node):
    """``.A.B`` on dot."""
    names: list[str]


@dataclass
class VarRef(Node):
    """``$x.A.B``; ``$`` alone is the root data."""
    name: str
    names: list[str] = field(default_factory=list)


@dataclass
class Ident(Node):
    """A function name."""
    name: str


@dataclass
class Chain(Node):
    """``(pipeline).A.B`` or ``literal.A``."""
    node: Node
    names: list[str]


@dataclass
class Command(Node):
    args: list[Node]


@dataclass
class Pipe(Node):
    commands: list[Command]
    decl: list[str] = field(default_factory=list)
    assign: bool = False     # ``$x = ...`` (not ``:=``)


@dataclass
class Action(Node):
    pipe: Pipe


@dataclass
class Branch(Node):
    """if / with / range: ``body`` when true, ``else_`` otherwise."""
    kind: str
    pipe: Pipe
    body: list[Node]
    else_: list[Node]


@dataclass
class TemplateCall(Node):
    name: str
    pipe: Pipe | None


@dataclass
class Control(Node):
    """``break`` or ``continue``."""
    kind: str


@dataclass
class Tree:
    """A parsed template: its body and the ``define``d templates found in it."""
    name: str
    body: list[Node]
    defines: dict[str, list[Node]]


# -- parser --------------------------------------------------------------------------------------

class Parser:
    """Recursive descent over the lexer's items; mirrors text/template/parse."""

    def __init__(self, name: str, src: str) -> None:
        self.name = name
        self.lexer = Lexer(name, src)
        self.items = self.lexer.items()
        self.i = 0
        self.defines: dict[str, list[Node]] = {}

    def err(self, line: int, msg: str) -> TemplateError:
        return TemplateError(self.name, line, msg)

    def parse(self) -> Tree:
        body, end = self._list(top=True)
        if end is not None:
            raise self.err(end[1], f"unexpected {{{{{end[0]}}}}}")
        return Tree(self.name, body, self.defines)

    def _list(self, top: bool = False) -> tuple[list[Node], tuple[str, int, list[Tok]] | None]:
        """Nodes until ``end``/``else`` (returned as the terminator) or the end of input."""
        nodes: list[Node] = []
        while self.i < len(self.items):
            kind, value, line = self.items[self.i]
            self.i += 1
            if kind == "text":
                nodes.append(Text(line, value))
                continue
            toks: list[Tok] = value
            if not toks:
                raise self.err(line, "missing value for command")
            head = toks[0]
            word = head.value if head.kind == "ident" and head.value in _KEYWORDS else None
            if word in ("end", "else"):
                return nodes, (word, line, toks[1:])
            if word == "define":
                if not top:
                    raise self.err(line, "unexpected define: not at top level")
                self._define(toks[1:], line)
            elif word is not None:
                nodes.append(self._keyword(word, toks[1:], line))
            else:
                nodes.append(Action(line, self._pipe(toks, line, allow_decl=True)))
        return nodes, None

    def _define(self, toks: list[Tok], line: int) -> None:
        if len(toks) != 1 or toks[0].kind != "string":
            raise self.err(line, "define needs a quoted template name")
        body, end = self._list()
        if end is None or end[0] != "end":
            raise self.err(line, f"unexpected EOF in define {toks[0].value!r}")
        self.defines[toks[0].value] = body

    def _keyword(self, word: str, toks: list[Tok], line: int) -> Node:
        if word in ("break", "continue"):
            return Control(line, word)
        if word == "template":
            return self._template(toks, line)
        if word == "block":
            call = self._template(toks, line)
            body, end = self._list()
            if end is None or end[0] != "end":
                raise self.err(line, "unexpected EOF in block")
            assert isinstance(call, TemplateCall)
            self.defines[call.name] = body
            return call
        return self._branch(word, toks, line)

    def _template(self, toks: list[Tok], line: int) -> Node:
        if not toks or toks[0].kind != "string":
            raise self.err(line, "template needs a quoted template name")
        pipe = self._pipe(toks[1:], line, allow_decl=False) if len(toks) > 1 else None
        return TemplateCall(line, toks[0].value, pipe)

    def _branch(self, word: str, toks: list[Tok], line: int) -> Node:
        pipe = self._pipe(toks, line, allow_decl=True, range_decl=word == "range")
        body, end = self._list()
        else_: list[Node] = []
        if end is None:
            raise self.err(line, f"unexpected EOF in {word}")
        if end[0] == "else":
            rest = end[2]
            if rest and rest[0].kind == "ident" and rest[0].value in ("if", "with") and word in ("if", "with"):
                # {{else if x}} / {{else with x}}: a nested branch that consumes the shared {{end}}
                else_ = [self._branch(rest[0].value, rest[1:], end[1])]
            else:
                else_, end2 = self._list()
                if end2 is None or end2[0] != "end":
                    raise self.err(end[1], f"expected end after else in {word}")
        return Branch(line, word, pipe, body, else_)

    def _pipe(self, toks: list[Tok], line: int, allow_decl: bool, range_decl: bool = False) -> Pipe:
        decl: list[str] = []
        assign = False
        pos = 0
        if allow_decl and toks and toks[0].kind == "var":
            names = [toks[0].value]
            j = 1
            if range_decl and len(toks) > 3 and toks[1].kind == "comma" and toks[2].kind == "var":
                names.append(toks[2].value)
                j = 3
            if j < len(toks) and toks[j].kind in ("declare", "assign"):
                decl, assign, pos = names, toks[j].kind == "assign", j + 1
        commands, pos = self._commands(toks, pos, line)
        if pos != len(toks):
            raise self.err(line, f"unexpected {toks[pos].value!r} in command")
        if not commands:
            raise self.err(line, "missing value for command")
        return Pipe(line, commands, decl, assign)

    def _commands(self, toks: list[Tok], pos: int, line: int) -> tuple[list[Command], int]:
        commands: list[Command] = []
        args: list[Node] = []
        while pos < len(toks):
            t = toks[pos]
            if t.kind == "rparen":
                break
            if t.kind == "pipe":
                if not args:
                    raise self.err(t.line, "missing command before |")
                commands.append(Command(t.line, args))
                args, pos = [], pos + 1
                continue
            node, pos = self._operand(toks, pos)
            args.append(node)
        if args:
            commands.append(Command(line, args))
        elif commands:
            raise self.err(line, "missing command after |")
        return commands, pos

    def _operand(self, toks: list[Tok], pos: int) -> tuple[Node, int]:
        t = toks[pos]
        node: Node
        pos += 1
        if t.kind == "lparen":
            commands, pos = self._commands(toks, pos, t.line)
            if pos >= len(toks) or toks[pos].kind != "rparen":
                raise self.err(t.line, "unclosed left paren")
            pos += 1
            node = Pipe(t.line, commands)
        elif t.kind == "field":
            names = [t.value]
            while pos < len(toks) and toks[pos].kind == "field" and not toks[pos].space:
                names.append(toks[pos].value)
                pos += 1
            return FieldRef(t.line, names), pos
        elif t.kind == "var":
            names = []
            while pos < len(toks) and toks[pos].kind == "field" and not toks[pos].space:
                names.append(toks[pos].value)
                pos += 1
            return VarRef(t.line, t.value, names), pos
        elif t.kind == "dot":
            node = Dot(t.line)
        elif t.kind == "ident":
            node = Ident(t.line, t.value)
        elif t.kind in ("string", "number", "bool", "nil"):
            node = Literal(t.line, t.value)
        else:
            raise self.err(t.line, f"unexpected {t.value!r} in operand")
        names = []
        while pos < len(toks) and toks[pos].kind == "field" and not toks[pos].space:
            names.append(toks[pos].value)
            pos += 1
        return (Chain(t.line, node, names) if names else node), pos


def parse(name: str, src: str) -> Tree:
    """Parse ``src`` (named ``name`` in errors); TemplateError with the line on a syntax error."""
    return Parser(name, src).parse()
