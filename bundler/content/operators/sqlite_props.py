"""What an index database says a bundle provides and requires, as FBC properties (the shape opm's
``sqlite`` -> ``declcfg`` conversion gives them): ``properties`` rows as they are, ``dependencies`` rows of
type ``olm.gvk`` / ``olm.package`` as ``olm.gvk.required`` / ``olm.package.required``, and the older
``api_provider`` / ``api_requirer`` tables as ``olm.gvk`` / ``olm.gvk.required``. Tables and columns a
database's migration level lacks are skipped."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

Props = dict[str, list[dict[str, Any]]]


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}  # noqa: S608 - fixed names


def _add(out: Props, bundle: str, ptype: str, value: Any) -> None:
    prop = {"type": ptype, "value": value}
    if prop not in out.setdefault(bundle, []):
        out[bundle].append(prop)


def _value(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, (str, bytes)) else text
    except ValueError:
        return text


def _required(dtype: str, value: Any) -> Any:
    """The sqlite dependency's value as the FBC property has it: a package range is ``version`` there and
    ``versionRange`` in ``olm.package.required``."""
    if dtype == "olm.package" and isinstance(value, dict) and "version" in value:
        return {"packageName": value.get("packageName"), "versionRange": value["version"]}
    return value


def _typed_rows(conn: sqlite3.Connection, have: set[str], out: Props) -> None:
    if "properties" in have and {"type", "value", "operatorbundle_name"} <= _columns(conn, "properties"):
        for ptype, value, bname in conn.execute("SELECT type, value, operatorbundle_name FROM properties"):
            _add(out, bname, str(ptype), _value(value))
    if "dependencies" in have and {"type", "value", "operatorbundle_name"} <= _columns(conn, "dependencies"):
        for dtype, value, bname in conn.execute("SELECT type, value, operatorbundle_name FROM dependencies"):
            if dtype in ("olm.gvk", "olm.package"):
                _add(out, bname, f"{dtype}.required", _required(dtype, _value(value)))


def _api_rows(conn: sqlite3.Connection, have: set[str], out: Props) -> None:
    for table, ptype in (("api_provider", "olm.gvk"), ("api_requirer", "olm.gvk.required")):
        if table not in have or "operatorbundle_name" not in _columns(conn, table):
            continue
        for group, version, kind, bname in conn.execute(
                f"SELECT group_name, version, kind, operatorbundle_name FROM {table}"):  # noqa: S608 - fixed names
            _add(out, bname, ptype, {"group": group, "version": version, "kind": kind})


def bundle_properties(conn: sqlite3.Connection, have: set[str]) -> Props:
    out: Props = {}
    _typed_rows(conn, have, out)
    _api_rows(conn, have, out)
    return out
