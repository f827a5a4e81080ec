"""Package a chart directory into a ``.tgz`` (what ``helm package`` makes), deterministically.

Entries are ``<chart name>/<path>`` for every file the loader reads (``.helmignore`` applied), sorted,
mode 0644, owned by root, stamped with Chart.yaml's modification time, gzip header without a time:
packaging the same directory twice gives the same bytes, so the pushed OCI chart keeps its digest.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

from .chart import load_files, read_dir
from .errors import ChartError


def package_chart(directory: str | Path) -> bytes:
    """The archive of a chart directory; ChartError if the directory is not a valid chart."""
    root = Path(directory)
    if not root.is_dir():
        raise ChartError(f"{root} is not a chart directory")
    files = read_dir(root)
    chart = load_files(files, str(root))          # validates before anything is written
    mtime = int((root / "Chart.yaml").stat().st_mtime)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:", format=tarfile.PAX_FORMAT) as tar:
        for f in sorted(files, key=lambda x: (x.name != "Chart.yaml", x.name)):
            info = tarfile.TarInfo(f"{chart.name}/{f.name}")
            info.size, info.mode, info.mtime = len(f.data), 0o644, mtime
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(f.data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()
