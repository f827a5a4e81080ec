"""A small evaluator of Go's ``text/template`` as helm charts use it (helm's engine semantics).

``Engine`` holds every parsed file and ``define`` of a chart tree in one namespace (later definitions
win, as in helm). ``render(name, data, unresolved)`` executes one file. An expression it cannot
evaluate (an unsupported function, or an error helm would raise too: ``required``, ``fail``, ``nil
pointer evaluating``, incompatible comparison) raises :class:`TemplateError` with template and line;
when ``unresolved`` is a list the error is recorded there instead, the action's output becomes a
marker (``__BUNDLER_UNRESOLVED_<n>__``) and the rest of the file is still rendered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import tplfuncs
from .errors import TemplateError
from .gofmt import GoObject, go_str, type_name
from .tplparse import (
    Action,
    Branch,
    Chain,
    Command,
    Control,
    Dot,
    FieldRef,
    Ident,
    Literal,
    Node,
    Pipe,
    TemplateCall,
    Text,
    VarRef,
    parse,
)

MARKER = "__BUNDLER_UNRESOLVED_{}__"
MARKER_RE = re.compile(r"__BUNDLER_UNRESOLVED_(\d+)__")
MAX_DEPTH = 60
MAX_STEPS = 5_000_000
_MISSING = object()


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class BudgetExceeded(TemplateError):
    """Too many steps or too deep a recursion: never recovered, the file is abandoned."""


def truth(v: Any) -> bool:
    """text/template ``isTrue``: nil, false, 0, empty string/list/map are false."""
    if v is None:
        return False
    if isinstance(v, (bool, int, float)):
        return bool(v)
    if isinstance(v, (str, list, tuple, dict, bytes)):
        return len(v) > 0
    return True


class Engine:
    """Named templates (files and defines) of a chart tree, and the function table."""

    def __init__(self, funcs: dict[str, Callable[..., Any]] | None = None) -> None:
        self.templates: dict[str, tuple[str, list[Node]]] = {}
        self.funcs = dict(tplfuncs.FUNCS if funcs is None else funcs)
        self.steps = 0

    def add(self, name: str, src: str) -> None:
        """Parse a file; its defines join (and override) the shared namespace. TemplateError on syntax."""
        tree = parse(name, src)
        self.templates[name] = (name, tree.body)
        for dname, body in tree.defines.items():
            if body or dname not in self.templates:
                self.templates[dname] = (name, body)

    def render(self, name: str, data: Any, unresolved: list[TemplateError] | None = None) -> str:
        """Execute template ``name`` with ``data``; ``<no value>`` removed as helm does."""
        if name not in self.templates:
            raise TemplateError(name, 0, f'no template "{name}"')
        self.steps = 0
        try:
            out = Exec(self, name, data, unresolved, depth=0).run(self.templates[name][1])
        except RecursionError:
            raise BudgetExceeded(name, 0, "templates nest too deeply to evaluate") from None
        return out.replace("<no value>", "")

    def execute(self, name: str, data: Any, depth: int, caller: str, line: int,
                unresolved: list[TemplateError] | None = None) -> str:
        if name not in self.templates:
            raise TemplateError(caller, line, f'no template "{name}" associated with template "gotpl"')
        if depth > MAX_DEPTH:
            raise BudgetExceeded(caller, line, f'template "{name}" nests deeper than {MAX_DEPTH} levels')
        owner, body = self.templates[name]
        return Exec(self, owner, data, unresolved, depth).run(body)


class Exec:
    """One execution of a template body: its variables, the file it comes from, error recovery."""

    def __init__(self, engine: Engine, owner: str, data: Any, unresolved: list[TemplateError] | None,
                 depth: int) -> None:
        self.engine, self.owner, self.unresolved, self.depth = engine, owner, unresolved, depth
        self.vars: list[list[Any]] = [["$", data]]
        self.line = 0

    def err(self, msg: str, line: int | None = None) -> TemplateError:
        return TemplateError(self.owner, self.line if line is None else line, msg)

    def run(self, body: list[Node]) -> str:
        out: list[str] = []
        self.walk(self.vars[0][1], body, out)
        return "".join(out)

    def _step(self, line: int) -> None:
        self.line = line
        self.engine.steps += 1
        if self.engine.steps > MAX_STEPS:
            raise BudgetExceeded(self.owner, line, f"evaluation exceeds {MAX_STEPS} steps")

    def _recover(self, exc: TemplateError, out: list[str]) -> None:
        if self.unresolved is None or isinstance(exc, BudgetExceeded):
            raise exc
        self.unresolved.append(exc)
        out.append(MARKER.format(len(self.unresolved) - 1))

    # -- statements ------------------------------------------------------------------------------

    def walk(self, dot: Any, nodes: list[Node], out: list[str]) -> None:
        for node in nodes:
            self._step(node.line)
            if isinstance(node, Text):
                out.append(node.text)
            elif isinstance(node, Action):
                self.action(dot, node, out)
            elif isinstance(node, Branch):
                self.branch(dot, node, out)
            elif isinstance(node, TemplateCall):
                try:
                    arg = self.eval_pipe(dot, node.pipe) if node.pipe else None
                    out.append(self.engine.execute(node.name, arg, self.depth + 1, self.owner, node.line,
                                                   self.unresolved))
                except TemplateError as exc:
                    self._recover(exc, out)
            elif isinstance(node, Control):
                raise _Break() if node.kind == "break" else _Continue()

    def action(self, dot: Any, node: Action, out: list[str]) -> None:
        try:
            value = self.eval_pipe(dot, node.pipe)
            if not node.pipe.decl:
                out.append(go_str(value, top=True))
        except TemplateError as exc:
            self._recover(exc, out)
            if node.pipe.decl and not node.pipe.assign:
                # declare anyway, holding the marker: later uses are tainted, not "undefined variable"
                marker = out.pop()
                self.vars.extend([name, marker] for name in node.pipe.decl)

    def branch(self, dot: Any, node: Branch, out: list[str]) -> None:
        mark = len(self.vars)
        try:
            if node.kind == "range":
                self.range(dot, node, out)
                return
            try:
                value = self.eval_pipe(dot, node.pipe)
            except TemplateError as exc:
                self._recover(exc, out)
                return
            if truth(value):
                self.walk(value if node.kind == "with" else dot, node.body, out)
            else:
                self.walk(dot, node.else_, out)
        finally:
            del self.vars[mark:]

    def range(self, dot: Any, node: Branch, out: list[str]) -> None:
        pipe = node.pipe
        try:
            value = self.eval_pipe(dot, Pipe(pipe.line, pipe.commands))
            items = self._range_items(value)
        except TemplateError as exc:
            self._recover(exc, out)
            return
        if not items:
            self.walk(dot, node.else_, out)
            return
        mark = len(self.vars)
        for key, elem in items:
            del self.vars[mark:]
            if len(pipe.decl) == 1:
                self.vars.append([pipe.decl[0], elem])
            elif len(pipe.decl) == 2:
                self.vars.extend([[pipe.decl[0], key], [pipe.decl[1], elem]])
            try:
                self.walk(elem, node.body, out)
            except _Break:
                break
            except _Continue:
                continue

    def _range_items(self, value: Any) -> list[tuple[Any, Any]]:
        if value is None:
            return []
        if isinstance(value, dict):
            return [(k, value[k]) for k in sorted(value, key=str)]
        if isinstance(value, (list, tuple)):
            return list(enumerate(value))
        if isinstance(value, int) and not isinstance(value, bool):
            return [(i, i) for i in range(value)]
        if isinstance(value, GoObject) and hasattr(value, "go_items"):
            return list(value.go_items())
        raise self.err(f"range can't iterate over {go_str(value)}")

    # -- expressions -----------------------------------------------------------------------------

    def eval_pipe(self, dot: Any, pipe: Pipe) -> Any:
        value: Any = _MISSING
        for cmd in pipe.commands:
            value = self.eval_cmd(dot, cmd, value)
        for name in pipe.decl:
            if pipe.assign:
                self.set_var(name, value)
            else:
                self.vars.append([name, value])
        return value

    def eval_cmd(self, dot: Any, cmd: Command, final: Any) -> Any:
        self._step(cmd.line)
        first, rest = cmd.args[0], cmd.args[1:]
        if isinstance(first, Ident):
            return self.call(dot, first.name, rest, final)
        if isinstance(first, FieldRef):
            return self.chain(dot, dot, first.names, rest, final)
        if isinstance(first, VarRef) and first.names:
            return self.chain(dot, self.var(first.name), first.names, rest, final)
        if isinstance(first, Chain):
            return self.chain(dot, self.eval_arg(dot, first.node), first.names, rest, final)
        if rest or final is not _MISSING:
            raise self.err(f"can't give argument to non-function {self._describe(first)}")
        return self.eval_arg(dot, first)

    def _describe(self, node: Node) -> str:
        if isinstance(node, Literal):
            return go_str(node.value)
        if isinstance(node, VarRef):
            return node.name
        return "." if isinstance(node, Dot) else type(node).__name__

    def eval_arg(self, dot: Any, node: Node) -> Any:
        if isinstance(node, Dot):
            return dot
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, FieldRef):
            return self.chain(dot, dot, node.names, [], _MISSING)
        if isinstance(node, VarRef):
            value = self.var(node.name)
            return self.chain(dot, value, node.names, [], _MISSING) if node.names else value
        if isinstance(node, Chain):
            return self.chain(dot, self.eval_arg(dot, node.node), node.names, [], _MISSING)
        if isinstance(node, Pipe):
            mark = len(self.vars)
            try:
                return self.eval_pipe(dot, node)
            finally:
                del self.vars[mark:]
        if isinstance(node, Ident):
            return self.call(dot, node.name, [], _MISSING)
        raise self.err(f"can't evaluate {type(node).__name__}")

    def var(self, name: str) -> Any:
        for entry in reversed(self.vars):
            if entry[0] == name:
                return entry[1]
        raise self.err(f"undefined variable: {name}")

    def set_var(self, name: str, value: Any) -> None:
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return
        raise self.err(f"undefined variable: {name}")

    def chain(self, dot: Any, receiver: Any, names: list[str], arg_nodes: list[Node], final: Any) -> Any:
        """A field chain. A nil at its start (dot, a variable, a parenthesised pipeline) is Go's invalid
        value and yields nil; a nil met inside the chain (a missing map key) fails on the next field,
        which is why charts write ``((.Values.global).x).y`` for safe navigation."""
        if receiver is None:
            return None
        for name in names[:-1]:
            receiver = self.field(receiver, name, None)
        args = [self.eval_arg(dot, n) for n in arg_nodes]
        if final is not _MISSING:
            args.append(final)
        return self.field(receiver, names[-1], args if (arg_nodes or final is not _MISSING) else None)

    def field(self, receiver: Any, name: str, args: list[Any] | None) -> Any:
        if receiver is None:
            raise self.err(f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, dict):
            if args is not None:
                raise self.err(f"{name} is not a method but has arguments")
            return receiver.get(name)
        if isinstance(receiver, GoObject):
            try:
                return receiver.go_field(name, args or [])
            except LookupError as exc:
                raise self.err(str(exc.args[0] if exc.args else exc)) from None
            except tplfuncs.FuncError as exc:
                raise self.err(f"error calling {name}: {exc}") from None
        raise self.err(f"can't evaluate field {name} in type {type_name(receiver)}")

    def call(self, dot: Any, name: str, arg_nodes: list[Node], final: Any) -> Any:
        if name in ("and", "or"):
            return self._and_or(dot, name, arg_nodes, final)
        special: dict[str, Callable[..., Any]] = {"include": self._include, "tpl": self._tpl,
                                                  "required": self._required, "fail": self._fail}
        fn = special.get(name) or self.engine.funcs.get(name)
        if fn is None:
            raise self.err(f'function "{name}" not defined')
        args = [self.eval_arg(dot, n) for n in arg_nodes]
        if final is not _MISSING:
            args.append(final)
        try:
            return fn(*args)
        except TemplateError:
            raise
        except tplfuncs.FuncError as exc:
            raise self.err(f"error calling {name}: {exc}") from None
        except TypeError as exc:
            raise self.err(f"wrong number or type of args for {name}: {exc}") from None
        except (ValueError, ArithmeticError, IndexError, KeyError, AttributeError, re.error) as exc:
            raise self.err(f"error calling {name}: {exc}") from None

    def _and_or(self, dot: Any, name: str, arg_nodes: list[Node], final: Any) -> Any:
        count = len(arg_nodes) + (final is not _MISSING)
        if not count:
            raise self.err(f"wrong number of args for {name}: want at least 1 got 0")
        value: Any = None
        for i in range(count):
            value = self.eval_arg(dot, arg_nodes[i]) if i < len(arg_nodes) else final
            if truth(value) != (name == "and"):
                return value
        return value

    def _include(self, name: Any, data: Any = None) -> str:
        if not isinstance(name, str):
            raise tplfuncs.FuncError(f"template name must be a string, not {type_name(name)}")
        return self.engine.execute(name, data, self.depth + 1, self.owner, self.line)

    def _tpl(self, text: Any, data: Any) -> str:
        if not isinstance(text, str):
            raise tplfuncs.FuncError(f"tpl needs a string, not {type_name(text)}")
        line = self.line
        sub = Engine(self.engine.funcs)
        sub.templates = dict(self.engine.templates)
        sub.steps = self.engine.steps
        try:
            sub.add(self.owner, text)
            out = Exec(sub, self.owner, data, None, self.depth + 1).run(sub.templates[self.owner][1])
        except BudgetExceeded:
            raise
        except TemplateError as exc:
            raise self.err(f"error in tpl {text[:80]!r}: {exc.reason}", line) from None
        finally:
            self.engine.steps = sub.steps
        return out.replace("<no value>", "")

    def _required(self, msg: Any, value: Any = None) -> Any:
        if value is None or value == "":
            raise self.err(f"required value missing: {go_str(msg)}")
        return value

    def _fail(self, msg: Any) -> Any:
        raise self.err(f"chart calls fail: {go_str(msg)}")
