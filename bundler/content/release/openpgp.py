"""Just enough OpenPGP (RFC 4880, v4 keys and v3/v4 signatures) to verify release signatures.

A release signature is a signed OpenPGP message (usually compressed: one-pass signature, literal data,
signature) whose literal data is the "atomic container signature" JSON. This module reads such a message,
finds the signing key in a keyring by issuer key ID or fingerprint and checks the signature with
``cryptography`` (RSA PKCS#1 v1.5, ECDSA P-256/384/521, Ed25519). The keyring is trusted as given, as with
``gpgv --keyring``: self-signatures, subkey bindings, expiry and revocations are not evaluated. Why pure
Python and not gpgv: docs/releases.md.
"""

from __future__ import annotations

import bz2
import hashlib
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from .openpgp_wire import (
    BadSignatureError,
    MalformedError,
    OpenPGPError,
    UnknownKeyError,
    UnsupportedError,
    dearmor,
    mpi_bytes,
    mpis,
    packets,
    take,
)

__all__ = ["BadSignatureError", "Keyring", "MalformedError", "OpenPGPError", "PublicKey", "UnknownKeyError",
           "UnsupportedError", "Verified", "dearmor", "packets", "read_keyring", "verify_message"]

MAX_MESSAGE = 1 << 20  # a release signature is ~1 KiB; refuse to inflate anything much bigger

HASHES: dict[int, tuple[str, type[hashes.HashAlgorithm]]] = {
    8: ("sha256", hashes.SHA256), 9: ("sha384", hashes.SHA384),
    10: ("sha512", hashes.SHA512), 11: ("sha224", hashes.SHA224),
}
WEAK_HASHES = {1: "MD5", 2: "SHA-1", 3: "RIPEMD-160"}
CURVES: dict[bytes, ec.EllipticCurve] = {
    bytes.fromhex("2a8648ce3d030107"): ec.SECP256R1(), bytes.fromhex("2b81040022"): ec.SECP384R1(),
    bytes.fromhex("2b81040023"): ec.SECP521R1(),
}
ED25519_OID = bytes.fromhex("2b06010401da470f01")


@dataclass
class PublicKey:
    fingerprint: str  # upper-case hex, v4: SHA-1 of the key packet
    algorithm: int
    created: int
    key: Any  # a cryptography public key, or None when the algorithm is unsupported
    user_ids: list[str] = field(default_factory=list)
    primary: str | None = None  # the primary key's fingerprint, for a subkey

    @property
    def key_id(self) -> str:
        return self.fingerprint[-16:]

    def describe(self) -> str:
        owner = self.user_ids[0] if self.user_ids else "no user ID"
        return f"{self.key_id} ({owner})"


@dataclass
class Keyring:
    keys: list[PublicKey]
    name: str = "keyring"

    def find(self, issuer: str) -> PublicKey | None:
        """The key whose fingerprint or key ID (hex) is ``issuer``."""
        issuer = issuer.upper()
        for k in self.keys:
            if k.fingerprint == issuer or k.key_id == issuer:
                return k
        return None

    def describe(self) -> str:
        return ", ".join(k.describe() for k in self.keys if k.primary is None)


@dataclass
class Verified:
    """A message whose signature verified: the signed bytes, the key, the signature's time and hash."""

    payload: bytes
    key: PublicKey
    created: int | None
    hash_name: str


# -- keys ------------------------------------------------------------------------------------------

def read_keyring(data: bytes, name: str = "keyring") -> Keyring:
    """Every v4 public key and subkey (with its user IDs) in armored or binary ``data``."""
    keys: list[PublicKey] = []
    primary: PublicKey | None = None
    for tag, body in packets(dearmor(data)):
        if tag in (6, 14) and body[:1] == b"\x04":
            key = _public_key(body)
            if tag == 6:
                primary = key
            else:
                key.primary = primary.fingerprint if primary else None
            keys.append(key)
        elif tag == 13 and primary is not None:
            primary.user_ids.append(body.decode("utf-8", "replace"))
        elif tag in (5, 7):
            raise MalformedError(f"{name} holds a secret key; give the public key only")
    for k in keys:
        if k.primary and not k.user_ids:
            k.user_ids = next((p.user_ids for p in keys if p.fingerprint == k.primary), [])
    if not keys:
        raise MalformedError(f"{name} holds no OpenPGP v4 public key")
    return Keyring(keys, name)


