"""Running podman (and skopeo): one place for the environment and error reporting.

``CONTAINERS_CONF`` is passed through as the caller set it (some hosts need a project-owned
containers.conf, e.g. one choosing runc). No secret is ever put on these command lines: secrets reach
containers through 0600 files mounted or given with ``--env-file``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..errors import BundlerError


def podman_env() -> dict[str, str]:
    return dict(os.environ)


def run(args: list[str], what: str, check: bool = True, timeout: float | None = 600,
        input_text: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a podman/skopeo command; on failure raise a BundlerError naming ``what`` and stderr."""
    try:
        res = subprocess.run(args, env=podman_env(), capture_output=True, text=True, check=False,
                             timeout=timeout, input=input_text, cwd=cwd)
    except FileNotFoundError:
        raise BundlerError(f"{args[0]} is not installed; needed for {what}",
                           f"install {args[0]} (Debian/RHEL package '{args[0]}')") from None
    except subprocess.TimeoutExpired:
        raise BundlerError(f"{what}: {args[0]} did not finish within {timeout:.0f}s") from None
    if check and res.returncode != 0:
        err = (res.stderr or res.stdout).strip().splitlines()
        hint = None
        if "rlimit" in (res.stderr or ""):
            hint = ("this host's podman cannot apply the default ulimits: point CONTAINERS_CONF at a containers.conf "
                    "with [containers] default_ulimits = [] (compose/containers.conf is one)")
        raise BundlerError(f"{what} failed: {' / '.join(err[-3:]) or f'exit {res.returncode}'}", hint)
    return res


def podman(*args: str, what: str, check: bool = True, timeout: float | None = 600) -> subprocess.CompletedProcess[str]:
    return run(["podman", *args], what=what, check=check, timeout=timeout)
