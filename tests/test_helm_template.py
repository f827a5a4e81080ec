"""The Go text/template evaluator: the semantics helm charts rely on, and its errors with file and line.

Expected outputs follow Go's text/template and sprig as helm v3.21 runs them (checked against their
source: missingkey=zero, float64 values, nil-pointer rules, sprig argument types)."""

from __future__ import annotations

from typing import Any

import pytest

from bundler.content.helm.errors import TemplateError
from bundler.content.helm.template import MARKER_RE, Engine


def render(src: str, values: Any = None, defines: str = "", **data: Any) -> str:
    e = Engine()
    if defines:
        e.add("c/templates/_helpers.tpl", defines)
    e.add("c/templates/t.yaml", src)
    return e.render("c/templates/t.yaml", {"Values": values or {}, **data})


def error_of(src: str, values: Any = None, defines: str = "") -> TemplateError:
    with pytest.raises(TemplateError) as info:
        render(src, values, defines)
    return info.value


@pytest.mark.parametrize("src, values, want", [
    ("{{ .Values.a.b }}", {"a": {"b": "x"}}, "x"),
    ("{{ .Values.missing }}|", {}, "|"),                                  # <no value> removed
    ("{{ $.Values.a }}", {"a": 1.0}, "1"),                                # values are float64
    ("{{ .Values.n }}", {"n": 1000000.0}, "1e+06"),                       # ... printed as Go does
    ("{{ .Values.t }}", {"t": 1.1}, "1.1"),
    ("{{ .Values.l }}", {"l": ["a", 1.0]}, "[a 1]"),
    ("{{ .Values.m }}", {"m": {"b": 2.0, "a": "x"}}, "map[a:x b:2]"),
    ("{{- \"  a \" -}}  b  {{- 'c' }}", {}, "  a b99"),                    # trim markers, char constant
    ("a {{/* comment */}} b {{- /* trimmed */}}", {}, "a  b"),
    ("{{ if .Values.on }}y{{ else if .Values.other }}o{{ else }}n{{ end }}", {"other": "1"}, "o"),
    ("{{ with .Values.a }}{{ .b }}{{ else }}none{{ end }}", {"a": {"b": "in"}}, "in"),
    ("{{ with .Values.a }}{{ .b }}{{ else }}none{{ end }}", {}, "none"),
    ("{{ range .Values.l }}[{{ . }}]{{ end }}", {"l": ["x", "y"]}, "[x][y]"),
    ("{{ range $i, $v := .Values.l }}{{ $i }}={{ $v }};{{ end }}", {"l": ["x", "y"]}, "0=x;1=y;"),
    ("{{ range $k, $v := .Values.m }}{{ $k }}={{ $v }};{{ end }}", {"m": {"b": "2", "a": "1"}}, "a=1;b=2;"),
    ("{{ range .Values.l }}x{{ else }}empty{{ end }}", {"l": []}, "empty"),
    ("{{ range $i, $v := .Values.l }}{{ if eq $v \"b\" }}{{ break }}{{ end }}{{ $v }}{{ end }}", {"l": ["a", "b", "c"]}, "a"),
    ("{{ range .Values.l }}{{ if eq . \"b\" }}{{ continue }}{{ end }}{{ . }}{{ end }}", {"l": ["a", "b", "c"]}, "ac"),
    ("{{ $x := \"a\" }}{{ if true }}{{ $x = \"b\" }}{{ end }}{{ $x }}", {}, "b"),
    ("{{ range $i := until 3 }}{{ $i }}{{ end }}", {}, "012"),
    ("{{ ((.Values.global).registry).host }}|", {}, "|"),                 # safe navigation through parens
    ("{{ $g := .Values.global }}{{ $g.x }}|", {}, "|"),                    # nil variable: no error
    ("{{ default \"d\" .Values.x }}", {}, "d"),
    ("{{ .Values.x | default \"d\" }}", {"x": ""}, "d"),
    ("{{ .Values.tag | toString }}", {"tag": 1.10}, "1.1"),
    ("{{ quote .Values.a }} {{ squote .Values.b }}", {"a": "x\"y", "b": 2.0}, "\"x\\\"y\" '2'"),
    ("{{ printf \"%s:%v\" .Values.r .Values.t }}", {"r": "img", "t": 3.0}, "img:3"),
    ("{{ printf \"%s:%s\" .Values.r .Values.t }}", {"r": "img", "t": 3.5}, "img:%!s(float64=3.5)"),
    ("{{ trimSuffix \"/\" \"a/\" }}{{ trimPrefix \"v\" \"v1\" }}{{ trim \" x \" }}", {}, "a1x"),
    ("{{ \"a\\nb\" | indent 2 }}|{{ \"x\" | nindent 2 }}", {}, "  a\n  b|\n  x"),
    ("{{ upper \"a\" }}{{ lower \"B\" }}{{ replace \".\" \"-\" \"1.2\" }}", {}, "Ab1-2"),
    ("{{ and 1 0 }}{{ or 0 \"\" \"z\" }}{{ not true }}", {}, "0zfalse"),
    ("{{ if and .Values.a .Values.a.b }}y{{ end }}", {}, ""),             # and short-circuits
    ("{{ hasKey .Values \"a\" }}{{ empty .Values.b }}{{ coalesce .Values.b \"\" \"c\" }}", {"a": 1.0}, "truetruec"),
    ("{{ ternary \"y\" \"n\" (eq .Values.s \"on\") }}", {"s": "on"}, "y"),
    ("{{ $d := dict \"a\" 1 \"b\" (list 1 2) }}{{ get $d \"a\" }}{{ index $d.b 1 }}{{ len $d.b }}", {}, "122"),
    ("{{ toYaml .Values.r | nindent 2 }}", {"r": {"limits": {"cpu": 1.0}, "b": ["x"]}}, "\n  b:\n  - x\n  limits:\n    cpu: 1"),
    ("{{ semverCompare \">=1.21-0\" .Capabilities.KubeVersion.GitVersion }}", {}, "true"),
    ("{{ tpl .Values.t . }}", {"t": "{{ .Values.n }}-x", "n": "v"}, "v-x"),
    ("{{ include \"img\" .Values }}", {"r": "q.io/a", "t": "1"}, "q.io/a:1"),
    ("{{ template \"img\" .Values }}", {"r": "q.io/a", "t": "1"}, "q.io/a:1"),
    ("{{ regexReplaceAll \"(\\\\d+)\" \"v12\" \"<$1>\" }}", {}, "v<12>"),
    ("{{ .Values.a | b64enc }}{{ \"x\" | sha256sum | trunc 8 }}", {"a": "hi"}, "aGk=2d711642"),
    ("{{ eq .Values.n 1.0 }}{{ ne .Values.s \"x\" }}{{ lt 1 2 }}", {"n": 1.0, "s": "y"}, "truetruetrue"),
    ("{{ merge (dict \"a\" 1) (dict \"a\" 2 \"b\" 3) | toJson }}", {}, '{"a":1,"b":3}'),
    ("{{ splitList \",\" \"a,b\" | join \"+\" }}{{ contains \"b\" \"abc\" }}", {}, "a+btrue"),
    ("{{ .Files.Get \"conf/a.txt\" }}", {}, "file-a"),
    ("{{ .Chart.Name }}-{{ .Chart.AppVersion }}", {}, "demo-2.0"),
    ("{{ $v := semver \"1.2.3-rc.1\" }}{{ printf \"%d.%d\" $v.Major $v.Minor }}-{{ $v.Prerelease }}", {}, "1.2-rc.1"),
    ("{{ $s := (lookup \"v1\" \"Secret\" \"ns\" \"n\").data }}{{ hasKey $s \"k\" }}", {}, "false"),   # nil map
])
def test_semantics(src: str, values: Any, want: str) -> None:
    from bundler.content.helm.chart import Chart, ChartFile
    from bundler.content.helm.render import Capabilities, ChartMeta, Files
    chart = Chart({"name": "demo", "version": "1.0.0", "appVersion": "2.0"}, {}, [], [])
    got = render(src, values, defines='{{- define "img" -}}{{ .r }}:{{ .t }}{{- end -}}',
                 Capabilities=Capabilities("v1.31.0"), Chart=ChartMeta(chart),
                 Files=Files({"conf/a.txt": ChartFile("conf/a.txt", b"file-a").data}))
    assert got == want