def _public_key(body: bytes) -> PublicKey:
    created, algo = struct.unpack(">IB", take(body, 1, 5))
    material = body[6:]
    fpr = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body, usedforsecurity=False).hexdigest().upper()
    key: Any = None
    if algo in (1, 2, 3):
        (n, e), _ = mpis(material, 2)
        key = rsa.RSAPublicNumbers(e, n).public_key()
    elif algo in (19, 22):
        oid = take(material, 1, material[0])
        point, _ = mpi_bytes(material[1 + material[0]:])
        if algo == 19 and oid in CURVES:
            key = ec.EllipticCurvePublicKey.from_encoded_point(CURVES[oid], point)
        elif algo == 22 and oid == ED25519_OID and point[:1] == b"\x40":
            key = ed25519.Ed25519PublicKey.from_public_bytes(point[1:])
    elif algo == 27:
        key = ed25519.Ed25519PublicKey.from_public_bytes(take(material, 0, 32))
    return PublicKey(fpr, algo, created, key)


# -- signatures ------------------------------------------------------------------------------------

@dataclass
class _Signature:
    sig_type: int
    pk_algo: int
    hash_algo: int
    trailer: bytes
    left16: bytes
    material: bytes
    issuers: list[str]
    created: int | None


def _signature(body: bytes) -> _Signature:
    version = take(body, 0, 1)[0]
    if version == 3:
        sig_type, created = body[2], int.from_bytes(take(body, 3, 4), "big")
        key_id, pk, h = take(body, 7, 8).hex().upper(), body[15], body[16]
        return _Signature(sig_type, pk, h, body[2:7], take(body, 17, 2), body[19:], [key_id], created)
    if version != 4:
        raise UnsupportedError(f"version {version} signatures are not supported")
    sig_type, pk, h, hlen = struct.unpack(">BBBH", take(body, 1, 5))
    hashed_end = 6 + hlen
    ulen = int.from_bytes(take(body, hashed_end, 2), "big")
    unhashed = take(body, hashed_end + 2, ulen)
    portion = body[:hashed_end]
    trailer = portion + b"\x04\xff" + len(portion).to_bytes(4, "big")
    sig = _Signature(sig_type, pk, h, trailer, take(body, hashed_end + 2 + ulen, 2),
                     body[hashed_end + 4 + ulen:], [], None)
    for hashed, (kind, value) in [(True, s) for s in _subpackets(body[6:hashed_end])] + \
                                 [(False, s) for s in _subpackets(unhashed)]:
        if kind == 2 and hashed:
            sig.created = int.from_bytes(value[:4], "big")
        elif kind == 16:
            sig.issuers.append(value.hex().upper())
        elif kind == 33 and len(value) > 1:
            sig.issuers.insert(0, value[1:].hex().upper())
    return sig


_KNOWN_SUBPACKETS = {2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 16, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35}


