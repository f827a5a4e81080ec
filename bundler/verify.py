"""``bundler verify`` and the checks every reader of a bundle makes first.

:func:`open_checked` opens a bundle the way import and verify both need it: the signature first (required
when keys are given), then the front, its files and ``BUNDLE.sha256`` against what was signed, all before
a byte is pushed anywhere. :func:`verify_bundle` then streams every part and blob (through parity where a
part is lost) and, with ``repair``, writes lost or damaged parts back from parity first.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .bundle import BundleSource
from .bundle.dataparts import hash_file
from .bundle.names import is_parity_name
from .bundle.parity import ParitySet
from .bundle.receipt import Receipt
from .bundle.signing import Signed, check_files, check_front, check_signature
from .errors import BundleError
from .progress import BarFactory, Printer, human, no_bars


def open_checked(bundle: Path, keys: list[Ed25519PublicKey]) -> tuple[BundleSource, Signed | None]:
    signed = check_signature(bundle, keys)
    if signed is not None and bundle.is_file():
        check_front(signed, bundle, hash_file(bundle))  # before a byte of it is parsed
    source = BundleSource.open(bundle)
    if signed is not None:
        reader = source.reader
        lost = {reader.parity.layout.shards[i].name for i in reader.parity.lost()} if reader.parity else set()
        try:
            check_files(signed, bundle, reader.sums, reader.front_sha256, reader.front, lost)
        except BaseException:
            source.close()
            raise
    return source, signed


def repair_bundle(bundle: Path, say: Printer) -> list[str]:
    """Hash every part against what the parity parts recorded; rebuild the bad ones, then any missing or
    damaged parity part. Returns the names written back."""
    parity = ParitySet.load(bundle)
    if parity is None:
        raise BundleError(f"{bundle} has no parity parts beside it: nothing to repair from",
                          "export with --parity N% to be able to rebuild lost parts")
    bad = {i for i, shard in enumerate(parity.layout.shards)
           if i in parity.lost() or hash_file(parity.shard_path(i)) != shard.sha256}
    written = [p.name for p in parity.repair(bad)] if bad else []
    from .bundle.parts import read_checksums

    sums = read_checksums(bundle)
    for j, path in list(parity.present.items()):
        if path.name in sums and hash_file(path) != sums[path.name]:
            path.unlink()
            del parity.present[j]
    written += [p.name for p in parity.repair_parity()]
    for name in written:
        say(f"repaired {name} from parity")
    return written


def verify_bundle(bundle: Path, keys: list[Ed25519PublicKey] | None = None, repair: bool = False,
                  say: Printer = print, bars: BarFactory = no_bars) -> Receipt:
    repaired = repair_bundle(bundle, say) if repair else []
    source, signed = open_checked(bundle, keys or [])
    reader = source.reader
    receipt = Receipt.start(reader, source.metadata, signed)
    receipt.repaired = repaired
    if not reader.sums and signed is None:
        say(f"warning: no {bundle.name}.sha256 beside the bundle; only blob digests are checked")
    bar = bars("verify", reader.total_bytes)
    last = [0]
    try:
        for blob in source.stream_blobs():
            for _ in blob.chunks:
                pass
            bar.update(reader.bytes_read - last[0])
            last[0] = reader.bytes_read
    finally:
        bar.close()
        source.close()
    _check_parity_parts(bundle, reader.sums, signed)
    receipt.manifests = len(source.manifests)
    receipt.blobs, receipt.bytes = source.blobs_read, source.bytes_streamed
    receipt.rebuilt = list(reader.rebuilt)
    for line in receipt.lines():
        say(line)
    say(f"OK: {len(reader.parts)} file(s) match their checksums; {receipt.blobs} blobs ({human(receipt.bytes)}) and "
        f"{receipt.manifests} manifests match their digests.")
    return receipt


def _check_parity_parts(bundle: Path, sums: dict[str, str], signed: Signed | None) -> None:
    for name, digest in sums.items():
        if not is_parity_name(bundle, name):
            continue
        path = bundle.with_name(name)
        entry = signed.file(name) if signed else None
        expected = str(entry["sha256"]) if entry else digest
        if not path.is_file():
            raise BundleError(f"parity part {name} is missing", "copy it again, or run `bundler verify --repair`")
        if hash_file(path) != expected:
            raise BundleError(f"parity part {name} is corrupt", "copy it again, or run `bundler verify --repair`")
