"""The shape the architecture promises, checked: the product never imports test tooling, and the wheel
carries the product only."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_bundler_module_imports_test_tooling() -> None:
    offenders = {str(p.relative_to(ROOT)): sorted(n for n in _imports(p) if n.split(".")[0] in ("testkit", "tests"))
                 for p in (ROOT / "bundler").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(offenders) > 50  # every module was read


def test_wheel_holds_the_product_only(tmp_path: Path) -> None:
    """`pip wheel .` of the checkout (copied, so no stale build/ directory can leak into it)."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__",
                                                             "demo-out", ".mypy_cache", ".ruff_cache"))
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(src)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    wheel = next(tmp_path.glob("bundler-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"bundler", next(t for t in top if t.endswith(".dist-info"))}
    assert "bundler/cli.py" in names and "bundler/engine/copy.py" in names
    assert not [n for n in names if "synthetic" in n or "testkit" in n or "/testing/" in n or "demo" in n]


def test_an_export_without_charts_does_not_load_the_chart_code(tmp_path: Path) -> None:
    """Every export plans every kind; the Helm kind's template engine, JSONPath and repositories (20-30 ms of
    start-up) load only for a configuration with charts."""
    isc = tmp_path / "isc.yaml"
    isc.write_text("apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n"
                   "  additionalImages:\n  - name: quay.io/example/app:1\n")
    probe = ("import sys\nfrom pathlib import Path\nfrom bundler import cli, config\nfrom bundler.content import KINDS\n"
             "from bundler.plan import Plan, PlanContext\n"
             f"ctx = PlanContext(config=config.load(Path({str(isc)!r})), source=None, plan=Plan())\n"
             "[k.plan(ctx) for k in KINDS if k.name == 'helm']\n"
             "print(sorted(m for m in sys.modules if m.startswith('bundler.content.helm')))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['bundler.content.helm', 'bundler.content.helm.outputs']"
