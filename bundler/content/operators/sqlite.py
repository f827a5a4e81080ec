"""SQLite index databases (OCP 4.4 ``oc adm catalog build`` ``/bundles.db`` through the 4.6-4.10
``/database/index.db`` index images), read with the standard library: every query first checks
which tables and columns this database's migration level has."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from typing import Any

from ...errors import BundlerError
from .model import FORMAT_SQLITE, Bundle, Catalog, Channel, Entry, Package, csv_from_manifests
from .sqlite_props import bundle_properties

DATABASE_LABEL = "operators.operatorframework.io.index.database.v1"
LEGACY_DB = "bundles.db"
SQLITE_MAGIC = b"SQLite format 3\x00"


def database_path(labels: dict[str, str]) -> str:
    """Path of the DB inside the image (no leading slash): the label, else 4.4/4.5's /bundles.db."""
    value = labels.get(DATABASE_LABEL)
    return value.strip().strip("/") if value else LEGACY_DB


@contextlib.contextmanager
def open_db(data: bytes) -> Iterator[sqlite3.Connection]:
    """A connection to a private copy of the database bytes."""
    if not data.startswith(SQLITE_MAGIC):
        raise BundlerError("the catalog database is not an SQLite 3 file")
    fd, path = tempfile.mkstemp(suffix=".db", prefix="bundler-index-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        conn = sqlite3.connect(path)
        try:
            yield conn
        finally:
            conn.close()
    finally:
        os.unlink(path)


def columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}  # noqa: S608 - fixed names


def tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _json(text: Any) -> dict[str, Any] | None:
    if not text:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        doc = json.loads(text)
    except ValueError:
        return csv_from_manifests(text)
    return doc if isinstance(doc, dict) else None


def parse(data: bytes, location: str = "/database/index.db") -> Catalog:
    """Read packages, channels, bundles and related images out of an index database."""
    cat = Catalog(format=FORMAT_SQLITE, location=location, db=data)
    with open_db(data) as conn:
        have = tables(conn)
        missing = {"package", "channel", "channel_entry", "operatorbundle"} - have
        if missing:
            raise BundlerError(f"the catalog database has no {', '.join(sorted(missing))} table: not an operator index")
        _read(conn, have, cat)
    return cat


