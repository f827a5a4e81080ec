"""The ``bundler`` command: a thin shell over the library (parse, call, print, exit code)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from . import __version__
from .archive import BundleReader, parse_size
from .errors import BundlerError

app = typer.Typer(
    rich_markup_mode=None,  # help texts show [--x] and HOST[:PORT] literally
    help="Carry an OpenShift release, its samples, operator catalogs and extra images across an air gap.\n\n"
    "On the connected side: `bundler export -c imageset.yaml -o out/ocp.tar.zst`.\n"
    "Inside the air gap: `bundler import out/ocp.tar.zst --registry mirror.example:8443 -o install/`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
F = TypeVar("F", bound=Callable[..., Any])
EXIT_FAILED = 1
EXIT_PARTIAL = 2


def _err(text: str) -> None:
    typer.echo(text, err=True)


def user_errors(fn: F) -> F:
    """Turn BundlerErrors into one clear message and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BundlerError as exc:
            _err(f"error: {exc}")
            raise typer.Exit(EXIT_FAILED) from None
        except KeyboardInterrupt:
            _err("interrupted: re-run the same command to resume")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bundler {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log HTTP-level detail (never secrets)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


AUTHFILE = typer.Option(None, "--authfile", help="Pull secret / auth.json (default: REGISTRY_AUTH_FILE, "
                        "$XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json).")
CA_FILE = typer.Option(None, "--ca-file", help="PEM CA certificate(s) to trust in addition to the system CAs.")
WORKERS = typer.Option(8, "--workers", min=1, max=64, help="Parallel transfers.")


@app.command("export")
@user_errors
def export_cmd(
    config: Path = typer.Option(..., "--config", "-c", help="ImageSetConfiguration (mirror.openshift.io/v2alpha1)."),
    output: Path = typer.Option(..., "--output", "-o", help="Bundle path, e.g. out/ocp-4.14.1.tar.zst."),
    authfile: Path | None = AUTHFILE,
    ca_file: Path | None = CA_FILE,
    workers: int = WORKERS,
    split_size: str | None = typer.Option(None, "--split-size", help="Split into parts of this size (4G, 700M): "
                                          "BUNDLE.000, BUNDLE.001, ..."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan (images, unique blobs, bytes); pull nothing."),
    keep_work: bool = typer.Option(False, "--keep-work", help="Keep BUNDLE.work/ (the OCI layout) after success."),
) -> None:
    """Resolve the ImageSetConfiguration and pull everything into one verified bundle."""
    from .export import ExportOptions, run_export

    opts = ExportOptions(config_path=config, bundle=output, authfile=authfile, ca_file=ca_file, workers=workers,
                         split_size=parse_size(split_size) if split_size else None, dry_run=dry_run, keep_work=keep_work)
    result = run_export(opts, typer.echo)
    if result.failed:
        raise typer.Exit(EXIT_PARTIAL)


@app.command("import")
@user_errors
def import_cmd(
    bundle: Path = typer.Argument(..., help="The bundle (BUNDLE, or the BUNDLE of BUNDLE.000 ... parts)."),
    output: Path = typer.Option(..., "--output", "-o", help="Directory for install-config snippets and manifests."),
    registry: str | None = typer.Option(None, "--registry", help="Target HOST[:PORT][/PREFIX]. Without it, bundler "
                                        "bootstraps its own Quay on this host (see `bundler quay`)."),
    authfile: Path | None = AUTHFILE,
    ca_file: Path | None = CA_FILE,
    workers: int = WORKERS,
    hostname: str | None = typer.Option(None, "--hostname", help="Bootstrapped registry host name (default: FQDN)."),
    port: int = typer.Option(8443, "--port", help="Bootstrapped registry port."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Bootstrapped registry data directory."),
    flavor: str = typer.Option("quay", "--flavor", help="Bootstrapped registry: quay, or distribution for labs."),
    name: str | None = typer.Option(None, "--name", help="Bootstrapped registry: prefix of its pod and container "
                                    "names [default: bundler-quay, or the last run's]."),
) -> None:
    """Verify the bundle while pushing it, byte-exact, and write what the install needs."""
    from .importer import ImportOptions, run_import

    if registry is None:
        from .bootstrap_import import import_with_bootstrap

        result = import_with_bootstrap(bundle, output, authfile=authfile, workers=workers, hostname=hostname,
                                       port=port, data_dir=data_dir, flavor=flavor, name=name,
                                       say=typer.echo)
    else:
        opts = ImportOptions(bundle=bundle, registry=registry, outdir=output, authfile=authfile, ca_file=ca_file,
                             workers=workers)
        result = run_import(opts, typer.echo)
    if result.failed:
        raise typer.Exit(EXIT_PARTIAL)


@app.command("verify")
@user_errors
def verify_cmd(bundle: Path = typer.Argument(..., help="The bundle to check.")) -> None:
    """Check every part against BUNDLE.sha256 and every blob against its digest."""
    from .importer import verify_bundle

    verify_bundle(bundle, typer.echo)


@app.command("inspect")
@user_errors
def inspect_cmd(
    bundle: Path = typer.Argument(..., help="The bundle to list."),
    as_json: bool = typer.Option(False, "--json", help="Print the bundle's metadata document as JSON."),
) -> None:
    """List the images in a bundle (kind, source, digest, size) and totals; reads only its front."""
    import json

    from .export import human

    reader = BundleReader(bundle)
    meta = reader.metadata
    reader.close()
    if as_json:
        typer.echo(json.dumps(meta, indent=2))
        return
    images = meta.get("images") or []
    typer.echo(f"Bundle {bundle}: created {meta.get('created')} by bundler {meta.get('bundlerVersion')}")
    typer.echo(f"{'KIND':<18} {'SIZE':>10}  {'DIGEST':<19}  SOURCE")
    for img in images:
        typer.echo(f"{img['kind']:<18} {human(img.get('size', 0)):>10}  {img['digest'][:19]}  {img['source']}")
    typer.echo(f"{len(images)} images, {meta.get('blobs')} unique blobs, {human(meta.get('bytes', 0))}; "
               f"{len(reader.parts)} part(s), {human(reader.total_bytes)} on disk")
    for item in meta.get("failed") or []:
        typer.echo(f"MISSING (failed at export): {item['reference']}: {item['error']}")


def _add_quay() -> None:
    try:
        from .quay.cli import quay_app
    except ImportError:
        return
    app.add_typer(quay_app, name="quay")


_add_quay()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
