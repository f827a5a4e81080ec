"""Signing a bundle as a whole (Ed25519): ``BUNDLE.sig`` holds a statement and its signature.

The statement names every file (the front, each data part, each parity part) with its size and sha256,
the sha256 of each front file (``oci-layout``, ``index.json``, ``bundler.json``), every manifest and blob
digest the archive holds, and the base of a differential bundle. The front's metadata in turn names each
data part's sha256 and every blob, and each blob is checked against its digest as it streams: no byte of
any file can change, even with ``BUNDLE.sha256`` rewritten, without a check failing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import BundleError, BundlerError
from .front import FrontFile
from .metadata import BundleMetadata
from .names import signature_path

KIND = "BundlerBundleStatement"


def fingerprint(key: Ed25519PublicKey) -> str:
    """``SHA256:<base64>`` of the raw public key, as ssh-keygen prints key fingerprints."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")


def keygen(path: Path) -> tuple[Path, str]:
    """Write a new private key (PEM, mode 0600) and ``path.pub``; refuse to overwrite either."""
    pub = path.with_name(path.name + ".pub")
    for p in (path, pub):
        if p.exists():
            raise BundlerError(f"{p} exists; bundler does not overwrite keys", "remove it or choose another -o path")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo))
    except OSError as exc:
        raise BundlerError(f"cannot write the key to {path}: {exc.strerror}") from exc
    return pub, fingerprint(key.public_key())


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise BundlerError(f"cannot read the signing key {path}: {exc.strerror}") from exc
    except (ValueError, TypeError) as exc:
        raise BundlerError(f"{path} is not an unencrypted PEM private key", "make one with `bundler keygen -o KEY`") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise BundlerError(f"{path} is not an Ed25519 key", "make one with `bundler keygen -o KEY`")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundlerError(f"cannot read the verification key {path}: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        try:  # a private key given by mistake still verifies
            return load_private_key(path).public_key()
        except BundlerError:
            raise BundlerError(f"{path} is not a PEM public key", "pass the KEY.pub written by `bundler keygen`") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BundlerError(f"{path} is not an Ed25519 public key", "pass the KEY.pub written by `bundler keygen`")
    return key


def canonical(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def statement(bundle: Path, sums: list[tuple[Path, str]], meta: BundleMetadata, front: FrontFile) -> dict[str, Any]:
    return {
        "kind": KIND,
        "version": 1,
        "bundle": bundle.name,
        "created": meta.created,
        "files": [{"name": p.name, "size": p.stat().st_size, "sha256": digest} for p, digest in sums],
        "front": dict(sorted(front.files.items())),
        "manifests": list(meta.manifests),
        "blobs": [*meta.bootstrap_blobs, *meta.other_blobs],
        "base": meta.base,
    }


def sign_bundle(key: Ed25519PrivateKey, bundle: Path, sums: list[tuple[Path, str]], meta: BundleMetadata,
                front: FrontFile) -> Path:
    doc = statement(bundle, sums, meta, front)
    public = key.public_key()
    sig = {
        "algorithm": "ed25519",
        "fingerprint": fingerprint(public),
        "publicKey": base64.b64encode(public.public_bytes(serialization.Encoding.Raw,
                                                          serialization.PublicFormat.Raw)).decode(),
        "statement": doc,
        "signature": base64.b64encode(key.sign(canonical(doc))).decode(),
    }
    path = signature_path(bundle)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(sig, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


@dataclass(frozen=True)
class Signed:
    """A signature that verified: who signed, and what they vouched for."""

    fingerprint: str
    statement: dict[str, Any]
    trusted: bool
    """True when the key is one of those the user gave (else only the bundle's integrity is known)."""

    def file(self, name: str) -> dict[str, Any] | None:
        return next((f for f in self.statement.get("files") or [] if f.get("name") == name), None)


def check_signature(bundle: Path, keys: list[Ed25519PublicKey]) -> Signed | None:
    """Verify ``BUNDLE.sig``: against one of ``keys`` when any are given (then a signature is required),
    else against the key it names. None for an unsigned bundle when no key is required."""
    path = signature_path(bundle)
    if not path.exists():
        if keys:
            raise BundleError(f"{bundle} is not signed (no {path.name}) and a signature is required",
                              "ask for the signed bundle, or import without --verify-key")
        return None
    try:
        doc = json.loads(path.read_text())
        doc_statement = doc["statement"]
        signature = base64.b64decode(doc["signature"], validate=True)
        embedded = Ed25519PublicKey.from_public_bytes(base64.b64decode(doc["publicKey"], validate=True))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{path} is damaged ({exc})", "take the signature file from the original media") from exc
    by_print = {fingerprint(k): k for k in keys}
    signer = fingerprint(embedded)
    if keys and signer not in by_print:
        raise BundleError(f"{bundle} is signed by key {signer}, not by the key(s) given: {', '.join(by_print)}",
                          "pass the signer's KEY.pub with --verify-key, or find out who signed this bundle")
    try:
        (by_print.get(signer) or embedded).verify(signature, canonical(doc_statement))
    except InvalidSignature:
        raise BundleError(f"the signature in {path.name} does not verify: the signature or its statement was altered",
                          "take the bundle from the original media") from None
    if doc_statement.get("kind") != KIND or doc_statement.get("bundle") != bundle.name:
        raise BundleError(f"{path.name} signs {doc_statement.get('bundle')!r}, not {bundle.name}",
                          "keep the signature with the bundle it came with")
    return Signed(signer, dict(doc_statement), bool(keys))


def check_front(signed: Signed, bundle: Path, front_sha256: str | None) -> None:
    listed = signed.file(bundle.name)
    if listed is None or front_sha256 != listed["sha256"]:
        raise BundleError(f"the front {bundle.name} (metadata and manifests) was altered: its sha256 is not the signed one",
                          "take the bundle from the original media")


def check_files(signed: Signed, bundle: Path, sums: dict[str, str], front_sha256: str | None,
                front_files: dict[str, bytes], lost: set[str] | None = None) -> None:
    """What can be checked before streaming: the front, its files, BUNDLE.sha256 and the parts' sizes
    against the statement (``lost`` parts are read through parity and checked as they stream)."""
    check_front(signed, bundle, front_sha256)
    for name, digest in (signed.statement.get("front") or {}).items():
        if hashlib.sha256(front_files.get(name, b"")).hexdigest() != digest:
            raise BundleError(f"{name} in {bundle.name} was altered: its sha256 is not the signed one")
    signed_names = {f["name"]: f for f in signed.statement.get("files") or []}
    for name, digest in sums.items():
        entry = signed_names.get(name)
        if entry is None or entry["sha256"] != digest:
            raise BundleError(f"{bundle.name}.sha256 was altered: its line for {name} is not the signed checksum",
                              "take the checksum file from the original media")
    for name, entry in signed_names.items():
        path = bundle.with_name(name)
        if name not in (lost or set()) and path.is_file() and path.stat().st_size != int(entry["size"]):
            raise BundleError(f"bundle part {name} has {path.stat().st_size} bytes, not the signed {entry['size']}",
                              "copy the part again from the original media")
