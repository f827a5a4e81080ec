"""Load every example configuration oc-mirror's own repository ships through bundler's reader.

The examples are not copied into this repository (they are oc-mirror's files); this reads them from a git
snapshot of github.com/openshift/oc-mirror and compares the outcome of each with the expectations in
tests/data/oc-mirror-corpus.json (path, git blob id, outcome: "exports" / "loads" / "error: <reason>").

    python -m testkit.ocmirror_corpus --repo /path/to/oc-mirror.git            # check
    python -m testkit.ocmirror_corpus --repo /path/to/oc-mirror.git --write    # record the outcomes

Exit status 1 when an outcome differs from the recorded one (or a file appeared or vanished).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bundler import config

MANIFEST = Path(__file__).resolve().parent.parent / "tests" / "data" / "oc-mirror-corpus.json"
KIND = re.compile(r"kind:\s*(Delete)?ImageSetConfiguration")
BLOCK = re.compile(r"```[^\n]*\n(.*?)```", re.S)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def examples(repo: Path, commit: str) -> dict[str, tuple[str, str]]:
    """relative name -> (git blob id or 'block N of <blob>', text): every YAML file naming the kinds, and every
    fenced block of a Markdown file that does (named ``<file>.md-<N>.yaml``)."""
    out: dict[str, tuple[str, str]] = {}
    for line in _git(repo, "ls-tree", "-r", commit).splitlines():
        meta, path = line.split("\t", 1)
        blob = meta.split()[2]
        if path.startswith("vendor/") or not path.endswith((".yaml", ".yml", ".md")):
            continue
        try:
            text = _git(repo, "cat-file", "blob", blob)
        except (subprocess.CalledProcessError, UnicodeDecodeError):
            continue
        if not KIND.search(text):
            continue
        if path.endswith(".md"):
            blocks = [b for b in BLOCK.findall(text) if KIND.search(b)]
            for i, block in enumerate(blocks, 1):
                out[f"{path}-{i}.yaml"] = (f"{blob}#{i}", block)
        else:
            out[path] = (blob, text)
    return out


def outcome(path: Path, text: str) -> str:
    try:
        if re.search(r"kind:\s*DeleteImageSetConfiguration", text):
            config.load_delete(path)
            return "loads"
        cfg = config.load(path, require_content=False)
        return "exports" if cfg.carried_today() else "loads"
    except config.ConfigLoadError as exc:
        return "error: " + exc.message.split(": ", 1)[1] if ": " in exc.message else exc.message


def run(repo: Path, commit: str) -> dict[str, dict[str, str]]:
    found = examples(repo, commit)
    results: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="ocmirror-corpus-") as tmp:
        for name, (blob, text) in sorted(found.items()):
            dest = Path(tmp) / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text)
            result = outcome(dest, text).replace(str(dest), name).replace(tmp + "/", "")
            result = result.replace(str(Path.cwd()), "$CWD")
            results[name] = {"blob": blob, "outcome": result}
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", type=Path, required=True, help="a git directory of github.com/openshift/oc-mirror")
    ap.add_argument("--commit", default=None, help="default: the one recorded in the manifest")
    ap.add_argument("--write", action="store_true", help="record the outcomes in the manifest")
    args = ap.parse_args(argv)
    recorded = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {"files": {}}
    commit = args.commit or recorded.get("commit") or "HEAD"
    results = run(args.repo, commit)
    counts = Counter(r["outcome"].split(":")[0] for r in results.values())
    print(f"{len(results)} configurations at {commit}: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    if args.write:
        commit = _git(args.repo, "rev-parse", commit).strip()
        MANIFEST.write_text(json.dumps({"repository": "github.com/openshift/oc-mirror", "commit": commit,
                                        "counts": dict(sorted(counts.items())), "files": results}, indent=1) + "\n")
        print(f"recorded in {MANIFEST}")
        return 0
    diffs = [f"{name}: {recorded['files'].get(name, {}).get('outcome')!r} -> {res['outcome']!r}"
             for name, res in results.items() if recorded["files"].get(name) != res]
    diffs += [f"{name}: recorded, not found" for name in recorded["files"] if name not in results]
    for line in diffs:
        print(line)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
