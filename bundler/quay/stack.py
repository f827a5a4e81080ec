"""Render and run the mirror registry stack with podman.

Two flavors:

``quay`` (default)
    One pod ``<name>-pod`` publishing ``<port>`` → 8443 with containers ``<name>-redis`` (rhel8 redis,
    password from an env file), optionally ``<name>-db`` (PostgreSQL with pg_trgm) and ``<name>-app``
    (Quay; SQLite by default, as mirror-registry 2.x). Everything lives under the data dir.
``distribution``
    One pod with ``<name>-registry``: Docker Distribution 2.8 (Debian's binary in a locally built image),
    htpasswd auth (bcrypt) and TLS with the generated certificate. For labs and demos.

Restarts: every container runs with ``--restart=always`` (podman restarts it when it dies), and
``podman generate systemd --new`` unit files are written to ``<data-dir>/systemd/``. When systemd is
PID 1 they are installed (``/etc/systemd/system`` for root, ``~/.config/systemd/user`` otherwise) and
enabled, so the stack comes back after a reboot; otherwise they are left there for the admin.

No secret is ever on a podman command line: redis/postgres passwords reach containers through 0600
``--env-file`` files; Quay's and Distribution's through mounted 0600 config files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import BundlerError
from .config import (
    bcrypt_htpasswd,
    check_quay_address,
    load_or_create_secrets,
    random_password,
    write_distribution_config,
    write_quay_config,
)
from .config import write_private as _write_private
from .health import probe, wait_ready
from .podman import podman, podman_env, run
from .pods import DATA_DIR_LABEL, container_states, pod_info, pod_owner, refuse_foreign_pod
from .units import _unit_dir, remove_units, write_units

FLAVORS = ("quay", "distribution")
DEFAULT_NAME = "bundler-quay"
STATE_FILE = "stack.json"
CREDENTIALS_FILE = "quay-credentials"
CA_BUNDLE = "ca-bundle.pem"
SPEC_LABEL = "io.bundler.spec"
DISTRIBUTION_USER = "mirror"
DEFAULT_ADMIN = "quayadmin"
STOP_TIMEOUT = 60  # seconds before SIGKILL: Quay's supervisord stops ~30 programs; measured 29 s under load
REDIS_DATA = "/var/lib/redis/data"  # rhel8/redis-6 keeps its dump here (its VOLUME), not in /data


def default_data_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/var/lib/bundler/quay")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "bundler" / "quay"


@dataclass
class StackState:
    """What ``stack.json`` records (nothing secret): enough to find, restart and describe the stack."""

    name: str = DEFAULT_NAME
    flavor: str = "quay"
    hostname: str = "localhost"
    port: int = 8443
    bind_address: str = ""
    db: str = "sqlite"
    admin_user: str = DEFAULT_ADMIN
    images: dict[str, str] = field(default_factory=dict)

    @property
    def pod(self) -> str:
        return f"{self.name}-pod"

    @property
    def registry_host(self) -> str:
        return f"{self.hostname}:{self.port}"


def load_state(data_dir: Path) -> StackState | None:
    p = Path(data_dir) / STATE_FILE
    if not p.exists():
        return None
    raw = json.loads(p.read_text())
    known = set(StackState.__dataclass_fields__)
    return StackState(**{k: v for k, v in raw.items() if k in known})


def save_state(data_dir: Path, state: StackState) -> None:
    p = Path(data_dir) / STATE_FILE
    tmp = p.with_name(f".{p.name}.tmp")
    tmp.write_text(json.dumps(asdict(state), indent=1, sort_keys=True))
    os.replace(tmp, p)


def load_credentials(data_dir: Path) -> dict[str, Any]:
    p = Path(data_dir) / CREDENTIALS_FILE
    return json.loads(p.read_text()) if p.exists() else {}


def save_credentials(data_dir: Path, creds: dict[str, Any]) -> None:
    _write_private(Path(data_dir) / CREDENTIALS_FILE, json.dumps(creds, indent=1, sort_keys=True).encode())


# -- rendering -------------------------------------------------------------------------------------

def _env_file(path: Path, values: dict[str, str]) -> Path:
    _write_private(path, "".join(f"{k}={v}\n" for k, v in values.items()).encode())
    return path


def _publish(state: StackState, container_port: int) -> str:
    bind = f"{state.bind_address}:" if state.bind_address else ""
    return f"{bind}{state.port}:{container_port}"


def render(data_dir: Path, state: StackState) -> list[list[str]]:
    """Write every config/secret file for the stack and return the podman commands that create it.

    Commands are returned rather than run so that they can be shown, tested and checked for secrets.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o711)
    secrets_dir = data_dir / "secrets"
    secrets_dir.mkdir(exist_ok=True)
    os.chmod(secrets_dir, 0o700)
    from .tls import ensure_tls  # cryptography's x509 (30 ms to import) only where certificates are made

    tls = ensure_tls(data_dir / "tls", state.hostname)
    shutil.copyfile(tls.ca_cert, data_dir / CA_BUNDLE)
    os.chmod(data_dir / CA_BUNDLE, 0o644)
    pod_args = ["podman", "pod", "create", "--name", state.pod, "--infra-name", f"{state.name}-infra",
                "--label", "io.bundler.stack=" + state.name, "--label", f"{DATA_DIR_LABEL}={data_dir.resolve()}"]
    cmds: list[list[str]] = []

    if state.flavor == "distribution":
        sec = load_or_create_secrets(secrets_dir / "secrets.json")
        reg = data_dir / "registry"
        (reg / "storage").mkdir(parents=True, exist_ok=True)
        (reg / "auth").mkdir(exist_ok=True)
        (reg / "certs").mkdir(exist_ok=True)
        (reg / "etc").mkdir(exist_ok=True)
        write_distribution_config(reg / "etc" / "config.yml", sec)
        creds = load_credentials(data_dir)
        htpasswd = reg / "auth" / "htpasswd"
        if not creds.get("password") or creds.get("username") != DISTRIBUTION_USER:
            creds = {"flavor": "distribution", "username": DISTRIBUTION_USER, "password": random_password(32)}
            save_credentials(data_dir, creds)
            htpasswd.unlink(missing_ok=True)
        if not htpasswd.exists():  # bcrypt salts differ per run: rewrite only when the password changed
            _write_private(htpasswd, (bcrypt_htpasswd(DISTRIBUTION_USER, creds["password"]) + "\n").encode())
        shutil.copyfile(tls.server_cert, reg / "certs" / "server.crt")
        _write_private(reg / "certs" / "server.key", tls.server_key.read_bytes())
        pod_args += ["--publish", _publish(state, 5000)]
        cmds.append(pod_args)
        cmds.append(["podman", "create", "--name", f"{state.name}-registry", "--pod", state.pod,
                     "--restart=always", "--init",
                     "-v", f"{reg / 'etc'}:/etc/docker/registry:Z,ro",
                     "-v", f"{reg / 'auth'}:/auth:Z,ro",
                     "-v", f"{reg / 'certs'}:/certs:Z,ro",
                     "-v", f"{reg / 'storage'}:/var/lib/registry:Z",
                     state.images["registry"]])
        return cmds

    if state.flavor != "quay":
        raise BundlerError(f"unknown flavor {state.flavor!r}", f"choose one of {', '.join(FLAVORS)}")
    quay = data_dir / "quay"
    conf = quay / "config"
    for d in (conf, conf / "extra_ca_certs", quay / "storage", quay / "sqlite", data_dir / "redis"):
        d.mkdir(parents=True, exist_ok=True)
    sec = load_or_create_secrets(secrets_dir / "secrets.json", existing_config=conf / "config.yaml")
    write_quay_config(conf / "config.yaml", state.registry_host, state.admin_user, sec, state.db)
    shutil.copyfile(tls.server_cert, conf / "ssl.cert")
    os.chmod(conf / "ssl.cert", 0o644)
    _write_private(conf / "ssl.key", tls.server_key.read_bytes())
    shutil.copyfile(tls.ca_cert, conf / "extra_ca_certs" / "bundler-ca.crt")
    redis_env = _env_file(secrets_dir / "redis.env", {"REDIS_PASSWORD": sec["redis_password"]})
    # the same, as a ConfigMap for `podman kube play --configmap` of compose/quay/pod.yaml (by hand)
    _write_private(secrets_dir / "redis-configmap.yaml", yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "quay-redis-env"},
         "data": {"REDIS_PASSWORD": sec["redis_password"]}}).encode())
    pod_args += ["--publish", _publish(state, 8443)]
    cmds.append(pod_args)
    cmds.append(["podman", "create", "--name", f"{state.name}-redis", "--pod", state.pod, "--restart=always",
                 "--env-file", str(redis_env), "-v", f"{data_dir / 'redis'}:{REDIS_DATA}:Z,U", state.images["redis"]])
    if state.db == "postgres":
        pg = data_dir / "postgres" / "data"
        pg.mkdir(parents=True, exist_ok=True)
        pg_env = _env_file(secrets_dir / "postgres.env", {
            "POSTGRESQL_USER": "quay", "POSTGRESQL_DATABASE": "quay",
            "POSTGRESQL_PASSWORD": sec["postgres_password"],
            "POSTGRESQL_ADMIN_PASSWORD": sec["postgres_admin_password"]})
        cmds.append(["podman", "create", "--name", f"{state.name}-db", "--pod", state.pod, "--restart=always",
                     "--env-file", str(pg_env), "-v", f"{pg}:/var/lib/pgsql/data:Z,U", state.images["postgres"]])
    cmds.append(["podman", "create", "--name", f"{state.name}-app", "--pod", state.pod, "--restart=always",
                 "-v", f"{conf}:/quay-registry/conf/stack:Z,U",
                 "-v", f"{quay / 'storage'}:/datastorage:Z,U",
                 "-v", f"{quay / 'sqlite'}:/sqlite:Z,U",
                 "-e", "WORKER_COUNT_UNSUPPORTED_MINIMUM=1", "-e", "WORKER_COUNT=1",
                 state.images["quay"], "registry"])
    return cmds