def _bundle_rows(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """``operatorbundle`` rows by name, with whichever of the columns this migration level has."""
    ob_cols = columns(conn, "operatorbundle")
    wanted = [c for c in ("name", "csv", "bundle", "bundlepath", "version", "replaces", "skips", "skiprange")
              if c in ob_cols]
    return {row[0]: dict(zip(wanted, row, strict=True))
            for row in conn.execute(f"SELECT {', '.join(wanted)} FROM operatorbundle")}  # noqa: S608 - checked names


def _related_images(conn: sqlite3.Connection, have: set[str]) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Related images per bundle, and how many empty entries each has (the 2020 ``value:`` bug)."""
    related: dict[str, list[str]] = {}
    empty: dict[str, int] = {}
    if "related_image" not in have or not {"image", "operatorbundle_name"} <= columns(conn, "related_image"):
        return related, empty
    for image, bname in conn.execute("SELECT image, operatorbundle_name FROM related_image"):
        text = str(image).strip() if image else ""
        if not text:
            empty[bname] = empty.get(bname, 0) + 1
        elif text not in related.setdefault(bname, []):
            related[bname].append(text)
    return related, empty


def _channel_members(conn: sqlite3.Connection, rows: dict[str, dict[str, Any]]
                     ) -> tuple[dict[tuple[str, str], list[str]], dict[tuple[str, str, str], list[str]]]:
    """Bundles per (package, channel) in entry order, and each bundle's edge targets per channel.

    ``channel_entry``: each row is (channel, package, bundle, replaces -> entry_id). For every skip, opm
    inserts a dummy row for the skipped name and a row for the skipper pointing at it."""
    ce_rows = conn.execute(
        "SELECT entry_id, channel_name, package_name, operatorbundle_name, replaces FROM channel_entry"
    ).fetchall()
    by_id = {r[0]: r for r in ce_rows}
    members: dict[tuple[str, str], list[str]] = {}
    edges: dict[tuple[str, str, str], list[str]] = {}
    for _eid, ch, pkg, bname, rep in sorted(ce_rows, key=lambda r: r[0]):
        lst = members.setdefault((pkg, ch), [])
        if bname in rows and bname not in lst:
            lst.append(bname)
        if rep is not None and rep in by_id:
            tl = edges.setdefault((pkg, ch, bname), [])
            if by_id[rep][3] not in tl:
                tl.append(by_id[rep][3])
    return members, edges


def _read(conn: sqlite3.Connection, have: set[str], cat: Catalog) -> None:
    rows = _bundle_rows(conn)
    related, empty = _related_images(conn, have)
    properties = bundle_properties(conn, have)
    for name, default in conn.execute("SELECT name, default_channel FROM package"):
        cat.packages[name] = Package(name, default or "")
    members, edges = _channel_members(conn, rows)
    for ch, pkg in conn.execute("SELECT name, package_name FROM channel"):
        cat.packages.setdefault(pkg, Package(pkg)).channels[ch] = Channel(ch, pkg)
    for (pkg, ch), names in members.items():
        channel = cat.packages.setdefault(pkg, Package(pkg)).channels.setdefault(ch, Channel(ch, pkg))
        for bname in names:
            row = rows[bname]
            csv = _json(row.get("csv")) or csv_from_manifests(row.get("bundle"))
            replaces, skips = _edges(row, csv, edges.get((pkg, ch, bname), []))
            channel.entries.append(Entry(bname, replaces, skips, row.get("skiprange") or None))
            if (pkg, bname) not in cat.bundles:
                version = row.get("version") or ((csv or {}).get("spec") or {}).get("version")
                cat.bundles[(pkg, bname)] = Bundle(
                    name=bname, package=pkg, image=str(row.get("bundlepath") or ""),
                    version=str(version) if version else None,
                    related=related.get(bname, []), empty_related=empty.get(bname, 0), csv=csv,
                    properties=properties.get(bname, []),
                )


def _edges(row: dict[str, Any], csv: dict[str, Any] | None, targets: list[str]) -> tuple[str | None, list[str]]:
    """(replaces, skips) of one bundle: the operatorbundle columns (migration 006+), else the CSV,
    else the channel_entry edges (first one taken as replaces)."""
    spec = (csv or {}).get("spec") or {}
    if "replaces" in row or "skips" in row:
        replaces = row.get("replaces") or None
        skips = [s for s in str(row.get("skips") or "").split(",") if s]
        if replaces or skips or not targets:
            return replaces, skips
    if csv is not None:
        return spec.get("replaces") or None, [str(s) for s in spec.get("skips") or []]
    if not targets:
        return None, []
    return targets[0], targets[1:]


def prune(data: bytes, keep_packages: set[str]) -> bytes:
    """A copy of the database with every other package removed (what ``opm index prune`` did),
    tolerant of every migration level."""
    with open_db(data) as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        have = tables(conn)
        keep = sorted(keep_packages)
        marks = ",".join("?" * len(keep)) or "''"
        kept_bundles = {r[0] for r in conn.execute(
            f"SELECT DISTINCT operatorbundle_name FROM channel_entry WHERE package_name IN ({marks})", keep)}  # noqa: S608
        dropped_entries = [r[0] for r in conn.execute(
            f"SELECT entry_id FROM channel_entry WHERE package_name NOT IN ({marks})", keep)]  # noqa: S608
        conn.execute("CREATE TEMP TABLE keep_bundle(name TEXT PRIMARY KEY)")
        conn.executemany("INSERT INTO keep_bundle VALUES (?)", [(b,) for b in kept_bundles])
        conn.execute("CREATE TEMP TABLE drop_entry(id INTEGER PRIMARY KEY)")
        conn.executemany("INSERT INTO drop_entry VALUES (?)", [(e,) for e in dropped_entries])
        for table in ("related_image", "api_provider", "api_requirer", "properties", "dependencies", "deprecated"):
            if table not in have:
                continue
            cols = columns(conn, table)
            if "operatorbundle_name" in cols:
                conn.execute(f"DELETE FROM {table} WHERE operatorbundle_name NOT IN (SELECT name FROM keep_bundle)")  # noqa: S608
            elif "channel_entry_id" in cols:
                conn.execute(f"DELETE FROM {table} WHERE channel_entry_id IN (SELECT id FROM drop_entry)")  # noqa: S608
        conn.execute("DELETE FROM operatorbundle WHERE name NOT IN (SELECT name FROM keep_bundle)")
        conn.execute(f"DELETE FROM channel_entry WHERE package_name NOT IN ({marks})", keep)  # noqa: S608
        conn.execute(f"DELETE FROM channel WHERE package_name NOT IN ({marks})", keep)  # noqa: S608
        conn.execute(f"DELETE FROM package WHERE name NOT IN ({marks})", keep)  # noqa: S608
        conn.execute("DROP TABLE temp.keep_bundle")
        conn.execute("DROP TABLE temp.drop_entry")
        conn.commit()
        conn.execute("VACUUM")
        conn.commit()
        path = conn.execute("PRAGMA database_list").fetchone()[2]
        conn.close()
        with open(path, "rb") as fh:
            return fh.read()
