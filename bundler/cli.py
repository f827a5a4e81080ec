"""The ``bundler`` command: a thin shell over the library (parse, call, print, exit code)."""

from __future__ import annotations

import gc
import logging
from pathlib import Path

import typer

from . import __version__
from . import cli_habits as habits
from .cli_support import EXIT_PARTIAL, VERBOSE, leave, terminal_bars, user_errors

app = typer.Typer(
    rich_markup_mode=None,  # help texts show [--x] and HOST[:PORT] literally
    help="Carry an OpenShift release, its samples, operator catalogs and extra images across an air gap.\n\n"
    "On the connected side: `bundler export -c imageset.yaml -o out/ocp.tar.zst`.\n"
    "Inside the air gap: `bundler import out/ocp.tar.zst --registry mirror.example:8443 -o install/`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bundler {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log HTTP-level detail and the causes of errors "
                                 "(never secrets)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    VERBOSE["on"] = verbose
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


AUTHFILE = typer.Option(None, "--authfile", help="Pull secret / auth.json (default: REGISTRY_AUTH_FILE, "
                        "$XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json).")
CA_FILE = typer.Option(None, "--ca-file", help="PEM CA certificate(s) to trust in addition to the system CAs.")
WORKERS = habits.WORKERS
VERIFY_KEY = typer.Option([], "--verify-key", help="Require a signature by this public key (repeatable: any of them).")


@app.command("export")
@user_errors
def export_cmd(
    config: Path = typer.Option(..., "--config", "-c", help="ImageSetConfiguration (mirror.openshift.io/v2alpha1)."),
    output: Path = typer.Option(..., "--output", "-o", help="Bundle path, e.g. out/ocp-4.14.1.tar.zst."),
    authfile: Path | None = AUTHFILE,
    ca_file: Path | None = CA_FILE,
    workers: int = WORKERS,
    split_size: str | None = typer.Option(None, "--split-size", help="Data parts of this size: a medium (fat32, dvd, "
                                          "dvd-dl, bd25, bd50) or a size (4G, 700M): BUNDLE.000, BUNDLE.001, ..."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan (images, unique blobs, bytes); pull nothing."),
    parallel_images: int | None = habits.PARALLEL_IMAGES,
    parallel_layers: int | None = habits.PARALLEL_LAYERS,
    retry_times: int = habits.RETRY_TIMES,
    retry_delay: str | None = habits.RETRY_DELAY,
    src_tls_verify: str = habits.SRC_TLS,
    log_level: str | None = habits.LOG_LEVEL,
    graph_url: str | None = typer.Option(None, "--graph-url", help="Update service for platform.channels (default: "
                                         "UPDATE_URL_OVERRIDE, else https://api.openshift.com)."),
    release_key: Path | None = typer.Option(None, "--release-key", help="OpenPGP key release signatures must "
                                            "verify with (default: OCP_SIGNATURE_VERIFICATION_PK, else Red Hat's)."),
    ignore_release_signature: bool = typer.Option(False, "--ignore-release-signature", help="Carry releases whose "
                                                  "signatures are missing or do not verify."),
    require_sigstore: bool = typer.Option(False, "--require-sigstore", help="Fail when a release image has no "
                                          "sigstore signature (cosign .sig tag or OCI referrer)."),
    graph_base_image: str | None = typer.Option(None, "--graph-base-image", help="Base of the update service's "
                                                "graph-data image (default registry.access.redhat.com/ubi9/ubi:latest)."),
    extract_tools: bool = typer.Option(False, "--extract-tools", help="Import writes oc and openshift-install for "
                                       "this host's architecture from the carried release."),
    since: Path | None = typer.Option(None, "--since", help="Carry only what BASE lacks: an earlier bundle (its "
                                      "front file) or an inventory from `bundler inventory`."),
    parity: str | None = typer.Option(None, "--parity", help="Reed-Solomon parity parts, e.g. 10%: that many lost "
                                      "parts can be rebuilt."),
    sign_key: Path | None = typer.Option(None, "--sign-key", help="Sign the bundle with this key (`bundler keygen`)."),
) -> None:
    """Resolve the ImageSetConfiguration and pull everything into one verified bundle."""
    from .bundle.media import split_size as parse_split
    from .cli_media import parse_percent
    from .export import ExportOptions, run_export
    from .release_options import ReleaseOptions

    habits.apply_log_level(log_level)
    release = ReleaseOptions(graph_url=graph_url, release_key=release_key, require_sigstore=require_sigstore,
                             ignore_release_signature=ignore_release_signature, graph_base_image=graph_base_image,
                             extract_tools=extract_tools)
    opts = ExportOptions(config_path=config, bundle=output, authfile=authfile, ca_file=ca_file,
                         workers=habits.workers_for(workers, parallel_images, parallel_layers),
                         split_size=parse_split(split_size), dry_run=dry_run, since=since,
                         parity_percent=parse_percent(parity), sign_key=sign_key, release=release,
                         connect=habits.connect_options(retry_times, retry_delay, src_tls_verify, "--src-tls-verify",
                                                        "the source registries"))
    result = run_export(opts, typer.echo, terminal_bars())
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
    max_nested_paths: int = habits.MAX_NESTED,
    pull_secret: Path | None = habits.PULL_SECRET,
    parallel_images: int | None = habits.PARALLEL_IMAGES,
    parallel_layers: int | None = habits.PARALLEL_LAYERS,
    retry_times: int = habits.RETRY_TIMES,
    retry_delay: str | None = habits.RETRY_DELAY,
    dest_tls_verify: str = habits.DEST_TLS,
    log_level: str | None = habits.LOG_LEVEL,
    name: str | None = typer.Option(None, "--name", help="Bootstrapped registry: prefix of its pod and container "
                                    "names [default: bundler-quay, or the last run's]."),
    verify_key: list[Path] = VERIFY_KEY,
) -> None:
    """Verify the bundle while pushing it, byte-exact, and write what the install needs."""
    from .bundle.signing import load_public_key
    from .importer import ImportOptions, run_import

    habits.apply_log_level(log_level)
    workers = habits.workers_for(workers, parallel_images, parallel_layers)

    keys = [load_public_key(k) for k in verify_key]
    if registry is None:
        from .quay.importer import import_with_bootstrap

        result = import_with_bootstrap(bundle, output, authfile=authfile, workers=workers, hostname=hostname,
                                       port=port, data_dir=data_dir, flavor=flavor, name=name, say=typer.echo,
                                       bars=terminal_bars(), verify_keys=keys)
    else:
        opts = ImportOptions(bundle=bundle, registry=registry, outdir=output, authfile=authfile, ca_file=ca_file,
                             workers=workers, max_nested_paths=max_nested_paths, pull_secret=pull_secret,
                             connect=habits.connect_options(retry_times, retry_delay, dest_tls_verify,
                                                            "--dest-tls-verify", f"the mirror {registry}"),
                             verify_keys=keys)
        result = run_import(opts, typer.echo, terminal_bars())
    if result.failed:
        raise typer.Exit(EXIT_PARTIAL)


@app.command("verify")
@user_errors
def verify_cmd(
    bundle: Path = typer.Argument(..., help="The bundle to check."),
    verify_key: list[Path] = VERIFY_KEY,
    repair: bool = typer.Option(False, "--repair", help="Rebuild lost or damaged parts from the parity parts and "
                                "write them back."),
) -> None:
    """Check the signature (BUNDLE.sig), every part against its sha256 (BUNDLE.sha256, and the front) and every
    blob against its digest; print a receipt."""
    from .bundle.signing import load_public_key
    from .verify import verify_bundle

    verify_bundle(bundle, [load_public_key(k) for k in verify_key], repair, typer.echo, terminal_bars())


@app.command("inspect")
@user_errors
def inspect_cmd(
    bundle: Path = typer.Argument(..., help="The bundle to list."),
    as_json: bool = typer.Option(False, "--json", help="Print the bundle's metadata document as JSON."),
) -> None:
    """List the images in a bundle (kind, source, digest, size), totals, the base it needs; reads only its front."""
    from .cli_media import inspect_bundle

    inspect_bundle(bundle, as_json, typer.echo)


def _add_quay() -> None:
    from .quay.cli import quay_app

    app.add_typer(quay_app, name="quay")


def _add_media() -> None:
    from .cli_media import add_commands

    add_commands(app)


_add_media()


_add_quay()
habits.register(app)
__all__ = ["app", "main"]


def main() -> None:
    gc.freeze()  # what is imported by now lives as long as the command: no collection walks it again (~30 ms)
    try:
        app()
    except SystemExit as done:  # click ends every run with one, the exit code in it
        leave(done)
    finally:
        gc.unfreeze()  # when Python's own exit follows, it finalizes those objects as it would have


if __name__ == "__main__":
    main()
