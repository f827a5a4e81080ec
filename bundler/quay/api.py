"""A small client for the parts of Quay's API an unattended bootstrap needs.

Follows shared/research/quay.md §3, traps included:

- ``POST /api/v1/user/initialize`` works only on an empty database: 400 means a user already exists
  (404 means ``FEATURE_USER_INITIALIZE`` is off). Its OAuth token lasts 2.5 h, so it is stored with its
  expiry and, once stale, replaced by a session login (``GET /csrf_token`` then ``POST /api/v1/signin``;
  the API takes no Basic auth).
- ``POST /api/v1/organization/`` needs the trailing slash; 201 created, 400 exists. ``GET`` of a missing
  organization is 404, but a 400 on create while ``GET`` still says 404 means a *user* holds the name.
- ``GET …/robots/{short}`` of a missing robot answers **400**, not 404; ``PUT`` of an existing robot is
  400 too. Both are treated as the "other" state and re-checked, never as failures.
- A robot only gets push rights on repositories that do not exist yet through an org team with role
  ``creator`` (repository permissions apply only to existing repositories); a default-permission
  prototype gives it ``write`` on repositories anyone else creates.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from ..errors import BundlerError
from ..http import TrustedSession, tls_failure

TOKEN_LIFETIME = 9000  # seconds, data/model/oauth.py create_user_access_token(expires_in=9000)
ROBOT_SHORTNAME = "mirror"
TEAM_NAME = "mirrorpush"


class QuayAPIError(BundlerError):
    def __init__(self, message: str, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.status = status


def _message(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200]
    if isinstance(body, dict):
        for key in ("error_message", "message", "detail", "title"):
            if body.get(key):
                return str(body[key])
    return str(body)[:200]


def describe_failure(exc: requests.RequestException) -> str:
    """What went wrong with a request, in words: the TLS failure (unknown CA, hostname mismatch, ...),
    a refused connection, a timeout."""
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS: {tls_failure(exc)}"
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"cannot connect: {tls_failure(exc)}"
    return f"{type(exc).__name__}: {tls_failure(exc)}"


def _cert_rejected(exc: requests.RequestException) -> bool:
    return isinstance(exc, requests.exceptions.SSLError) and "certificate verify failed" in str(exc)


@dataclass
class Robot:
    name: str    # "org+short": the registry login
    token: str   # the registry password


def _failing_checks(resp: requests.Response) -> str:
    """``{"data": {"services": {name: bool}}}``: the names that are false, for the message."""
    try:
        services = (resp.json().get("data") or {}).get("services") or {}
    except (ValueError, AttributeError):
        return ""
    bad = sorted(k for k, ok in services.items() if not ok)
    return f", failing: {', '.join(bad)}" if bad else ""


class QuayClient:
    """Talks to one Quay over HTTPS, verifying it against ``verify`` (our CA file, or a bool) whatever
    ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` say (:class:`bundler.http.TrustedSession`)."""

    def __init__(self, base_url: str, verify: str | bool = True, timeout: float = 30.0) -> None:
        self.base = base_url.rstrip("/")
        self.http = TrustedSession(verify)
        self.timeout = timeout
        self.token: str | None = None
        self.csrf: str | None = None

    # -- plumbing -------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        h = {"Accept": "application/json"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        elif self.csrf:
            h["X-CSRF-Token"] = self.csrf
        return h

    def request(self, method: str, path: str, json_body: Any = None) -> requests.Response:
        try:
            resp = self.http.request(method, self.base + path, json=json_body, headers=self._headers(),
                                     timeout=self.timeout)
        except requests.RequestException as exc:
            hint = "the registry's CA is <data-dir>/ca-bundle.pem" if _cert_rejected(exc) else None
            raise QuayAPIError(f"{method} {path} on {self.base} failed: {describe_failure(exc)}", hint=hint) from exc
        nxt = resp.headers.get("X-Next-CSRF-Token")
        if nxt and not self.token:
            self.csrf = nxt
        return resp

    def _fail(self, what: str, resp: requests.Response) -> QuayAPIError:
        return QuayAPIError(f"{what}: HTTP {resp.status_code}: {_message(resp)}", status=resp.status_code)

    # -- health ---------------------------------------------------------------------------------
    def wait_healthy(self, timeout: float = 600.0, interval: float = 3.0,
                     progress: Callable[[str], None] | None = None) -> None:
        """Poll ``GET /health/instance`` until it answers 200 (mirror-registry allows ~5 minutes).

        A certificate the given trust rejects does not fix itself: three in a row end the wait at once.
        Errors name the last failure (TLS reason, refused connection, HTTP status and failing checks)."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        rejected = 0
        while True:
            try:
                resp = self.http.get(self.base + "/health/instance", timeout=10)
                if resp.status_code == 200:
                    return
                last = f"HTTP {resp.status_code}{_failing_checks(resp)}"
                rejected = 0
            except requests.RequestException as exc:
                last = describe_failure(exc)
                rejected = rejected + 1 if _cert_rejected(exc) else 0
                if rejected >= 3:
                    raise QuayAPIError(f"Quay at {self.base} presents a certificate that {self.http.trust} does not "
                                       f"verify ({last})", hint="another service may hold the port, or the CA "
                                       "file is not this registry's (<data-dir>/ca-bundle.pem)") from exc
            if time.monotonic() >= deadline:
                raise QuayAPIError(f"Quay at {self.base} did not become healthy within {timeout:.0f}s "
                                   f"(last: {last})",
                                   hint="see `podman logs` of the quay container (`bundler quay status`)")
            if progress:
                progress(f"waiting for {self.base}/health/instance: {last}")
            time.sleep(interval)

    # -- users ----------------------------------------------------------------------------------
    def initialize(self, username: str, password: str, email: str) -> str | None:
        """Create the first user; return its OAuth token, or None when a user already exists (400)."""
        resp = self.request("POST", "/api/v1/user/initialize",
                            {"username": username, "password": password, "email": email, "access_token": True})
        if resp.status_code == 200:
            token = resp.json().get("access_token")
            if not token:
                raise QuayAPIError("user/initialize answered 200 without an access_token")
            self.token = str(token)
            return self.token
        if resp.status_code == 400:
            return None  # "Cannot initialize user in a non-empty database" (or auth type not Database)
        if resp.status_code == 404:
            raise QuayAPIError("Quay has user initialization turned off (404 on /api/v1/user/initialize)",
                               status=404, hint="set FEATURE_USER_INITIALIZE: true in config.yaml")
        raise self._fail("creating the first user", resp)

    def use_token(self, token: str) -> bool:
        """Adopt a stored token if Quay still accepts it (``GET /api/v1/user/`` is 200)."""
        self.token = token
        resp = self.request("GET", "/api/v1/user/")
        if resp.status_code == 200:
            return True
        self.token = None
        return False

    def sign_in(self, username: str, password: str) -> None:
        """Session login (cookie + CSRF token) for when the init token is gone or expired."""
        self.token = None
        resp = self.request("GET", "/csrf_token")
        if resp.status_code == 200:
            try:
                self.csrf = str(resp.json().get("csrf_token") or self.csrf or "")
            except ValueError:
                pass
        resp = self.request("POST", "/api/v1/signin", {"username": username, "password": password})
        if resp.status_code != 200:
            raise QuayAPIError(f"signing in to Quay as {username} failed: HTTP {resp.status_code}: {_message(resp)}",
                               status=resp.status_code,
                               hint="the stored admin password in quay-credentials no longer matches")

    # -- organizations --------------------------------------------------------------------------
    def org_exists(self, org: str) -> bool:
        resp = self.request("GET", f"/api/v1/organization/{org}")
        if resp.status_code == 200:
            return True
        if resp.status_code == 404:
            return False
        raise self._fail(f"looking up organization {org}", resp)

    def ensure_org(self, org: str) -> bool:
        """Create ``org`` unless it exists; True when this call created it."""
        if self.org_exists(org):
            return False
        resp = self.request("POST", "/api/v1/organization/", {"name": org})
        if resp.status_code == 201:
            return True
        if resp.status_code == 400:
            if self.org_exists(org):
                return False  # made meanwhile
            raise QuayAPIError(f"cannot create organization {org}: {_message(resp)}", status=400,
                               hint="a user account may already hold that name; mirror to another namespace")
        raise self._fail(f"creating organization {org}", resp)

    # -- robots and permissions -----------------------------------------------------------------
    @staticmethod
    def _robot_path(org: str | None, short: str) -> str:
        """An organization's robot, or (``org`` None) one of the signed-in user's own robots."""
        return f"/api/v1/organization/{org}/robots/{short}" if org else f"/api/v1/user/robots/{short}"

    def get_robot(self, org: str | None, short: str) -> Robot | None:
        resp = self.request("GET", self._robot_path(org, short))
        if resp.status_code == 200:
            body = resp.json()
            return Robot(str(body["name"]), str(body["token"]))
        if resp.status_code in (400, 404):  # Quay answers 400 "Could not find robot", not 404
            return None
        raise self._fail(f"looking up robot {org or 'user'}+{short}", resp)

    def ensure_robot(self, org: str | None, short: str = ROBOT_SHORTNAME,
                     description: str = "bundler: pushes mirrored content") -> Robot:
        robot = self.get_robot(org, short)
        if robot:
            return robot
        resp = self.request("PUT", self._robot_path(org, short), {"description": description})
        if resp.status_code in (200, 201):
            body = resp.json()
            return Robot(str(body["name"]), str(body["token"]))
        if resp.status_code == 400:  # "Existing robot with name" (a race): read it back
            robot = self.get_robot(org, short)
            if robot:
                return robot
        raise self._fail(f"creating robot {org or 'user'}+{short}", resp)

    def team_members(self, org: str, team: str) -> set[str] | None:
        """Names in ``org``'s team (robots as ``org+short``); None when the team does not exist (404)."""
        resp = self.request("GET", f"/api/v1/organization/{org}/team/{team}/members")
        if resp.status_code == 200:
            return {str(m.get("name")) for m in resp.json().get("members", []) if m.get("name")}
        if resp.status_code == 404:
            return None
        raise self._fail(f"listing the members of team {org}/{team}", resp)

    def ensure_member(self, org: str, team: str, member: str) -> bool:
        """Add ``member`` to the team unless it is in it; True when this call added it.

        Real Quay answers a second ``PUT …/members/{name}`` with 400 "User … is already a member of team …",
        so the list is read first; a 400 from a concurrent writer is re-checked, not taken as a failure."""
        if member in (self.team_members(org, team) or set()):
            return False
        resp = self.request("PUT", f"/api/v1/organization/{org}/team/{team}/members/{member}")
        if resp.status_code in (200, 201):
            return True
        if resp.status_code == 400 and member in (self.team_members(org, team) or set()):
            return False
        raise self._fail(f"adding {member} to team {org}/{team}", resp)

    def ensure_prototype(self, org: str, robot: Robot, role: str = "write") -> bool:
        """A default permission giving ``robot`` ``role`` on every repository created in ``org`` (by
        anyone); True when this call made it. An existing write/admin prototype for it is kept."""
        resp = self.request("GET", f"/api/v1/organization/{org}/prototypes")
        if resp.status_code != 200:
            raise self._fail(f"listing default permissions of {org}", resp)
        for proto in resp.json().get("prototypes", []):
            delegate = proto.get("delegate") or {}
            if (delegate.get("name") == robot.name and not proto.get("activating_user")
                    and proto.get("role") in ("write", "admin")):
                return False
        resp = self.request("POST", f"/api/v1/organization/{org}/prototypes",
                            {"role": role, "delegate": {"name": robot.name, "kind": "user"}})
        if resp.status_code not in (200, 201):
            raise self._fail(f"giving {robot.name} {role} on new repositories of {org}", resp)
        return True

    def grant_push(self, org: str, robot: Robot, team: str = TEAM_NAME) -> None:
        """Team with role creator holding the robot, plus a write prototype for new repositories.
        Idempotent: ``PUT`` of the team is create-or-update (200 either way); the rest is read first."""
        resp = self.request("PUT", f"/api/v1/organization/{org}/team/{team}",
                            {"role": "creator", "description": "bundler mirror push"})
        if resp.status_code not in (200, 201):
            raise self._fail(f"creating team {org}/{team}", resp)
        self.ensure_member(org, team, robot.name)
        self.ensure_prototype(org, robot)
