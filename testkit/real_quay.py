"""A real Project Quay for tests and the demo: build its images offline, carry them in a bundle.

The images come from ``shared/quay-image/build.sh`` (Project Quay v3.12.18 and a redis-6-layout Redis
built from source into podman storage; see its README). ``build_images`` runs it (cached: ~15 s when
nothing changed, ~3.5 min from nothing) and raises when it cannot; ``push_bootstrap_images`` copies the
two images from podman storage into a (synthetic upstream) registry so that an export can carry them
as ``bootstrap:`` images, exactly as it would carry Red Hat's from registry.redhat.io.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

QUAY_IMAGE = "localhost/quay-test/quay:v3.12"
REDIS_IMAGE = "localhost/quay-test/redis:6"
QUAY_VERSION = "v3.12.18"
ROOT = Path(__file__).resolve().parent.parent
# where the upstream holds them: the same repository names as Red Hat's, so the mirror layout is realistic
UPSTREAM_REPOS = {"quay": "quay/quay-rhel8:v3.12.18", "redis": "rhel8/redis-6:1"}


class QuayImagesUnavailable(RuntimeError):
    """build.sh is missing or failed: a test that needs real Quay must fail, never skip."""


def image_dir() -> Path:
    """``shared/quay-image``: ``$BUNDLER_QUAY_IMAGE_DIR``, else ``../shared`` or ``../../shared`` of this
    checkout (a clone beside ``shared/``, or a worktree under ``wt/``), else ``/work/shared``."""
    env = os.environ.get("BUNDLER_QUAY_IMAGE_DIR")
    candidates = [Path(env)] if env else []
    candidates += [ROOT.parent / "shared" / "quay-image", ROOT.parent.parent / "shared" / "quay-image",
                   Path("/work/shared/quay-image")]
    for c in candidates:
        if (c / "build.sh").is_file():
            return c
    raise QuayImagesUnavailable("shared/quay-image/build.sh not found (looked in "
                                + ", ".join(str(c) for c in candidates) + "); set BUNDLER_QUAY_IMAGE_DIR")


def images_present() -> bool:
    return all(subprocess.run(["podman", "image", "exists", ref], capture_output=True, check=False).returncode == 0
               for ref in (QUAY_IMAGE, REDIS_IMAGE))


@dataclass
class BuiltImages:
    quay: str
    redis: str
    seconds: float


def build_images(log: Path | None = None, timeout: float = 3600) -> BuiltImages:
    """Run build.sh (idempotent, cached in podman storage) and return the two image names.

    Raises :class:`QuayImagesUnavailable` with the end of the build log when it fails."""
    script = image_dir() / "build.sh"
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(ROOT / "compose" / "containers.conf"))
    env.update({"QUAY_IMAGE": QUAY_IMAGE, "REDIS_IMAGE": REDIS_IMAGE})
    log = log or Path(tempfile.gettempdir()) / "bundler-quay-build.log"
    t0 = time.monotonic()
    with open(log, "wb") as fh:
        try:
            res = subprocess.run(["bash", str(script)], env=env, stdout=fh, stderr=subprocess.STDOUT,
                                 timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise QuayImagesUnavailable(f"{script} did not finish within {timeout:.0f}s (log: {log})") from None
    if res.returncode != 0 or not images_present():
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise QuayImagesUnavailable(f"{script} failed (exit {res.returncode}; log: {log}):\n{tail}")
    return BuiltImages(QUAY_IMAGE, REDIS_IMAGE, time.monotonic() - t0)


def push_bootstrap_images(host: str, authfile: Path, cert_dir: Path | None,
                          images: dict[str, str] | None = None) -> dict[str, str]:
    """``skopeo copy containers-storage:IMAGE docker://HOST/REPO`` for each role; returns role -> reference
    in that registry (to name under ``bootstrap: {images: ...}`` of an ImageSetConfiguration)."""
    images = images or {"quay": QUAY_IMAGE, "redis": REDIS_IMAGE}
    out: dict[str, str] = {}
    for role, src in images.items():
        dest = f"{host}/{UPSTREAM_REPOS[role]}"
        args = ["skopeo", "copy", "--quiet", "--dest-compress-level", "1", "--dest-authfile", str(authfile)]
        args += ["--dest-cert-dir", str(cert_dir)] if cert_dir else ["--dest-tls-verify=false"]
        res = subprocess.run([*args, f"containers-storage:{src}", f"docker://{dest}"], capture_output=True,
                             text=True, check=False)
        if res.returncode != 0:
            raise RuntimeError(f"pushing {src} to {dest} failed: {res.stderr.strip()[-500:]}")
        out[role] = dest
    return out
