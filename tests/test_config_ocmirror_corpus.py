"""oc-mirror's own example configurations (160 at the recorded commit: 141 YAML files and 19 blocks of its
Markdown docs) through bundler's reader. The files are oc-mirror's and are not copied here:
``python -m testkit.ocmirror_corpus --repo OC_MIRROR_GIT_DIR`` re-runs them and compares with the recorded
outcomes (tests/data/oc-mirror-corpus.json); with BUNDLER_OCMIRROR_REPO set this test does that too.
Without it, the test checks that every recorded failure has one of the stated reasons."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path

from testkit import ocmirror_corpus

MANIFEST = json.loads(ocmirror_corpus.MANIFEST.read_text())

# why an example does not load: each recorded error must match exactly one reason
REASONS = {
    "an oci:// layout that exists only on the machine of oc-mirror's tests": r"catalog: \S+ does not exist$",
    "a placeholder of oc-mirror's test harness left in the file":
        r"METADATA_CATALOGNAMESPACE|DATA_TMP|OCI_REGISTRY_NAMESPACE|expected '<document start>'",
    "refused by oc-mirror too": r"cannot be combined with|cannot be used together with platform.architectures|"
                                r"etcd:v3.5.4@sha256:\w+' \(digest must be sha256|'invalid:@tag' is not a repository path|"
                                r"lower than minVersion|mirror.openshift.io/v1alpha1'$|mirror: is missing",
    "several configurations in one file (oc-mirror silently reads the first)": r"holds \d+ YAML documents",
}
EXPECTED = {
    "an oci:// layout that exists only on the machine of oc-mirror's tests": 18,
    "a placeholder of oc-mirror's test harness left in the file": 17,
    "refused by oc-mirror too": 10,
    "several configurations in one file (oc-mirror silently reads the first)": 1,
}


def test_recorded_outcomes() -> None:
    files = MANIFEST["files"]
    outcomes = Counter(f["outcome"].split(":")[0] for f in files.values())
    assert dict(outcomes) == MANIFEST["counts"] == {"exports": 73, "loads": 41, "error": 46}
    assert len(files) == 160
    reasons: Counter[str] = Counter()
    for name, f in files.items():
        if not f["outcome"].startswith("error: "):
            continue
        matched = [r for r, pattern in REASONS.items() if re.search(pattern, f["outcome"])]
        assert len(matched) == 1, (name, f["outcome"], matched)
        reasons[matched[0]] += 1
    assert reasons == EXPECTED


def test_live_run_matches_the_record() -> None:
    """Runs the examples from a snapshot when one is given (BUNDLER_OCMIRROR_REPO); else checks that the
    runner still reads what the record names (the outcome function on a recorded kind of failure)."""
    repo = os.environ.get("BUNDLER_OCMIRROR_REPO")
    if repo:
        assert ocmirror_corpus.main(["--repo", repo]) == 0
        return
    p = Path(ocmirror_corpus.__file__).parent.parent / "tests" / "data" / "isc" / "channels-only.yaml"
    assert ocmirror_corpus.outcome(p, p.read_text()) == "loads"
    multi = "kind: ImageSetConfiguration\n---\nkind: ImageSetConfiguration\n"
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / "bundler-corpus-multi.yaml"
    tmp.write_text(multi)
    try:
        assert re.search(REASONS["several configurations in one file (oc-mirror silently reads the first)"],
                         ocmirror_corpus.outcome(tmp, multi))
    finally:
        tmp.unlink()
