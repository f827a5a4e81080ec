"""``bundler quay up | down | status``: manage the bootstrapped mirror registry on its own.

The main CLI mounts this with ``app.add_typer(quay_app, name="quay")``. Passwords are never printed:
they stay in ``<data-dir>/quay-credentials`` (0600).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import typer

from ..cli_support import user_errors
from ..errors import BundlerError
from . import bootstrap, stack_down, stack_status
from .pods import other_stacks
from .stack import CREDENTIALS_FILE, FLAVORS, default_data_dir, load_state

quay_app = typer.Typer(
    rich_markup_mode=None,  # help texts show [--x] and HOST[:PORT] literally
    help="Run this host's own mirror registry with podman: Quay (default, SQLite + Redis) or a minimal "
    "Docker Distribution (--flavor distribution, for labs). `bundler import` without --registry uses the "
    "same stack. Data, certificates and credentials live in --data-dir; `down` keeps them unless --purge.",
    no_args_is_help=True,
)

DATA_DIR = typer.Option(None, "--data-dir", help="Where the stack keeps its data, config, certificates and "
                        "credentials [default: /var/lib/bundler/quay for root, else ~/.local/share/bundler/quay].")


def _data_dir(value: Path | None) -> Path:
    return value or default_data_dir()


@quay_app.command("up")
@user_errors
def up(
    data_dir: Path | None = DATA_DIR,
    hostname: str | None = typer.Option(None, "--hostname", help="Name clients use to reach the registry; it "
                                        "goes into the certificate [default: this host's FQDN, or the last run's]."),
    port: int | None = typer.Option(None, "--port", help="HTTPS port to publish [default: 8443, or the last run's]."),
    flavor: str | None = typer.Option(None, "--flavor", help="quay (default) or distribution."),
    org: list[str] = typer.Option([], "--org", help="Organization to create, with a push robot (Quay; repeatable)."),
    bind_address: str | None = typer.Option(None, "--bind-address", help="Host address to publish on "
                                            "[default: all addresses]."),
    db: str | None = typer.Option(None, "--db", help="Quay database: sqlite (default, as mirror-registry 2.x) "
                                  "or postgres (needs a postgres image in podman storage)."),
    name: str | None = typer.Option(None, "--name", help="Prefix of the pod, container and unit names "
                                    "[default: bundler-quay, or the last run's]."),
) -> None:
    """Start the registry (or re-start it with the same data and credentials) and wait until it is ready."""
    d = _data_dir(data_dir)
    prev = load_state(d)
    chosen = flavor or (prev.flavor if prev else "quay")
    if chosen not in FLAVORS:
        raise BundlerError(f"unknown flavor {chosen!r}", f"choose one of {', '.join(FLAVORS)}")
    host = hostname or (prev.hostname if prev else socket.getfqdn())
    p = port or (prev.port if prev else 8443)
    reg = bootstrap(d, host, p, list(org), flavor=chosen, bind_address=bind_address, db=db, name=name,
                    progress=lambda m: typer.echo(m, err=True))
    typer.echo(f"registry:    {reg.host} ({chosen})")
    typer.echo(f"CA bundle:   {reg.ca_file}  (trust it; install-config additionalTrustBundle)")
    typer.echo(f"push as:     {reg.username}  (password in {d / CREDENTIALS_FILE})")
    if reg.reader:
        typer.echo(f"pull as:     {reg.reader[0]}  (read-only, every repository; token in {d / CREDENTIALS_FILE})")
    if reg.admin_user:
        typer.echo(f"admin user:  {reg.admin_user}")


@quay_app.command("down")
@user_errors
def down(
    data_dir: Path | None = DATA_DIR,
    purge: bool = typer.Option(False, "--purge", help="Also delete the data dir: images pushed, database, "
                               "certificates (the CA clusters trust!) and credentials."),
) -> None:
    """Stop and remove the registry's pod and systemd units; the data stays unless --purge."""
    d = _data_dir(data_dir)
    typer.echo(stack_down(d, purge=purge))
    others = {} if load_state(d) or purge else other_stacks(d)
    if others:  # probably the wrong --data-dir: say which registries run, and stop nothing
        for pod, owner in sorted(others.items()):
            typer.echo(f"running: {pod} with its data in {owner} (bundler quay down --data-dir {owner})", err=True)
        raise typer.Exit(1)


@quay_app.command("status")
@user_errors
def status(
    data_dir: Path | None = DATA_DIR,
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> None:
    """Show the registry's pod and containers, whether it answers, and where its files are."""
    d = _data_dir(data_dir)
    st = stack_status(d)
    if as_json:
        typer.echo(json.dumps(st, indent=2, sort_keys=True))
    elif not st.get("configured"):
        typer.echo(f"no registry set up in {d} (run `bundler quay up`)")
    else:
        typer.echo(f"registry:   {st['registry']} ({st['flavor']}{', ' + st['db'] if st.get('db') else ''})")
        typer.echo(f"ready:      {'yes' if st['ready'] else 'no (' + st['health'] + ')'}")
        typer.echo(f"pod:        {st['pod']} ({st['pod_state']})")
        for name, state in sorted(st["containers"].items()):
            typer.echo(f"  {name}: {state}")
        typer.echo(f"CA bundle:  {st['ca_file']}")
        typer.echo(f"units:      {', '.join(st['units']) or 'none'}"
                   f"{' (installed, enabled)' if st['units_installed'] else ' (not installed: no systemd)'}")
        typer.echo(f"data dir:   {st['data_dir']}")
    if st.get("configured") and not st.get("ready"):
        raise typer.Exit(3)
