"""What podman says about the stack's pod: its state, its containers, and which data dir it serves.

Pod names are global on a host while a registry's data (database, robots, CA) lives in its data dir;
the ``io.bundler.data-dir`` label ties the two, so that one data dir's ``up``/``down`` never replaces
or stops the registry of another.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BundlerError
from .podman import podman

if TYPE_CHECKING:
    from .stack import StackState

DATA_DIR_LABEL = "io.bundler.data-dir"


def pod_info(pod: str) -> dict[str, Any] | None:
    res = podman("pod", "inspect", pod, what=f"inspecting pod {pod}", check=False)
    if res.returncode != 0:
        return None
    data = json.loads(res.stdout)
    if isinstance(data, list):
        data = data[0] if data else None
    return data if isinstance(data, dict) else None


def container_states(pod: str) -> dict[str, str]:
    res = podman("ps", "-a", "--filter", f"pod={pod}", "--format", "json", what="listing containers", check=False)
    out: dict[str, str] = {}
    if res.returncode == 0 and res.stdout.strip():
        for c in json.loads(res.stdout):
            names = c.get("Names") or []
            name = names[0] if names else c.get("Id", "")[:12]
            if c.get("IsInfra"):
                continue
            out[name] = str(c.get("State", "unknown"))
    return out


def pod_owner(info: dict[str, Any] | None) -> Path | None:
    """The data dir a bundler pod serves (its label), or None (no pod, or made before the label existed)."""
    owner = ((info or {}).get("Labels") or {}).get(DATA_DIR_LABEL)
    return Path(owner) if owner else None


def refuse_foreign_pod(info: dict[str, Any] | None, state: StackState, data_dir: Path) -> None:
    """Pod names are global, data dirs are not: never replace (or stop) the pod of another data dir's
    registry. That pod serves images, robots and a CA clusters trust; re-creating it from this dir
    would swap in an empty database and another CA at the same address."""
    owner = pod_owner(info)
    if owner is not None and owner != Path(data_dir).resolve():
        raise BundlerError(f"the pod {state.pod} serves the registry whose data is in {owner}, not {data_dir}",
                           f"pass --data-dir {owner} to manage that registry, or --name to run another one")


def other_stacks(data_dir: Path) -> dict[str, str]:
    """Bundler pods on this host that serve another data dir: {pod: data dir} (to point at the right one)."""
    res = podman("pod", "ps", "--filter", "label=io.bundler.stack", "--format", "json", what="listing pods",
                 check=False)
    found: dict[str, str] = {}
    for pod in (json.loads(res.stdout or "[]") if res.returncode == 0 else []):
        owner = (pod.get("Labels") or {}).get(DATA_DIR_LABEL)
        if owner and Path(owner) != Path(data_dir).resolve():
            found[str(pod.get("Name"))] = owner
    return found