def spec_hash(cmds: list[list[str]], data_dir: Path) -> str:
    """Fingerprint of the commands and the files they mount, to tell when the stack must be re-created."""
    h = hashlib.sha256(json.dumps(cmds).encode())
    for rel in ("quay/config/config.yaml", "quay/config/ssl.cert", "registry/etc/config.yml",
                "registry/auth/htpasswd", "registry/certs/server.crt", "secrets/redis.env", "secrets/postgres.env"):
        p = Path(data_dir) / rel
        if p.exists():
            h.update(rel.encode() + p.read_bytes())
    return h.hexdigest()[:16]


# -- lifecycle -------------------------------------------------------------------------------------

def _missing_images(state: StackState) -> list[str]:
    roles = ["registry"] if state.flavor == "distribution" else ["quay", "redis"] + (
        ["postgres"] if state.db == "postgres" else [])
    missing: list[str] = []
    for role in roles:
        ref = state.images.get(role)
        if not ref:
            missing.append(f"{role} (no image given)")
            continue
        res = subprocess.run(["podman", "image", "exists", ref], env=podman_env(), capture_output=True, check=False)
        if res.returncode != 0:
            missing.append(f"{role}: {ref}")
    return missing


def _default_images(flavor: str, db: str) -> dict[str, str]:
    if flavor == "distribution":
        from .images import ensure_distribution_image
        return {"registry": ensure_distribution_image()}
    from ..config import DEFAULT_BOOTSTRAP
    roles = ["quay", "redis"] + (["postgres"] if db == "postgres" else [])
    return {r: DEFAULT_BOOTSTRAP[r] for r in roles if r in DEFAULT_BOOTSTRAP}


