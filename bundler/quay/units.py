"""systemd units for the stack: ``podman generate systemd --new`` into ``<data-dir>/systemd``, installed and
enabled when systemd runs (so the registry comes back after a reboot), removed by ``down``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from .podman import run

if TYPE_CHECKING:
    from .stack import StackState


def systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir()


def _unit_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/etc/systemd/system")
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "systemd" / "user"


def _systemctl(*args: str) -> None:
    scope = [] if os.geteuid() == 0 else ["--user"]
    subprocess.run(["systemctl", *scope, *args], capture_output=True, text=True, check=False)


def write_units(data_dir: Path, state: StackState, install: bool | None = None) -> list[Path]:
    """``podman generate systemd --new`` for the pod into ``<data-dir>/systemd``; install and enable them
    when systemd runs (``install=None``) or when asked. ``CONTAINERS_CONF`` is carried into the units."""
    unit_dir = Path(data_dir) / "systemd"
    if unit_dir.exists():
        shutil.rmtree(unit_dir)
    unit_dir.mkdir(parents=True)
    run(["podman", "generate", "systemd", "--new", "--files", "--restart-policy=always", "--name", state.pod],
        what="generating systemd units", cwd=unit_dir)
    units = sorted(unit_dir.glob("*.service"))
    conf = os.environ.get("CONTAINERS_CONF")
    for u in units:
        text = u.read_text()
        if conf:
            text = text.replace("Environment=PODMAN_SYSTEMD_UNIT=%n",
                                f"Environment=PODMAN_SYSTEMD_UNIT=%n\nEnvironment=CONTAINERS_CONF={conf}", 1)
        u.write_text(text)
    if install if install is not None else systemd_running():
        dest = _unit_dir()
        dest.mkdir(parents=True, exist_ok=True)
        for u in units:
            shutil.copyfile(u, dest / u.name)
        _systemctl("daemon-reload")
        _systemctl("enable", f"pod-{state.pod}.service")
        if os.geteuid() != 0 and shutil.which("loginctl"):
            subprocess.run(["loginctl", "enable-linger"], capture_output=True, check=False)
    return units


def remove_units(state: StackState) -> None:
    dest = _unit_dir()
    found = list(dest.glob(f"pod-{state.pod}.service")) + list(dest.glob(f"container-{state.name}-*.service"))
    if not found:
        return
    if systemd_running():
        _systemctl("disable", f"pod-{state.pod}.service")
    for u in found:
        u.unlink(missing_ok=True)
    if systemd_running():
        _systemctl("daemon-reload")
