"""Parity parts: Reed-Solomon (zfec) over the front and the data parts, so that up to as many lost or
unreadable parts as there are parity parts can be rebuilt.

The k shards are the front ``BUNDLE`` and ``BUNDLE.000 ...`` (shorter ones read as zero-padded to the
longest); m parity parts ``BUNDLE.par000 ...`` each hold a 4 KiB header (what the shards are: names, sizes,
sha256, so any one parity part can rebuild even the front) and then the parity bytes, computed stripe by
stripe. A lost shard is rebuilt as a stream (import reads through it; nothing lands on disk) or written
back (``bundler verify --repair``). Why zfec: docs/parity.md.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zfec

from ..errors import BundleError, disk_error
from . import names
from .dataparts import PartInfo, hash_file

MAGIC = b"BUNDLER-PARITY-1\n"
HEADER = 64 << 10
MAX_SHARES = 256
STRIPE_MEMORY = 64 << 20


@dataclass(frozen=True)
class Shard:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Layout:
    k: int
    m: int
    shard_size: int
    stripe: int
    shards: list[Shard]

    def header(self, index: int) -> bytes:
        doc = {"k": self.k, "m": self.m, "index": index, "shardSize": self.shard_size, "stripe": self.stripe,
               "shards": [{"name": s.name, "size": s.size, "sha256": s.sha256} for s in self.shards]}
        data = MAGIC + json.dumps(doc, separators=(",", ":")).encode()
        if len(data) > HEADER:
            raise BundleError(f"too many parts ({self.k}) for one parity header", "use a larger --split-size")
        return data + b"\0" * (HEADER - len(data))

    @classmethod
    def parse(cls, data: bytes, where: Path) -> tuple[Layout, int]:
        if not data.startswith(MAGIC):
            raise BundleError(f"{where} is not a bundle parity part")
        try:
            doc: dict[str, Any] = json.loads(data[len(MAGIC):].rstrip(b"\0"))
            shards = [Shard(str(s["name"]), int(s["size"]), str(s["sha256"])) for s in doc["shards"]]
            return cls(int(doc["k"]), int(doc["m"]), int(doc["shardSize"]), int(doc["stripe"]), shards), int(doc["index"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BundleError(f"{where}: parity header is damaged ({exc})") from exc


def stripe_for(k: int) -> int:
    """Bytes per shard per round: at most STRIPE_MEMORY held for all shards, 4 KiB aligned, <= 1 MiB."""
    return max(4096, min(1 << 20, (STRIPE_MEMORY // max(k, 1)) // 4096 * 4096))


def parity_count(k: int, percent: float) -> int:
    return max(1, math.ceil(k * percent / 100))


def _read_block(fh: io.BufferedReader | None, offset: int, width: int) -> bytes:
    if fh is None:
        return b"\0" * width
    fh.seek(offset)
    data = fh.read(width)
    return data + b"\0" * (width - len(data))


def write_parity(bundle: Path, shard_paths: list[Path], percent: float,
                 on_progress: Callable[[int], object] | None = None) -> list[PartInfo]:
    """Parity parts for ``shard_paths`` (the front, then the data parts); returns them with their sha256."""
    k = len(shard_paths)
    m = parity_count(k, percent)
    if k + m > MAX_SHARES:
        raise BundleError(f"{k} parts and {m} parity parts are more than Reed-Solomon over bytes allows ({MAX_SHARES})",
                          "use a larger --split-size")
    shards = [Shard(p.name, p.stat().st_size, hash_file(p)) for p in shard_paths]
    layout = Layout(k, m, max(s.size for s in shards), stripe_for(k), shards)
    targets = [names.parity_part(bundle, j) for j in range(m)]
    encode(layout, [bundle.with_name(s.name) for s in shards], targets, range(m), on_progress)
    for stale in names.existing_parity_parts(bundle)[m:]:
        stale.unlink()
    return [PartInfo(t, t.stat().st_size, hash_file(t)) for t in targets]


def encode(layout: Layout, shard_paths: list[Path], targets: list[Path], which: range | list[int],
           on_progress: Callable[[int], object] | None = None) -> None:
    encoder = zfec.Encoder(layout.k, layout.k + layout.m)
    wanted = tuple(layout.k + j for j in which)
    sources = [open(p, "rb") for p in shard_paths]  # noqa: SIM115 - closed below
    outs: list[io.BufferedWriter] = []
    try:
        for j, target in zip(which, targets, strict=True):
            out = open(target, "wb")  # noqa: SIM115 - closed below
            outs.append(out)
            out.write(layout.header(j))
        for offset in range(0, layout.shard_size, layout.stripe):
            width = min(layout.stripe, layout.shard_size - offset)
            blocks = tuple(_read_block(fh, offset, layout.stripe) for fh in sources)
            for out, block in zip(outs, encoder.encode(blocks, wanted), strict=True):
                out.write(memoryview(block)[:width])
            if on_progress is not None:
                on_progress(width * layout.k)
        for out in outs:
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        raise disk_error(exc, "the parity parts", targets[0].parent) from exc
    finally:
        for fh in [*sources, *outs]:
            fh.close()


class ParitySet:
    """The parity parts found beside a bundle and the layout they describe."""

    def __init__(self, bundle: Path, layout: Layout, present: dict[int, Path]) -> None:
        self.bundle = bundle
        self.layout = layout
        self.present = present

    @classmethod
    def load(cls, bundle: Path) -> ParitySet | None:
        layout: Layout | None = None
        present: dict[int, Path] = {}
        for path in names.existing_parity_parts(bundle):
            try:
                with open(path, "rb") as fh:
                    found, index = Layout.parse(fh.read(HEADER), path)
            except (OSError, BundleError):
                continue  # an unreadable parity part is simply not there
            if layout is not None and (found.k, found.shards) != (layout.k, layout.shards):
                continue
            layout = layout or found
            if path.stat().st_size == HEADER + layout.shard_size:
                present[index] = path
        return cls(bundle, layout, present) if layout is not None else None

    def shard_path(self, i: int) -> Path:
        return self.bundle.with_name(self.layout.shards[i].name)

    def index_of(self, name: str) -> int | None:
        return next((i for i, s in enumerate(self.layout.shards) if s.name == name), None)

    def lost(self) -> set[int]:
        """Shards that are missing or of the wrong size (cheap: no hashing)."""
        bad = set()
        for i, shard in enumerate(self.layout.shards):
            path = self.shard_path(i)
            if not path.is_file() or path.stat().st_size != shard.size:
                bad.add(i)
        return bad

    def check(self, bad: set[int]) -> list[tuple[int, Path, int]]:
        """k (share number, file, offset of its data) to decode from: the good shards, parity for the rest."""
        if len(bad) > len(self.present):
            gone = [self.layout.shards[i].name for i in sorted(bad)]
            missing_parity = self.layout.m - len(self.present)
            raise BundleError(
                f"{len(bad)} part(s) are lost or damaged ({', '.join(gone)}) but only {len(self.present)} parity "
                f"part(s) are there to rebuild them" + (f" ({missing_parity} parity part(s) missing too)"
                                                       if missing_parity else ""),
                "copy the missing parts again from the original media")
        parity = iter(sorted(self.present.items()))
        plan: list[tuple[int, Path, int]] = []
        for i in range(self.layout.k):
            if i in bad:
                j, path = next(parity)
                plan.append((self.layout.k + j, path, HEADER))
            else:
                plan.append((i, self.shard_path(i), 0))
        return plan

    def stripes(self, bad: set[int], start: int = 0) -> Iterator[tuple[int, list[bytes]]]:
        """(offset, every shard's block at that offset), decoding the ``bad`` ones."""
        plan = self.check(bad)
        decoder = zfec.Decoder(self.layout.k, self.layout.k + self.layout.m)
        nums = tuple(n for n, _, _ in plan)
        files = [open(p, "rb") for _, p, _ in plan]  # noqa: SIM115 - closed below
        stripe = self.layout.stripe
        try:
            for offset in range(start - start % stripe, self.layout.shard_size, stripe):
                blocks = tuple(_read_block(fh, base + offset, stripe)
                               for fh, (_, _, base) in zip(files, plan, strict=True))
                yield offset, list(decoder.decode(blocks, nums)) if bad else list(blocks)
        finally:
            for fh in files:
                fh.close()

    def rebuild_stream(self, i: int, bad: set[int], start: int = 0) -> io.RawIOBase:
        """Shard ``i`` from byte ``start`` on, decoded from the others (``bad`` ones not used)."""
        return _Rebuilt(self, i, bad | {i}, start)

    def repair(self, bad: set[int]) -> list[Path]:
        """Write the ``bad`` shards back, each checked against its recorded sha256; returns their paths."""
        tmps = {i: self.shard_path(i).with_name(f".{self.layout.shards[i].name}.rebuilt") for i in bad}
        outs = {i: open(t, "wb") for i, t in tmps.items()}  # noqa: SIM115 - closed below
        try:
            for offset, blocks in self.stripes(bad):
                for i, out in outs.items():
                    out.write(memoryview(blocks[i])[: max(0, min(self.layout.stripe, self.layout.shards[i].size - offset))])
        except OSError as exc:
            raise disk_error(exc, "a rebuilt part", self.bundle.parent) from exc
        finally:
            for out in outs.values():
                out.close()
        for i, tmp in tmps.items():
            if hash_file(tmp) != self.layout.shards[i].sha256:
                tmp.unlink()
                raise BundleError(f"rebuilding {self.layout.shards[i].name} from parity gave the wrong bytes",
                                  "another part is damaged too: copy the parts again from the original media")
            tmp.replace(self.shard_path(i))
        return [self.shard_path(i) for i in sorted(bad)]

    def repair_parity(self) -> list[Path]:
        """Recompute parity parts that are missing (every shard must be whole)."""
        missing = [j for j in range(self.layout.m) if j not in self.present]
        if missing:
            targets = [names.parity_part(self.bundle, j) for j in missing]
            encode(self.layout, [self.shard_path(i) for i in range(self.layout.k)], targets, missing)
        return [names.parity_part(self.bundle, j) for j in missing]


class _Rebuilt(io.RawIOBase):
    """One shard, decoded stripe by stripe from the others and the parity parts as it is read."""

    def __init__(self, parity: ParitySet, index: int, bad: set[int], start: int = 0) -> None:
        super().__init__()
        self.size = parity.layout.shards[index].size
        self.index = index
        self._stripes = parity.stripes(bad, start)
        self._buf = memoryview(b"")
        self._pos = start
        self._skip = start % parity.layout.stripe

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if not len(self._buf):
            if self._pos >= self.size:
                return 0
            offset, blocks = next(self._stripes)
            block = blocks[self.index]
            self._buf = memoryview(block)[self._skip: min(len(block), self.size - offset)]
            self._skip = 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        self._pos += n
        return n

    def close(self) -> None:
        self._stripes.close()  # type: ignore[attr-defined]
        super().close()


class Resilient(io.RawIOBase):
    """A part read from its file until the medium fails (an I/O error), then from its reconstruction,
    from the same byte on."""

    def __init__(self, path: Path, parity: ParitySet, index: int, on_switch: Callable[[], object]) -> None:
        super().__init__()
        self.parity = parity
        self.index = index
        self.on_switch = on_switch
        self._fh: io.RawIOBase | io.BufferedReader = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._pos = 0
        self._switched = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        try:
            n = self._fh.readinto(b) or 0
        except OSError:
            if self._switched:
                raise
            self._fh.close()
            self._switched = True
            self.on_switch()
            self._fh = self.parity.rebuild_stream(self.index, self.parity.lost(), self._pos)
            n = self._fh.readinto(b) or 0
        self._pos += n
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()