def _subpackets(data: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 0
    while pos < len(data):
        first = data[pos]
        if first < 192:
            length, pos = first, pos + 1
        elif first < 255:
            length, pos = ((first - 192) << 8) + take(data, pos + 1, 1)[0] + 192, pos + 2
        else:
            length, pos = int.from_bytes(take(data, pos + 1, 4), "big"), pos + 5
        chunk = take(data, pos, length)
        if not chunk:
            raise MalformedError("empty signature subpacket")
        kind = chunk[0] & 0x7F
        if chunk[0] & 0x80 and kind not in _KNOWN_SUBPACKETS:
            raise UnsupportedError(f"critical signature subpacket {kind} is not understood")
        yield kind, chunk[1:]
        pos += length


def _message(data: bytes, depth: int = 0) -> tuple[list[bytes], list[_Signature]]:
    """Literal data bodies and signatures of a (possibly compressed) message."""
    literals: list[bytes] = []
    sigs: list[_Signature] = []
    for tag, body in packets(data):
        if tag == 8 and depth < 2:
            more_lit, more_sig = _message(_inflate(body), depth + 1)
            literals += more_lit
            sigs += more_sig
        elif tag == 11:
            name_len = take(body, 1, 1)[0]
            literals.append(body[2 + name_len + 4:])
        elif tag == 2:
            sigs.append(_signature(body))
        elif tag not in (4, 10):  # one-pass signature, marker
            raise MalformedError(f"unexpected packet type {tag} in a signed message")
    return literals, sigs


def _inflate(body: bytes) -> bytes:
    algo, data = take(body, 0, 1)[0], body[1:]
    try:
        if algo == 0:
            return data
        if algo in (1, 2):
            d: Any = zlib.decompressobj(-15 if algo == 1 else 15)
        elif algo == 3:
            d = bz2.BZ2Decompressor()
        else:
            raise UnsupportedError(f"compression algorithm {algo} is not supported")
        out = d.decompress(data, MAX_MESSAGE + 1)
    except (zlib.error, OSError, EOFError) as exc:
        raise MalformedError(f"compressed data is corrupt: {exc}") from exc
    if len(out) > MAX_MESSAGE:
        raise MalformedError(f"compressed data inflates beyond {MAX_MESSAGE} bytes")
    if not d.eof:
        raise MalformedError("compressed data is truncated")
    return out


def verify_message(data: bytes, keyring: Keyring) -> Verified:
    """The signed payload of ``data`` if one of its signatures verifies with a key of ``keyring``."""
    literals, sigs = _message(dearmor(data))
    if len(literals) != 1 or not sigs:
        raise MalformedError(f"not a signed message ({len(literals)} literal data packets, {len(sigs)} signatures)")
    payload = literals[0]
    issuers: list[str] = []
    failure: OpenPGPError | None = None
    for sig in sigs:
        key = next((k for k in map(keyring.find, sig.issuers) if k is not None), None)
        if key is None:
            issuers += sig.issuers
            continue
        try:
            return Verified(payload, key, sig.created, _check(sig, key, payload))
        except OpenPGPError as exc:
            failure = exc
    if failure is not None:
        raise failure
    raise UnknownKeyError(f"signed by {', '.join(issuers) or 'an unnamed key'}, not by a key of {keyring.name}",
                          issuers)


def _check(sig: _Signature, key: PublicKey, payload: bytes) -> str:
    if sig.sig_type not in (0x00, 0x01):
        raise UnsupportedError(f"signature type 0x{sig.sig_type:02x} is not a document signature")
    if sig.hash_algo in WEAK_HASHES:
        raise UnsupportedError(f"signature uses the weak hash {WEAK_HASHES[sig.hash_algo]}")
    if sig.hash_algo not in HASHES:
        raise UnsupportedError(f"hash algorithm {sig.hash_algo} is not supported")
    if sig.pk_algo != key.algorithm and {sig.pk_algo, key.algorithm} != {1, 3}:
        raise BadSignatureError(f"signature algorithm {sig.pk_algo} does not match key {key.describe()}")
    if key.key is None:
        raise UnsupportedError(f"key {key.key_id} uses public-key algorithm {key.algorithm}, which is not supported")
    name, algorithm = HASHES[sig.hash_algo]
    data = payload.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") if sig.sig_type == 0x01 else payload
    digest = hashlib.new(name, data + sig.trailer).digest()
    if digest[:2] != sig.left16:
        raise BadSignatureError(f"signature by {key.describe()} does not match the signed data")
    try:
        _verify_raw(key, sig, digest, algorithm())
    except (InvalidSignature, ValueError, OverflowError, MalformedError) as exc:
        raise BadSignatureError(f"signature by {key.describe()} is not valid ({type(exc).__name__})") from exc
    return name


def _verify_raw(key: PublicKey, sig: _Signature, digest: bytes, algorithm: hashes.HashAlgorithm) -> None:
    k = key.key
    if isinstance(k, rsa.RSAPublicKey):
        (s,), _ = mpis(sig.material, 1)
        k.verify(s.to_bytes((k.key_size + 7) // 8, "big"), digest, padding.PKCS1v15(), utils.Prehashed(algorithm))
    elif isinstance(k, ec.EllipticCurvePublicKey):
        (r, s), _ = mpis(sig.material, 2)
        k.verify(utils.encode_dss_signature(r, s), digest, ec.ECDSA(utils.Prehashed(algorithm)))
    elif isinstance(k, ed25519.Ed25519PublicKey):
        if key.algorithm == 27:
            raw = take(sig.material, 0, 64)
        else:
            (r, s), _ = mpis(sig.material, 2)
            raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        k.verify(raw, digest)
    else:  # pragma: no cover - _check refused keys without a usable object
        raise UnsupportedError(f"public-key algorithm {key.algorithm}")