@pytest.mark.parametrize("src, values, line, reason", [
    ("ok\n{{ .Values.a.b.c }}", {}, 2, "nil pointer evaluating interface {}.b"),
    ("{{ required \"image.tag is required\" .Values.tag }}", {}, 1, "required value missing: image.tag is required"),
    ("\n\n{{ fail \"unsupported setup\" }}", {}, 3, "chart calls fail: unsupported setup"),
    ("{{ eq .Values.replicas 1 }}", {"replicas": 1.0}, 1, "incompatible types for comparison"),
    ("{{ lower .Values.tag }}", {"tag": 2.0}, 1, "expected string; got float64"),
    ("{{ nosuchfunc 1 }}", {}, 1, 'function "nosuchfunc" not defined'),
    ("{{ include \"missing\" . }}", {}, 1, 'no template "missing"'),
    ("{{ $undefined }}", {}, 1, "undefined variable: $undefined"),
    ("{{ .Values.s.x }}", {"s": "str"}, 1, "can't evaluate field x in type string"),
    ("{{ index .Values.l 5 }}", {"l": [1.0]}, 1, "index out of range"),
    ("{{ range .Values.n }}{{ end }}", {"n": 3.0}, 1, "range can't iterate over 3"),
])
def test_errors_name_file_and_line(src: str, values: Any, line: int, reason: str) -> None:
    err = error_of(src, values)
    assert err.template == "c/templates/t.yaml"
    assert err.line == line
    assert reason in err.reason
    assert f"c/templates/t.yaml:{line}:" in str(err)