def _resolve_state(data_dir: Path, overrides: dict[str, Any], images: dict[str, str] | None) -> StackState:
    """The previous run's ``stack.json`` with the values given now on top; checks flavor and address."""
    prev = load_state(data_dir)
    state = prev or StackState()
    flavor = overrides.get("flavor")
    if prev is not None and flavor is not None and flavor != prev.flavor:
        raise BundlerError(f"{data_dir} holds a {prev.flavor} registry, not {flavor}",
                           "use another --data-dir, or `bundler quay down --purge` it first")
    for key, value in overrides.items():
        if value is not None:
            setattr(state, key, value)
    if state.flavor not in FLAVORS:
        raise BundlerError(f"unknown flavor {state.flavor!r}", f"choose one of {', '.join(FLAVORS)}")
    if state.flavor == "quay":
        check_quay_address(state.hostname, state.port)
    if images:
        state.images.update(images)
    return state


def _ensure_images(state: StackState) -> None:
    if not state.images or (state.flavor == "distribution" and "registry" not in state.images):
        state.images = {**_default_images(state.flavor, state.db), **state.images}
    missing = _missing_images(state)
    if missing:
        raise BundlerError(f"images missing from podman storage: {'; '.join(missing)}",
                           "import a bundle that carries the bootstrap images (bootstrap: in the "
                           "ImageSetConfiguration), or load them with `podman load`")


