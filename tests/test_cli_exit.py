"""How the ``bundler`` process ends: ``main()`` leaves without Python's object-by-object teardown, so it
must keep what that teardown gives: the exit code, flushed output, the atexit handlers, and a thread that
still runs being waited for. Each case runs ``bundler.cli.main`` in a child Python, as the console script
does."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

CHILD = """
import atexit, sys, threading, time
from pathlib import Path
marks = Path(sys.argv[1])
atexit.register(lambda: (marks / "atexit").write_text("ran"))
if sys.argv[2] == "thread":
    # The thread must still run when main() decides how to exit, however slow the import: it waits until
    # that decision has been taken, then finishes.
    import bundler.cli_support as support
    decided = threading.Event()
    def late():
        decided.wait(60)
        time.sleep(0.2)
        (marks / "thread").write_text("finished")
    threading.Thread(target=late).start()
    check = support._others_running
    def checked():
        running = check()
        decided.set()
        return running
    support._others_running = checked
class Teardown:
    def __del__(self):
        (marks / "teardown").write_text("freed")
kept = Teardown()
sys.argv = ["bundler", *sys.argv[3:]]
from bundler.cli import main
main()
"""


def _run(tmp_path: Path, mode: str, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD))
    return subprocess.run([sys.executable, str(script), str(tmp_path), mode, *args], capture_output=True, text=True,
                          timeout=120)


def test_success_keeps_output_code_and_atexit(tmp_path: Path) -> None:
    proc = _run(tmp_path, "-", "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("bundler "), proc.stdout  # flushed into a pipe before the process ended
    assert (tmp_path / "atexit").read_text() == "ran"
    assert not (tmp_path / "teardown").exists()  # the heap was not freed object by object


def test_failure_keeps_its_code_and_message(tmp_path: Path) -> None:
    proc = _run(tmp_path, "-", "inspect", str(tmp_path / "missing.tar.zst"))
    assert proc.returncode == 1
    assert "error: no bundle at" in proc.stderr and "missing.tar.zst" in proc.stderr
    assert (tmp_path / "atexit").read_text() == "ran"


def test_usage_error_keeps_click_code(tmp_path: Path) -> None:
    proc = _run(tmp_path, "-", "export")
    assert proc.returncode == 2
    assert "--config" in proc.stderr


def test_a_running_thread_is_waited_for(tmp_path: Path) -> None:
    """A thread that is not a daemon and still runs: Python's own exit waits for it, as without ``leave``."""
    proc = _run(tmp_path, "thread", "--version")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "thread").read_text() == "finished"
    assert (tmp_path / "atexit").read_text() == "ran"
    assert (tmp_path / "teardown").read_text() == "freed"  # Python's own exit


def test_a_profiler_gets_its_figures(tmp_path: Path) -> None:
    """``python -m cProfile -o F`` writes F after ``main`` returns: with a profiler attached, Python exits as usual."""
    out = tmp_path / "bundler.prof"
    proc = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), "-m", "bundler.cli", "--version"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("bundler ")
    assert out.stat().st_size > 0