def test_error_inside_named_template_points_at_the_helper() -> None:
    defines = '{{- define "img" -}}\n{{ .image.registry.host }}\n{{- end -}}'
    err = error_of('{{ include "img" .Values }}', {"image": {}}, defines)
    assert (err.template, err.line) == ("c/templates/_helpers.tpl", 2)


@pytest.mark.parametrize("src, line, reason", [
    ("{{ if .Values.a }}never closed", 1, "unexpected EOF in if"),
    ("a\n{{ .Values.a ", 2, "unclosed action"),
    ("{{ \"unterminated }}", 1, "unterminated quoted string"),
    ("{{ end }}", 1, "unexpected {{end}}"),
    ("{{ /* open comment }}", 1, "unclosed comment"),
    ("{{ ( .Values.a }}", 1, "unclosed left paren"),
])
def test_parse_errors(src: str, line: int, reason: str) -> None:
    with pytest.raises(TemplateError) as info:
        Engine().add("c/templates/bad.yaml", src)
    assert (info.value.template, info.value.line) == ("c/templates/bad.yaml", line)
    assert reason in info.value.reason


def test_recovery_records_and_keeps_rendering() -> None:
    """With a list for unresolved expressions, each failing action becomes a marker and the rest of the
    file still renders; a failing if-condition leaves a marker instead of either branch."""
    e = Engine()
    e.add("c/templates/t.yaml", "a: {{ .Values.x.y }}\nb: {{ .Values.ok }}\n"
                                "{{ if .Values.x.z }}then{{ else }}otherwise{{ end }}\nf: {{ lower 1 }}\ng: end")
    unresolved: list[TemplateError] = []
    out = e.render("c/templates/t.yaml", {"Values": {"ok": "fine"}}, unresolved)
    assert [u.line for u in unresolved] == [1, 3, 4]
    assert "b: fine" in out and out.endswith("g: end")
    assert "then" not in out and "otherwise" not in out
    assert MARKER_RE.findall(out) == ["0", "1", "2"]     # one marker where each failure was


def test_failed_declaration_still_declares_the_variable() -> None:
    """One failure, not a cascade of "undefined variable" errors: the variable holds the marker."""
    e = Engine()
    e.add("c/templates/t.yaml", "{{ $x := nosuch 1 }}a={{ $x }}\nb={{ $x }}")
    unresolved: list[TemplateError] = []
    out = e.render("c/templates/t.yaml", {}, unresolved)
    assert len(unresolved) == 1 and out == "a=__BUNDLER_UNRESOLVED_0__\nb=__BUNDLER_UNRESOLVED_0__"


def test_later_definitions_win_and_defines_are_shared() -> None:
    e = Engine()
    e.add("c/charts/sub/templates/_h.tpl", '{{ define "x" }}deep{{ end }}')
    e.add("c/templates/_h.tpl", '{{ define "x" }}parent{{ end }}')
    e.add("c/charts/sub/templates/t.yaml", '{{ include "x" . }}')
    assert e.render("c/charts/sub/templates/t.yaml", {}) == "parent"


def test_runaway_recursion_stops() -> None:
    e = Engine()
    e.add("c/templates/t.yaml", '{{ define "loop" }}{{ include "loop" . }}{{ end }}{{ include "loop" . }}')
    unresolved: list[TemplateError] = []
    with pytest.raises(TemplateError) as info:
        e.render("c/templates/t.yaml", {}, unresolved)
    assert "nests deeper" in info.value.reason