def stack_up(data_dir: Path, hostname: str | None = None, port: int | None = None, flavor: str | None = None,
             images: dict[str, str] | None = None, *, name: str | None = None, bind_address: str | None = None,
             db: str | None = None, admin_user: str | None = None, wait: bool = True,
             timeout: float = 600.0, install_units: bool | None = None) -> StackState:
    """Render and start the stack (idempotent). Arguments left None come from the previous run's
    ``stack.json``, else defaults. The pod is re-created only when its rendered definition changed,
    and never when it serves another data dir."""
    data_dir = Path(data_dir)
    state = _resolve_state(data_dir, {"hostname": hostname, "port": port, "flavor": flavor, "name": name,
                                      "bind_address": bind_address, "db": db, "admin_user": admin_user}, images)
    info = pod_info(state.pod)
    refuse_foreign_pod(info, state, data_dir)
    _ensure_images(state)
    cmds = render(data_dir, state)
    save_state(data_dir, state)
    spec = spec_hash(cmds, data_dir)
    if info is not None and (info.get("Labels") or {}).get(SPEC_LABEL) != spec:
        podman("pod", "rm", "-f", "-t", str(STOP_TIMEOUT), state.pod, what=f"removing the outdated pod {state.pod}")
        info = None
    if info is None:
        cmds[0] = cmds[0][:3] + ["--label", f"{SPEC_LABEL}={spec}"] + cmds[0][3:]
        for cmd in cmds:
            run(cmd, what=f"creating {cmd[cmd.index('--name') + 1]}")
        write_units(data_dir, state, install_units)
    podman("pod", "start", state.pod, what=f"starting pod {state.pod}")
    if state.flavor == "quay" and state.db == "postgres":
        _ensure_pg_trgm(state)
    if wait:
        wait_ready(data_dir, state, timeout)
    return state


def _ensure_pg_trgm(state: StackState, tries: int = 40) -> None:
    """Quay refuses PostgreSQL without pg_trgm; create it as the local superuser (socket, no password)."""
    for _ in range(tries):
        res = podman("exec", f"{state.name}-db", "psql", "-d", "quay", "-c",
                     "CREATE EXTENSION IF NOT EXISTS pg_trgm", what="creating pg_trgm", check=False)
        if res.returncode == 0:
            return
        time.sleep(3)
    raise BundlerError(f"could not create the pg_trgm extension in {state.name}-db",
                       f"see `podman logs {state.name}-db`")


def stack_down(data_dir: Path, purge: bool = False) -> str:
    """Stop and remove the pod and its units; data stays unless ``purge`` (then the data dir goes too).

    Never touches a pod that serves another data dir (pod names are global). Returns what was done."""
    data_dir = Path(data_dir)
    state = load_state(data_dir)
    done = f"no registry set up in {data_dir}"
    if state is not None:
        info = pod_info(state.pod)
        owner = pod_owner(info)
        if owner is not None and owner != data_dir.resolve():
            done = f"not running (the pod {state.pod} serves {owner}; left alone)"
        else:
            remove_units(state)
            done = f"{state.pod} was not running" if info is None else f"stopped {state.pod}"
            if info is not None:
                podman("pod", "rm", "-f", "-t", str(STOP_TIMEOUT), state.pod, what=f"removing pod {state.pod}")
    if purge and data_dir.exists():
        if os.geteuid() != 0:  # files chowned into the user namespace by ':U' need `podman unshare`
            subprocess.run(["podman", "unshare", "rm", "-rf", str(data_dir)], env=podman_env(), check=False)
        shutil.rmtree(data_dir, ignore_errors=True)
        done += f"; purged {data_dir}"
    elif state is not None:
        done += f"; data kept in {data_dir}"
    return done


def stack_status(data_dir: Path) -> dict[str, Any]:
    """A description of the stack: configured values, pod and container states, readiness."""
    data_dir = Path(data_dir)
    state = load_state(data_dir)
    if state is None:
        return {"configured": False, "data_dir": str(data_dir)}
    info = pod_info(state.pod)
    containers = container_states(state.pod) if info else {}
    status: dict[str, Any] = {
        "configured": True, "data_dir": str(data_dir), "name": state.name, "flavor": state.flavor,
        "registry": state.registry_host, "db": state.db if state.flavor == "quay" else None,
        "images": dict(state.images), "pod": state.pod, "pod_state": (info or {}).get("State", "absent"),
        "containers": containers, "ca_file": str(data_dir / CA_BUNDLE),
        "units": sorted(p.name for p in (data_dir / "systemd").glob("*.service")),
        "units_installed": (_unit_dir() / f"pod-{state.pod}.service").exists(),
    }
    owner = pod_owner(info)
    if owner is not None and owner != data_dir.resolve():
        status.update(pod_state=f"absent (the pod {state.pod} serves {owner})", containers={})
        info = None
    ready, seen = False, "not running"
    if info and status["containers"] and all(s == "running" for s in status["containers"].values()):
        ready, seen = probe(data_dir, state)
    status["ready"] = ready
    status["health"] = seen
    creds = load_credentials(data_dir)
    status["admin_user"] = creds.get("admin_user")
    status["username"] = creds.get("username")
    return status
