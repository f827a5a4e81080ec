"""Throw-away OpenPGP release keys for tests, made and used by the real ``gpg`` in a private GNUPGHOME.

Release signatures are produced here exactly as Red Hat's signing service shapes them: an OpenPGP signed
message (``gpg --sign``: compressed, one-pass signature, literal data, signature) over the "atomic
container signature" JSON. Using gpg rather than bundler's own OpenPGP code keeps the producer and the
verifier independent. Nothing here is secret; the homes are deleted by :meth:`GpgSigner.close`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ATOMIC_TYPE = "atomic container signature"
CREATOR = "Red Hat OpenShift Signing Authority 0.0.1"


def atomic_payload(digest: str, reference: str, *, creator: str = CREATOR, timestamp: int | None = None,
                   kind: str = ATOMIC_TYPE) -> bytes:
    """The JSON a release signature signs (containers/image "simple signing" format)."""
    doc = {
        "critical": {"image": {"docker-manifest-digest": digest}, "type": kind,
                     "identity": {"docker-reference": reference}},
        "optional": {"creator": creator, "timestamp": int(time.time()) if timestamp is None else timestamp},
    }
    return json.dumps(doc).encode()


class GpgSigner:
    """One generated key (``algo``: rsa2048, ed25519, nistp256 ...) in its own temporary GNUPGHOME."""

    def __init__(self, name: str = "bundler test release key", algo: str = "rsa2048") -> None:
        if not shutil.which("gpg"):
            raise RuntimeError("gpg is missing: apt-get install gnupg")
        self.home = Path(tempfile.mkdtemp(prefix="bgpg-"))  # short: the agent socket path has a length limit
        self.home.chmod(0o700)
        self.uid = f"{name} <release-{algo}@bundler.test>"
        self._gpg("--quick-generate-key", self.uid, algo, "sign", "never")
        out = self._gpg("--with-colons", "--list-keys", self.uid).decode()
        self.fingerprint = next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))

    def _gpg(self, *args: str, data: bytes | None = None) -> bytes:
        env = dict(os.environ, GNUPGHOME=str(self.home))
        proc = subprocess.run(["gpg", "--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", "",
                               *args], input=data, capture_output=True, env=env, check=False, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"gpg {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
        return proc.stdout

    @property
    def key_id(self) -> str:
        return self.fingerprint[-16:]

    def public_key(self, armor: bool = True) -> bytes:
        return self._gpg(*(["--armor"] if armor else []), "--export", self.fingerprint)

    def write_public_key(self, path: str | Path, armor: bool = True) -> Path:
        p = Path(path)
        p.write_bytes(self.public_key(armor))
        return p

    def sign(self, payload: bytes, *, compress: str | None = None, digest_algo: str | None = None,
             textmode: bool = False, armor: bool = False) -> bytes:
        """A binary signed message over ``payload`` read from a pipe (so gpg uses partial body lengths)."""
        args = ["--local-user", self.fingerprint]
        if compress:
            args += ["--compress-algo", compress]
        if digest_algo:
            args += ["--digest-algo", digest_algo]
        if textmode:
            args.append("--textmode")
        if armor:
            args.append("--armor")
        return self._gpg(*args, "--sign", data=payload)

    def sign_release(self, digest: str, reference: str) -> bytes:
        return self.sign(atomic_payload(digest, reference))

    def close(self) -> None:
        env = dict(os.environ, GNUPGHOME=str(self.home))
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True, check=False, timeout=30)
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> GpgSigner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
