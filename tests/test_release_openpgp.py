"""The pure-Python OpenPGP verifier against messages made by the real gpg, and Red Hat's real signature.

Every message here is produced by GnuPG in a throw-away home (testkit.signing): the verifier and the
producer share no code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bundler.content.release import openpgp
from bundler.content.release.signatures import release_keyring
from testkit.signing import GpgSigner

DATA = Path(__file__).parent / "data"
REAL_DIGEST = "sha256:0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363"
PAYLOAD = b'{"critical":{"type":"atomic container signature"}}'


@pytest.fixture(scope="module", params=["rsa2048", "ed25519", "nistp256"])
def signer(request: pytest.FixtureRequest) -> Iterator[GpgSigner]:
    with GpgSigner(algo=request.param) as s:
        yield s



@pytest.fixture(autouse=True)
def red_hat_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """release_keyring() here means the embedded Red Hat key, whatever the session's store sets."""
    monkeypatch.delenv("OCP_SIGNATURE_VERIFICATION_PK", raising=False)

def test_red_hat_signature_from_oc_mirror_verifies_with_the_embedded_key() -> None:
    """tests/data/ocp-4.15.0-x86_64.signature-1 is oc-mirror's internal/e2e/signatures/signature-1: a real
    signature of OCP 4.15.0 x86_64 by Red Hat's release key 2."""
    keyring = release_keyring()
    verified = openpgp.verify_message((DATA / "ocp-4.15.0-x86_64.signature-1").read_bytes(), keyring)
    assert verified.key.fingerprint == "567E347AD0044ADE55BA8A5F199E2F91FD431D51"
    assert verified.hash_name == "sha256" and verified.created == 1708963212
    doc = json.loads(verified.payload)
    assert doc["critical"]["image"]["docker-manifest-digest"] == REAL_DIGEST
    assert doc["critical"]["identity"]["docker-reference"] == "quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64"


@pytest.mark.parametrize("compress", ["zlib", "zip", "bzip2", "none"])
@pytest.mark.parametrize("digest", ["SHA256", "SHA512"])
def test_gpg_messages_verify(signer: GpgSigner, compress: str, digest: str) -> None:
    keyring = openpgp.read_keyring(signer.public_key(), "test key")
    message = signer.sign(PAYLOAD, compress=compress, digest_algo=digest)
    verified = openpgp.verify_message(message, keyring)
    assert verified.payload == PAYLOAD
    assert verified.key.fingerprint == signer.fingerprint
    assert verified.hash_name == digest.lower()


def test_armored_text_mode_message_and_binary_keyring(signer: GpgSigner) -> None:
    keyring = openpgp.read_keyring(signer.public_key(armor=False), "binary key")
    verified = openpgp.verify_message(signer.sign(b"a\nb\n", textmode=True, armor=True), keyring)
    assert verified.payload.replace(b"\r\n", b"\n") == b"a\nb\n"


def test_tampered_payload_is_a_bad_signature(signer: GpgSigner) -> None:
    keyring = openpgp.read_keyring(signer.public_key())
    message = bytearray(signer.sign(PAYLOAD, compress="none"))
    at = bytes(message).index(b"atomic")
    message[at] ^= 0x20
    with pytest.raises(openpgp.BadSignatureError, match=f"signature by {signer.key_id}"):
        openpgp.verify_message(bytes(message), keyring)


def test_corrupt_signature_value_is_a_bad_signature() -> None:
    """A bit flipped near the end of an uncompressed message lands in the RSA signature value."""
    with GpgSigner() as s:
        message = bytearray(s.sign(PAYLOAD, compress="none"))
        message[-20] ^= 0x01
        with pytest.raises(openpgp.BadSignatureError):
            openpgp.verify_message(bytes(message), openpgp.read_keyring(s.public_key()))


def test_other_key_is_named_by_its_id(signer: GpgSigner) -> None:
    with pytest.raises(openpgp.UnknownKeyError, match=f"signed by .*{signer.key_id}.*not by a key of the Red Hat") as exc:
        openpgp.verify_message(signer.sign(PAYLOAD), release_keyring())
    assert any(i.endswith(signer.key_id) for i in exc.value.issuers)


@pytest.mark.parametrize("data,error", [
    (b"not a signature at all", "byte 0: not an OpenPGP packet header"),
    (b"\xa3\x01\x00\x01\x02", "compressed data is truncated"),
    (b"\xa3\x01\xff\xff\xff", "compressed data is corrupt"),
    (b"\xa3\x07\x00", "compression algorithm 7 is not supported"),
    (b"\x90\x0d" + b"\x03" * 5, "truncated OpenPGP data"),
    (b"", "not a signed message"),
])
def test_malformed_messages(data: bytes, error: str) -> None:
    with pytest.raises(openpgp.OpenPGPError, match=error):
        openpgp.verify_message(data, release_keyring())


def test_armor_checksum_and_keyring_errors() -> None:
    armored = (Path(openpgp.__file__).parent / "redhat-release-key.asc").read_bytes()
    broken = armored.replace(b"=GmdY", b"=AAAA")
    with pytest.raises(openpgp.MalformedError, match="checksum"):
        openpgp.read_keyring(broken)
    with pytest.raises(openpgp.MalformedError, match="holds no OpenPGP v4 public key"):
        openpgp.read_keyring(b"\xcd\x05hello", "empty ring")  # a single user ID packet
    with GpgSigner() as s:
        secret = s._gpg("--export-secret-keys", s.fingerprint)
    with pytest.raises(openpgp.MalformedError, match="holds a secret key"):
        openpgp.read_keyring(secret, "secret.gpg")


def test_decompression_bomb_is_refused() -> None:
    import zlib
    bomb = zlib.compress(b"\x00" * (openpgp.MAX_MESSAGE + 10))
    packet = bytes([0xA3, 0x02]) + bomb  # old-format compressed packet, indeterminate length, ZLIB
    with pytest.raises(openpgp.MalformedError, match="inflates beyond"):
        openpgp.verify_message(packet, release_keyring())
