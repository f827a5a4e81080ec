"""Quay's ``config.yaml`` and the stack's generated secrets.

Every key mirror-registry templates (shared/research/quay.md §1.5) plus the minimal-config keys of §2.3,
with our own values where it matters:

- ``SUPER_USERS`` lists the admin we initialize (mirror-registry's default init user is *not* a superuser).
- ``FEATURE_USER_INITIALIZE: true`` so the first user is made by API; ``FEATURE_USER_CREATION: false``
  (an air-gapped mirror has one admin and a robot; /user/initialize does not check this flag).
- ``FEATURE_MAILING: false`` (offline), ``SETUP_COMPLETE: true`` (boot refuses otherwise).
- ``CREATE_NAMESPACE_ON_PUSH: true`` as a safety net; bundler still creates every organization first,
  because robots cannot auto-create organizations (§3.8).
- ``SECRET_KEY``/``DATABASE_SECRET_KEY`` random (48 characters, under the 63 limit), kept across re-runs:
  taken from ``secrets.json`` or, if that is gone, from the existing config.yaml (changing
  ``DATABASE_SECRET_KEY`` would make stored encrypted fields unreadable).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import string
import subprocess
from pathlib import Path
from typing import Any

import yaml

from ..errors import BundlerError

SECRET_NAMES = ("secret_key", "database_secret_key", "redis_password", "postgres_password",
                "postgres_admin_password", "registry_http_secret")


READER_SHORTNAME = "reader"


def reader_robot(admin_user: str) -> str:
    """The read-only robot (the admin's own ``<admin>+reader``) listed in ``GLOBAL_READONLY_SUPER_USERS``:
    it may pull every repository of every organization and push none, so one host-level pull-secret
    entry serves tools that look credentials up by host only."""
    return f"{admin_user}+{READER_SHORTNAME}"


def random_password(length: int = 32) -> str:
    """Letters and digits only: safe in URIs, YAML, env files and htpasswd without quoting."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def load_or_create_secrets(path: Path, existing_config: Path | None = None) -> dict[str, str]:
    """The stack's internal secrets, made once and stored 0600; missing ones are added, none replaced."""
    data: dict[str, str] = {}
    if path.exists():
        data = json.loads(path.read_text())
    changed = False
    if existing_config is not None and existing_config.exists():
        try:
            old = yaml.safe_load(existing_config.read_text()) or {}
        except yaml.YAMLError:
            old = {}
        for key, name in (("SECRET_KEY", "secret_key"), ("DATABASE_SECRET_KEY", "database_secret_key")):
            if old.get(key) and name not in data:
                data[name] = str(old[key])
                changed = True
        redis = old.get("BUILDLOGS_REDIS") or {}
        if redis.get("password") and "redis_password" not in data:
            data["redis_password"] = str(redis["password"])
            changed = True
    for name in SECRET_NAMES:
        if name not in data:
            data[name] = random_password(48 if "key" in name else 32)
            changed = True
    if changed or not path.exists():
        write_private(path, json.dumps(data, indent=1).encode())
    os.chmod(path, 0o600)
    return data


QUAY_LISTEN_PORT = 8443  # nginx in the Quay image listens here (hard-coded in conf/nginx/nginx.conf.jnj)


def check_quay_address(hostname: str, port: int) -> None:
    """Refuse ``localhost`` with a published port other than 8443: Quay's own health check then dials
    ``https://localhost:<port>/_internal_ping`` *inside* its container (``health/services.py``
    ``_compute_internal_endpoint``), where nothing listens, so ``/health/instance`` stays 503 for ever.
    Any other name (FQDN, IP address) makes it dial ``localhost:8443``, which works with any port."""
    if hostname == "localhost" and port != QUAY_LISTEN_PORT:
        raise BundlerError(f"Quay cannot serve as localhost:{port}: its health check would dial port {port} inside "
                           f"its container, where it listens on {QUAY_LISTEN_PORT}",
                           f"use --hostname 127.0.0.1 (or this host's name or address) with --port {port}, "
                           f"or --port {QUAY_LISTEN_PORT}")


def quay_config(server_hostname: str, admin_user: str, secrets_: dict[str, str], db: str = "sqlite") -> dict[str, Any]:
    """The config.yaml document. ``server_hostname`` is ``host:port`` exactly as clients dial it."""
    redis = {"host": "localhost", "port": 6379, "password": secrets_["redis_password"]}
    if db == "sqlite":
        db_uri = "sqlite:////sqlite/quay_sqlite.db"
    elif db == "postgres":
        db_uri = f"postgresql://quay:{secrets_['postgres_password']}@localhost:5432/quay"
    else:
        raise ValueError(f"unknown database {db!r} (sqlite or postgres)")
    return {
        "AUTHENTICATION_TYPE": "Database",
        "BUILDLOGS_REDIS": dict(redis),
        "CREATE_NAMESPACE_ON_PUSH": True,
        "DATABASE_SECRET_KEY": secrets_["database_secret_key"],
        "DB_URI": db_uri,
        "DEFAULT_TAG_EXPIRATION": "2w",
        "DISTRIBUTED_STORAGE_CONFIG": {"default": ["LocalStorage", {"storage_path": "/datastorage/registry"}]},
        "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS": [],
        "DISTRIBUTED_STORAGE_PREFERENCE": ["default"],
        "ENTERPRISE_LOGO_URL": "/static/img/quay-horizontal-color.svg",
        "EXTERNAL_TLS_TERMINATION": False,
        "FEATURE_ACI_CONVERSION": False,
        "FEATURE_ANONYMOUS_ACCESS": True,
        "FEATURE_APP_REGISTRY": False,
        "FEATURE_APP_SPECIFIC_TOKENS": True,
        "FEATURE_BUILD_SUPPORT": False,
        "FEATURE_CHANGE_TAG_EXPIRATION": True,
        "FEATURE_DIRECT_LOGIN": True,
        "FEATURE_MAILING": False,
        "FEATURE_PARTIAL_USER_AUTOCOMPLETE": True,
        "FEATURE_REPO_MIRROR": True,
        "FEATURE_REQUIRE_TEAM_INVITE": True,
        "FEATURE_RESTRICTED_V1_PUSH": True,
        "FEATURE_SECURITY_NOTIFICATIONS": True,
        "FEATURE_SECURITY_SCANNER": False,
        "FEATURE_USERNAME_CONFIRMATION": True,
        "FEATURE_USER_CREATION": False,
        "FEATURE_USER_INITIALIZE": True,
        "FEATURE_USER_LOG_ACCESS": True,
        "GITHUB_LOGIN_CONFIG": {},
        "GLOBAL_READONLY_SUPER_USERS": [reader_robot(admin_user)],
        "GITHUB_TRIGGER_CONFIG": {},
        "GITLAB_TRIGGER_KIND": {},
        "LOGS_MODEL": "database",
        "LOGS_MODEL_CONFIG": {},
        "LOG_ARCHIVE_LOCATION": "default",
        "PREFERRED_URL_SCHEME": "https",
        "REGISTRY_TITLE": "Mirror registry",
        "REGISTRY_TITLE_SHORT": "Mirror registry",
        "REPO_MIRROR_SERVER_HOSTNAME": None,
        "REPO_MIRROR_TLS_VERIFY": False,
        "SECRET_KEY": secrets_["secret_key"],
        "SECURITY_SCANNER_ISSUER_NAME": "security_scanner",
        "SERVER_HOSTNAME": server_hostname,
        "SETUP_COMPLETE": True,
        "SUPER_USERS": [admin_user],
        "TAG_EXPIRATION_OPTIONS": ["0s", "1d", "1w", "2w", "4w"],
        "TEAM_RESYNC_STALE_TIME": "60m",
        "TESTING": False,
        "USERFILES_LOCATION": "default",
        "USERFILES_PATH": "userfiles/",
        "USER_EVENTS_REDIS": dict(redis),
        "USE_CDN": False,
    }


def write_quay_config(path: Path, server_hostname: str, admin_user: str, secrets_: dict[str, str],
                      db: str = "sqlite") -> dict[str, Any]:
    """Render config.yaml (mode 0600: it holds secrets) and return the document."""
    doc = quay_config(server_hostname, admin_user, secrets_, db)
    text = "# Generated by bundler (bundler quay up); edits are overwritten on the next run.\n"
    text += yaml.safe_dump(doc, sort_keys=True, default_flow_style=False)
    write_private(path, text.encode())
    return doc


def distribution_config(secrets_: dict[str, str]) -> dict[str, Any]:
    """Docker Distribution 2.8 config: htpasswd auth (bcrypt) and TLS with the generated certificate."""
    return {
        "version": 0.1,
        "log": {"level": "info"},
        "storage": {"filesystem": {"rootdirectory": "/var/lib/registry"}, "delete": {"enabled": True}},
        "http": {"addr": ":5000", "secret": secrets_["registry_http_secret"], "relativeurls": True,
                 "tls": {"certificate": "/certs/server.crt", "key": "/certs/server.key"},
                 "headers": {"X-Content-Type-Options": ["nosniff"]}},
        "auth": {"htpasswd": {"realm": "bundler-registry", "path": "/auth/htpasswd"}},
        "health": {"storagedriver": {"enabled": True, "interval": "10s", "threshold": 3}},
    }


def write_distribution_config(path: Path, secrets_: dict[str, str]) -> None:
    text = "# Generated by bundler (bundler quay up --flavor distribution).\n"
    text += yaml.safe_dump(distribution_config(secrets_), sort_keys=True)
    write_private(path, text.encode())


def bcrypt_htpasswd(user: str, password: str) -> str:
    """One htpasswd line with a bcrypt hash (Distribution ignores other schemes).

    Uses ``htpasswd -niB`` with the password on stdin (never on the command line), else libcrypt.
    """
    if shutil.which("htpasswd"):
        res = subprocess.run(["htpasswd", "-niB", user], input=password, capture_output=True, text=True,
                             check=False)
        line = res.stdout.strip()
        if res.returncode == 0 and line.startswith(f"{user}:$2"):
            return line
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # noqa: PLC0415 - deprecated module, only a fallback
        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))
    if not hashed or not hashed.startswith("$2"):
        raise BundlerError("cannot make a bcrypt htpasswd entry", "install apache2-utils (htpasswd)")
    return f"{user}:{hashed}"


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file created 0600 from the start (never world-readable, even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
