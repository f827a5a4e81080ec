"""Bootstrap a mirror registry on this host with podman: Quay (default) or Docker Distribution.

``bundler import`` without ``--registry`` calls :func:`bootstrap`; ``bundler quay up|down|status``
manage the same stack on its own. See docs/quay.md for the choices (SQLite, restart policy and systemd
units, where secrets live) and compose/ for a hand-runnable definition of the stack.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BundlerError
from .api import TOKEN_LIFETIME, QuayAPIError, QuayClient, Robot
from .config import READER_SHORTNAME, random_password
from .images import load_images_from_layout
from .stack import (
    CA_BUNDLE,
    CREDENTIALS_FILE,
    StackState,
    default_data_dir,
    load_credentials,
    save_credentials,
    stack_down,
    stack_status,
    stack_up,
)

__all__ = ["MirrorRegistry", "bootstrap", "load_images_from_layout", "stack_up", "stack_down", "stack_status",
           "default_data_dir", "StackState"]


@dataclass
class MirrorRegistry:
    """Where and as whom to push. ``password`` is never printed (left out of repr)."""

    host: str              # "hostname:port" to push to
    ca_file: Path          # CA bundle clients must trust
    username: str          # robot or user with push rights
    password: str = field(repr=False)  # never logged
    admin_user: str | None = None
    # Quay: one robot per organization ({org: (robot name, token)}); a robot can only be given rights in
    # its own organization, so with several organizations ``username`` is the admin user instead.
    robots: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)
    # Quay: the read-only robot (GLOBAL_READONLY_SUPER_USERS) that may pull every repository, push none
    reader: tuple[str, str] | None = field(default=None, repr=False)

    def auth_entries(self) -> dict[str, dict[str, str]]:
        """``auths`` entries to push with: the host (the push identity), plus one per organization."""
        out = {self.host: _entry(self.username, self.password)}
        for org, (user, token) in sorted(self.robots.items()):
            out[f"{self.host}/{org}"] = _entry(user, token)
        return out

    def pull_secret_entries(self) -> dict[str, dict[str, str]]:
        """``auths`` entries for the cluster's pull secret (containers-auth.json): ``host/org`` keys with
        each organization's robot (containers/image, CRI-O and kubelet pick the longest matching key),
        and under the bare ``host`` key the read-only robot, for tools that look credentials up by host
        only. The admin's password is never in it. Distribution has one user: the host key holds it."""
        if not self.robots and self.reader is None:
            return {self.host: _entry(self.username, self.password)}
        out = {f"{self.host}/{org}": _entry(user, token) for org, (user, token) in sorted(self.robots.items())}
        if self.reader is not None:
            out[self.host] = _entry(*self.reader)
        return out


def _entry(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def _email_for(user: str) -> str:
    # Only validated when FEATURE_MAILING is on (it is off); kept well-formed and unique anyway (§3.8).
    return f"{user}@bundler.invalid"


def _quay_login(client: QuayClient, data_dir: Path, admin: str, creds: dict[str, object],
                progress: Callable[[str], None]) -> None:
    """First user, or the existing one: token from initialize, stored token, or a session sign-in."""
    password = str(creds.get("admin_password") or "")
    if not password or creds.get("admin_user") != admin:
        password = random_password(32)
        creds.update({"flavor": "quay", "admin_user": admin, "admin_password": password, "initialized": False})
        save_credentials(data_dir, creds)  # stored before Quay knows it: a crash cannot lose it
    token = client.initialize(admin, password, _email_for(admin))
    if token:
        progress(f"created the first Quay user {admin}")
        creds.update({"initialized": True, "admin_token": token, "admin_token_expires": time.time() + TOKEN_LIFETIME})
        save_credentials(data_dir, creds)
        return
    # 400: Quay already has a user. Reuse our token while it lives (2.5 h), else sign in.
    stored = creds.get("admin_token")
    expires = creds.get("admin_token_expires")
    if isinstance(stored, str) and isinstance(expires, int | float) and expires - time.time() > 120:
        if client.use_token(stored):
            progress(f"reusing the stored token of {admin}")
            return
    try:
        client.sign_in(admin, password)
    except QuayAPIError as exc:
        raise BundlerError(f"Quay at {client.base} already has users and {admin} cannot sign in ({exc.message})",
                           f"the admin password is kept in {data_dir / CREDENTIALS_FILE}; if Quay's database "
                           "outlived that file, `bundler quay down --purge` and start over") from exc
    creds["initialized"] = True
    creds.pop("admin_token", None)  # expired or revoked: the session cookie serves this run
    creds.pop("admin_token_expires", None)
    save_credentials(data_dir, creds)
    progress(f"signed in to Quay as {admin}")


def bootstrap(data_dir: Path, hostname: str, port: int, orgs: list[str], flavor: str = "quay",
              images: dict[str, str] | None = None, *, name: str | None = None, bind_address: str | None = None,
              db: str | None = None, admin_user: str | None = None, timeout: float = 600.0,
              progress: Callable[[str], None] | None = None) -> MirrorRegistry:
    """Start (or reuse) the stack and make it ready to receive a push into ``orgs``.

    ``images`` maps a role ("quay", "redis", "postgres", "registry") to a reference already in podman
    storage. Idempotent: a re-run finds the existing user, organizations and robots and reuses them.
    """
    say = progress or (lambda _msg: None)
    data_dir = Path(data_dir)
    state = stack_up(data_dir, hostname, port, flavor, images, name=name, bind_address=bind_address, db=db,
                     admin_user=admin_user, timeout=timeout)
    ca = data_dir / CA_BUNDLE
    creds = load_credentials(data_dir)
    if state.flavor == "distribution":
        return MirrorRegistry(host=state.registry_host, ca_file=ca, username=str(creds["username"]),
                              password=str(creds["password"]), admin_user=None)
    client = QuayClient(f"https://{state.registry_host}", verify=str(ca))
    return configure_quay(client, data_dir, state.registry_host, state.admin_user, orgs, ca, say)


def configure_quay(client: QuayClient, data_dir: Path, registry_host: str, admin: str, orgs: list[str],
                   ca_file: Path, progress: Callable[[str], None] | None = None) -> MirrorRegistry:
    """The API half of the bootstrap: first (or existing) user, organizations, robots with push rights."""
    say = progress or (lambda _msg: None)
    creds = load_credentials(data_dir)
    if creds.get("flavor") != "quay":
        creds = {"flavor": "quay"}
    creds["registry"] = registry_host
    _quay_login(client, data_dir, admin, creds, say)
    reader = client.ensure_robot(None, READER_SHORTNAME, "bundler: pulls every mirrored repository (read-only)")
    creds["reader"] = {"name": reader.name, "token": reader.token}
    robots: dict[str, tuple[str, str]] = {}
    stored_robots = dict(creds.get("robots") or {})
    for org in orgs:
        if client.ensure_org(org):
            say(f"created organization {org}")
        robot: Robot = client.ensure_robot(org)
        client.grant_push(org, robot)
        robots[org] = (robot.name, robot.token)
        stored_robots[org] = {"name": robot.name, "token": robot.token}
    creds["robots"] = stored_robots
    save_credentials(data_dir, creds)
    pull = (reader.name, reader.token)
    if len(robots) == 1:
        user, token = next(iter(robots.values()))
        return MirrorRegistry(registry_host, ca_file, user, token, admin, robots, pull)
    return MirrorRegistry(registry_host, ca_file, admin, str(creds["admin_password"]), admin, robots, pull)
