"""``bundler quay status``: the stack as it is now: configured values, pod and container states, whether
the registry answers (with the trust the stack made), where its files are."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

from .podman import podman
from .stack import CA_BUNDLE, load_credentials, load_state, pod_info
from .units import unit_dir


def _container_states(pod: str) -> dict[str, str]:
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


def stack_status(data_dir: Path) -> dict[str, Any]:
    """A description of the stack: configured values, pod and container states, readiness."""
    data_dir = Path(data_dir)
    state = load_state(data_dir)
    if state is None:
        return {"configured": False, "data_dir": str(data_dir)}
    info = pod_info(state.pod)
    containers = _container_states(state.pod) if info else {}
    status: dict[str, Any] = {
        "configured": True, "data_dir": str(data_dir), "name": state.name, "flavor": state.flavor,
        "registry": state.registry_host, "db": state.db if state.flavor == "quay" else None,
        "images": dict(state.images), "pod": state.pod, "pod_state": (info or {}).get("State", "absent"),
        "containers": containers, "ca_file": str(data_dir / CA_BUNDLE),
        "units": sorted(p.name for p in (data_dir / "systemd").glob("*.service")),
        "units_installed": (unit_dir() / f"pod-{state.pod}.service").exists(),
    }
    ready = False
    if info and all(s == "running" for s in containers.values()) and containers:
        try:
            path = "/health/instance" if state.flavor == "quay" else "/v2/"
            resp = requests.get(f"https://{state.registry_host}{path}", verify=str(data_dir / CA_BUNDLE), timeout=5)
            ready = resp.status_code in ((200,) if state.flavor == "quay" else (200, 401))
        except requests.RequestException:
            ready = False
    status["ready"] = ready
    creds = load_credentials(data_dir)
    status["admin_user"] = creds.get("admin_user")
    status["username"] = creds.get("username")
    return status
