"""Release signatures: fetched from a protocol-real signature store over TLS, verified, rendered as the
ConfigMap the cluster-version operator reads. Signatures are made by the real gpg with throw-away keys."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bundler.content.release import openpgp
from bundler.content.release.signatures import (
    CONFIGMAP_JSON,
    CONFIGMAP_YAML,
    SignatureDigestError,
    SignatureError,
    SignatureKeyError,
    SignatureMissingError,
    SignatureStore,
    SignatureUnverifiableError,
    configmap_json,
    configmap_yaml,
    release_keyring,
    release_signatures,
    signature_configmap,
    signature_store_url,
    verify_signature,
    write_configmap,
)
from bundler.errors import ConfigError
from testkit.graph_server import Universe, UpdateServer
from testkit.signing import GpgSigner, atomic_payload

DATA = Path(__file__).parent / "data"
REAL_DIGEST = "sha256:0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363"
REF = "quay.io/openshift-release-dev/ocp-release:4.4.6-x86_64"


def digest_of(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


@pytest.fixture(scope="module")
def signer() -> Iterator[GpgSigner]:
    with GpgSigner("bundler test release key") as s:
        yield s


@pytest.fixture(scope="module")
def stranger() -> Iterator[GpgSigner]:
    with GpgSigner("someone else") as s:
        yield s


@pytest.fixture(scope="module")
def server() -> Iterator[UpdateServer]:
    with UpdateServer(Universe([], [])) as srv:
        yield srv


@pytest.fixture
def keyring(signer: GpgSigner, tmp_path: Path) -> openpgp.Keyring:
    return release_keyring(signer.write_public_key(tmp_path / "release.asc"))


@pytest.fixture
def store(server: UpdateServer) -> SignatureStore:
    server.clear_failures()
    return SignatureStore(server.signature_url, ca_file=str(server.ca_file))


def test_every_signature_is_fetched_until_404_and_verified(signer: GpgSigner, server: UpdateServer,
                                                           store: SignatureStore, keyring: openpgp.Keyring) -> None:
    digest = digest_of("two signatures")
    first, second = signer.sign_release(digest, REF), signer.sign_release(digest, REF)
    server.add_signature(digest, first)
    server.add_signature(digest, second)
    server.requests.clear()
    sigs, warnings = release_signatures(store, digest, keyring, release="4.4.6")
    assert warnings == []
    assert [(s.index, s.data, s.reference, s.key) for s in sigs] == \
        [(1, first, REF, signer.fingerprint), (2, second, REF, signer.fingerprint)]
    hexd = digest[7:]
    assert [p for p, _, _ in server.requests] == [
        f"/pub/openshift-v4/signatures/openshift/release/sha256={hexd}/signature-{n}" for n in (1, 2, 3)]


def test_red_hat_signature_through_the_store_with_the_default_key(server: UpdateServer, store: SignatureStore,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCP_SIGNATURE_VERIFICATION_PK", raising=False)
    server.add_signature(REAL_DIGEST, (DATA / "ocp-4.15.0-x86_64.signature-1").read_bytes())
    sigs, _ = release_signatures(store, REAL_DIGEST, release_keyring(), release="4.15.0")
    assert sigs[0].reference == "quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64"
    assert sigs[0].key == "567E347AD0044ADE55BA8A5F199E2F91FD431D51"


def test_store_url_and_key_from_environment(signer: GpgSigner, server: UpdateServer, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCP_SIGNATURE_URL", raising=False)
    assert signature_store_url() == "https://mirror.openshift.com/pub/openshift-v4/signatures/openshift/release/"
    monkeypatch.setenv("OCP_SIGNATURE_URL", server.signature_url.rstrip("/"))
    assert signature_store_url() == server.signature_url
    monkeypatch.setenv("OCP_SIGNATURE_VERIFICATION_PK", str(signer.write_public_key(tmp_path / "env.asc")))
    digest = digest_of("env")
    server.add_signature(digest, signer.sign_release(digest, REF))
    sigs, _ = release_signatures(SignatureStore(ca_file=str(server.ca_file)), digest, release_keyring())
    assert sigs[0].key == signer.fingerprint
    assert release_keyring().name.endswith("env.asc")


def test_release_key_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"release key file .*nope.asc \(from --release-key\) cannot be read"):
        release_keyring(tmp_path / "nope.asc")
    (tmp_path / "junk.asc").write_text("hello")
    with pytest.raises(ConfigError, match="junk.asc .*not an OpenPGP packet header"):
        release_keyring(tmp_path / "junk.asc")
    with pytest.raises(ConfigError, match="is not an http"):
        signature_store_url("mirror.openshift.com/pub")


def test_missing_signature_names_the_release_and_url(store: SignatureStore, keyring: openpgp.Keyring) -> None:
    digest = digest_of("unsigned")
    with pytest.raises(SignatureMissingError, match=f"release 4.4.7: no signature for {digest} at https://127") as exc:
        release_signatures(store, digest, keyring, release="4.4.7")
    assert "--ignore-release-signature" in str(exc.value.hint)


def test_unverifiable_signatures(server: UpdateServer, store: SignatureStore, signer: GpgSigner,
                                 keyring: openpgp.Keyring) -> None:
    digest = digest_of("garbage")
    server.add_signature(digest, b"<html>not a signature</html>")
    with pytest.raises(SignatureUnverifiableError, match="release 4.4.8 signature-1 cannot be verified: byte 0"):
        release_signatures(store, digest, keyring, release="4.4.8")
    broken = bytearray(signer.sign(atomic_payload(digest_of("broken"), REF), compress="none"))
    broken[-20] ^= 0x01
    with pytest.raises(SignatureUnverifiableError, match="signature-1 cannot be verified: signature by"):
        verify_signature(bytes(broken), digest_of("broken"), keyring, release="4.4.9")


def test_signature_by_another_key(server: UpdateServer, store: SignatureStore, stranger: GpgSigner,
                                  keyring: openpgp.Keyring, signer: GpgSigner) -> None:
    digest = digest_of("stranger")
    server.add_signature(digest, stranger.sign_release(digest, REF))
    with pytest.raises(SignatureKeyError, match=f"signed by another key .*{stranger.key_id}.*not by release key "
                                                f"file .*{signer.key_id}"):
        release_signatures(store, digest, keyring, release="4.4.10")


def test_real_signature_against_the_test_key_is_another_key(keyring: openpgp.Keyring) -> None:
    with pytest.raises(SignatureKeyError, match="199E2F91FD431D51"):
        verify_signature((DATA / "ocp-4.15.0-x86_64.signature-1").read_bytes(), REAL_DIGEST, keyring)


def test_signature_naming_another_digest(server: UpdateServer, store: SignatureStore, signer: GpgSigner,
                                         keyring: openpgp.Keyring) -> None:
    digest, other = digest_of("asked"), digest_of("served")
    server.add_signature(digest, signer.sign_release(other, REF))
    with pytest.raises(SignatureDigestError, match=f"signature-1 names image {other} \\({REF}\\), not {digest}"):
        release_signatures(store, digest, keyring, release="4.4.11")
    not_atomic = signer.sign(atomic_payload(digest, REF, kind="cosign container image signature"))
    with pytest.raises(SignatureDigestError, match="not an 'atomic container signature'"):
        verify_signature(not_atomic, digest, keyring)
    with pytest.raises(SignatureDigestError, match="does not sign an atomic container signature document"):
        verify_signature(signer.sign(b"[1, 2]"), digest, keyring)


def test_one_good_signature_is_enough_and_the_bad_one_is_reported(server: UpdateServer, store: SignatureStore,
                                                                  signer: GpgSigner, stranger: GpgSigner,
                                                                  keyring: openpgp.Keyring) -> None:
    digest = digest_of("mixed")
    server.add_signature(digest, stranger.sign_release(digest, REF))
    server.add_signature(digest, signer.sign_release(digest, REF))
    sigs, warnings = release_signatures(store, digest, keyring, release="4.4.12")
    assert [s.index for s in sigs] == [2]
    assert len(warnings) == 1 and "signature-1 is signed by another key" in warnings[0]


def test_all_bad_signatures_are_listed(server: UpdateServer, store: SignatureStore, stranger: GpgSigner,
                                       keyring: openpgp.Keyring) -> None:
    digest = digest_of("all bad")
    server.add_signature(digest, stranger.sign_release(digest, REF))
    server.add_signature(digest, b"junk")
    with pytest.raises(SignatureError, match="none of its 2 signatures is acceptable: .*signature-1 is signed by "
                                             "another key.*signature-2 cannot be verified") as exc:
        release_signatures(store, digest, keyring, release="4.4.13")
    assert type(exc.value) is SignatureError


def test_store_failures_are_named(server: UpdateServer, store: SignatureStore, keyring: openpgp.Keyring) -> None:
    server.fail("/pub/", 500, b"oops", "text/plain")
    with pytest.raises(SignatureError, match="signature store https://127.0.0.1:.*/signature-1 answered HTTP 500"):
        store.fetch(digest_of("x"), "4.4.14")
    with pytest.raises(SignatureError, match="TLS failed: certificate signed by an unknown CA"):
        SignatureStore(server.signature_url).fetch(digest_of("x"))
    with pytest.raises(ConfigError, match="is not sha256:<64 hex>"):
        store.fetch("sha256:abc")


def test_configmap_is_what_oc_mirror_writes(signer: GpgSigner, keyring: openpgp.Keyring, tmp_path: Path) -> None:
    d1, d2 = digest_of("release 1"), digest_of("release 2")
    s1a, s1b = (verify_signature(signer.sign(atomic_payload(d1, REF, timestamp=i)), d1, keyring, index=i)
                for i in (1, 2))
    s2 = verify_signature(signer.sign_release(d2, REF), d2, keyring)
    cm = signature_configmap([s1a, s1b, s2, s1a], created_at="2026-01-02T03:04:05Z")
    assert list(cm) == ["kind", "apiVersion", "metadata", "binaryData"]
    assert cm["metadata"] == {"name": "mirrored-release-signatures", "namespace": "openshift-config-managed",
                              "labels": {"release.openshift.io/verification-signatures": ""},
                              "annotations": {"createdAt": "2026-01-02T03:04:05Z", "createdBy": "bundler"}}
    assert cm["binaryData"] == {f"sha256-{d1[7:]}-1": base64.b64encode(s1a.data).decode(),
                                f"sha256-{d1[7:]}-2": base64.b64encode(s1b.data).decode(),
                                f"sha256-{d2[7:]}-3": base64.b64encode(s2.data).decode()}
    assert configmap_json(cm).startswith(b'{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":')
    written = write_configmap(tmp_path / "cluster-resources", [s1a, s1b, s2], created_at="2026-01-02T03:04:05Z")
    assert [p.name for p in written] == [CONFIGMAP_JSON, CONFIGMAP_YAML]
    assert json.loads(written[0].read_bytes()) == cm == yaml.safe_load(written[1].read_bytes())
    assert written[0].read_bytes() == configmap_json(cm) and written[1].read_bytes() == configmap_yaml(cm)
    text = written[1].read_text()
    assert text.startswith("apiVersion: v1\nbinaryData:\n") and "\nkind: ConfigMap\nmetadata:\n" in text
    for value in cm["binaryData"].values():
        assert f": {value}\n" in text, "each signature on one line"
    assert sorted(p.name for p in (tmp_path / "cluster-resources").iterdir()) == [CONFIGMAP_JSON, CONFIGMAP_YAML]
    assert write_configmap(tmp_path / "empty", []) == []
    assert not (tmp_path / "empty").exists()


def test_configmap_carries_the_store_bytes_unchanged(keyring: openpgp.Keyring, signer: GpgSigner) -> None:
    digest = digest_of("bytes")
    raw = signer.sign_release(digest, REF)
    cm = signature_configmap([verify_signature(raw, digest, keyring)])
    assert base64.b64decode(cm["binaryData"][f"sha256-{digest[7:]}-1"]) == raw
    assert json.loads(openpgp.verify_message(raw, keyring).payload)["critical"]["image"] == \
        {"docker-manifest-digest": digest}
