"""Errors a user sees: one clear message naming the thing, plus what to do."""

from __future__ import annotations

import errno
from pathlib import Path


class BundlerError(Exception):
    """An error meant for the user; the CLI prints it and exits non-zero."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class ConfigError(BundlerError):
    """The ImageSetConfiguration is malformed or names something unsupported."""


class RegistryError(BundlerError):
    """A registry refused, failed or could not be reached."""

    def __init__(self, message: str, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint)
        self.status = status


class NotFoundError(RegistryError):
    """The image, tag or blob does not exist in the registry."""


class AuthError(RegistryError):
    """Credentials are missing or wrong."""


class DigestMismatchError(BundlerError):
    """Bytes did not hash to the digest they were fetched by."""


class BundleError(BundlerError):
    """The bundle on disk is missing, corrupt, truncated or not a bundle."""


class DiskError(BundlerError):
    """Writing to local disk failed (full, read-only, no permission): fatal, nothing is continued."""


def disk_error(exc: OSError, what: str, path: Path) -> DiskError:
    """Turn an OSError while writing into a user-facing error naming the thing."""
    if exc.errno == errno.ENOSPC:
        return DiskError(f"disk full while writing {what} to {path}", "free space there or choose another -o path")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return DiskError(f"cannot write {what} to {path}: {exc.strerror}", "choose a writable -o path")
    return DiskError(f"writing {what} to {path} failed: {exc}")
