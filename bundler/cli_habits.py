"""The commands and flags an oc-mirror user reaches for: ``bundler mirror`` (mirror-to-mirror), ``bundler
delete`` (two phases), ``bundler list releases|operators``, and oc-mirror's connection flags
(``--retry-times``, ``--retry-delay``, ``--src-tls-verify``/``--dest-tls-verify``, ``--parallel-images``/
``--parallel-layers``, ``--log-level``), shared by export, import, mirror and delete."""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import typer

from .cli_support import EXIT_PARTIAL, VERBOSE, err, terminal_bars, user_errors
from .errors import ConfigError
from .registry import ConnectOptions
from .registry.options import DEFAULT_RETRIES

LOG_LEVELS = {"error": logging.ERROR, "info": logging.WARNING, "debug": logging.DEBUG, "trace": logging.DEBUG}

AUTHFILE = typer.Option(None, "--authfile", help="Pull secret / auth.json (default: REGISTRY_AUTH_FILE, "
                        "$XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json).")
CA_FILE = typer.Option(None, "--ca-file", help="PEM CA certificate(s) to trust in addition to the system CAs.")
WORKERS = typer.Option(8, "--workers", min=1, max=64, help="Parallel transfers: one pool moves every blob of every "
                       "image (what oc-mirror splits into --parallel-images and --parallel-layers).")
PARALLEL_IMAGES = typer.Option(None, "--parallel-images", min=1, max=64, help="oc-mirror's flag: with "
                               "--parallel-layers, sets --workers to their product (at most 64).")
PARALLEL_LAYERS = typer.Option(None, "--parallel-layers", min=1, max=64, help="oc-mirror's flag: see --parallel-images.")
RETRY_TIMES = typer.Option(DEFAULT_RETRIES, "--retry-times", min=0, max=50, help="Retries of a registry request that "
                           "could not connect, timed out, had its TLS handshake broken or got HTTP 429/5xx.")
RETRY_DELAY = typer.Option(None, "--retry-delay", help="Wait between retries (2s, 500ms, 1m; default: exponential "
                           "backoff from 0.5s to 8s).")
SRC_TLS = typer.Option("true", "--src-tls-verify", metavar="true|false", help="Check the source registries' TLS "
                       "certificates (false: NOT checked; warned loudly).")
DEST_TLS = typer.Option("true", "--dest-tls-verify", metavar="true|false", help="Check the mirror registry's TLS "
                        "certificate (false: NOT checked; warned loudly).")
LOG_LEVEL = typer.Option(None, "--log-level", metavar="info|debug|trace|error",
                         help="oc-mirror's levels; debug and trace are --verbose.")
MAX_NESTED = typer.Option(0, "--max-nested-paths", min=0, max=64, help="For registries that limit repository depth: "
                          "paths deeper than N (counting the prefix) keep N-1 components and join the rest with '-'.")
PULL_SECRET = typer.Option(None, "--pull-secret", help="The cluster's pull secret (console.redhat.com): merged with "
                           "the mirror's credentials into OUTDIR/pull-secret.json (0600).")


def parse_duration(text: str | None) -> float | None:
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*", text)
    if not m:
        raise ConfigError(f"--retry-delay {text!r} is not a duration", "e.g. 2s, 500ms or 1m")
    value = float(m.group(1))
    return value / 1000 if m.group(2) == "ms" else value * 60 if m.group(2) == "m" else value


def _flag(text: str, name: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise ConfigError(f"{name} {text!r} must be true or false")


def connect_options(retry_times: int, retry_delay: str | None, tls_verify: str, name: str, what: str) -> ConnectOptions:
    """One side's connection settings; ``false`` for TLS verification is said loudly, once."""
    verify = _flag(tls_verify, name)
    if not verify:
        err(f"WARNING: {name}=false: the TLS certificates of {what} are NOT checked. Anyone on the network path "
            "can read the credentials sent and serve other images (their digests are still checked). Use "
            "--ca-file with the registry's CA instead.")
        warnings.filterwarnings("ignore", message="Unverified HTTPS request")
    return ConnectOptions(tls_verify=verify, retries=retry_times, retry_delay=parse_duration(retry_delay))


def workers_for(workers: int, parallel_images: int | None, parallel_layers: int | None) -> int:
    if parallel_images is None and parallel_layers is None:
        return workers
    return min(64, (parallel_images or 4) * (parallel_layers or 5))


def apply_log_level(level: str | None) -> None:
    if level is None:
        return
    if level not in LOG_LEVELS:
        raise ConfigError(f"--log-level {level!r} is not one of {', '.join(LOG_LEVELS)}")
    VERBOSE["on"] = VERBOSE["on"] or LOG_LEVELS[level] == logging.DEBUG
    logging.getLogger().setLevel(LOG_LEVELS[level])


def register(app: typer.Typer) -> None:
    """Add mirror, delete and list to the ``bundler`` command."""
    app.command("mirror")(mirror_cmd)
    app.command("delete")(delete_cmd)
    list_app = typer.Typer(help="What a configuration can name: releases of a channel, operators of a catalog.",
                           no_args_is_help=True, rich_markup_mode=None)
    list_app.command("releases")(list_releases_cmd)
    list_app.command("operators")(list_operators_cmd)
    app.add_typer(list_app, name="list")


@user_errors
def mirror_cmd(
    config: Path = typer.Option(..., "--config", "-c", help="ImageSetConfiguration (mirror.openshift.io/v2alpha1)."),
    registry: str = typer.Option(..., "--registry", help="The mirror: HOST[:PORT][/PREFIX]."),
    output: Path = typer.Option(..., "--output", "-o", help="Directory for install-config snippets and manifests."),
    authfile: Path | None = AUTHFILE,
    ca_file: Path | None = CA_FILE,
    workers: int = WORKERS,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan and where each image would go; copy nothing."),
    max_nested_paths: int = MAX_NESTED,
    pull_secret: Path | None = PULL_SECRET,
    parallel_images: int | None = PARALLEL_IMAGES,
    parallel_layers: int | None = PARALLEL_LAYERS,
    retry_times: int = RETRY_TIMES,
    retry_delay: str | None = RETRY_DELAY,
    src_tls_verify: str = SRC_TLS,
    dest_tls_verify: str = DEST_TLS,
    log_level: str | None = LOG_LEVEL,
) -> None:
    """Mirror-to-mirror: the upstream straight into the mirror (no bundle), then the same outputs as import."""
    from .mirror import MirrorOptions, run_mirror

    apply_log_level(log_level)
    opts = MirrorOptions(config_path=config, registry=registry, outdir=output, authfile=authfile, ca_file=ca_file,
                         workers=workers_for(workers, parallel_images, parallel_layers), dry_run=dry_run,
                         max_nested_paths=max_nested_paths, pull_secret=pull_secret,
                         src=connect_options(retry_times, retry_delay, src_tls_verify, "--src-tls-verify",
                                             "the source registries"),
                         dest=connect_options(retry_times, retry_delay, dest_tls_verify, "--dest-tls-verify",
                                              f"the mirror {registry}"))
    result = run_mirror(opts, typer.echo, terminal_bars())
    if result.failed:
        raise typer.Exit(EXIT_PARTIAL)


@user_errors
def delete_cmd(
    registry: str = typer.Option(..., "--registry", help="The mirror to delete from: HOST[:PORT][/PREFIX]."),
    config: Path | None = typer.Option(None, "--config", "-c", help="DeleteImageSetConfiguration (with --generate)."),
    generate: bool = typer.Option(False, "--generate", help="Phase 1 (a dry run): write the delete plan, delete nothing."),
    output: Path = typer.Option(Path("delete-plan.yaml"), "--output", "-o", help="Where --generate writes the plan."),
    keep: Path | None = typer.Option(None, "--keep", help="An ImageSetConfiguration whose images must stay: none of "
                                     "them (nor the images inside its lists) is ever listed."),
    plan: Path | None = typer.Option(None, "--plan", help="Phase 2: delete what this plan lists (by digest)."),
    authfile: Path | None = AUTHFILE,
    ca_file: Path | None = CA_FILE,
    workers: int = WORKERS,
    max_nested_paths: int = MAX_NESTED,
    retry_times: int = RETRY_TIMES,
    retry_delay: str | None = RETRY_DELAY,
    dest_tls_verify: str = DEST_TLS,
    log_level: str | None = LOG_LEVEL,
) -> None:
    """oc-mirror's two-phase delete: --generate -c DELETE.yaml writes a plan; --plan deletes it."""
    from .delete import GenerateOptions, execute
    from .delete import generate as make_plan

    apply_log_level(log_level)
    connect = connect_options(retry_times, retry_delay, dest_tls_verify, "--dest-tls-verify", f"the mirror {registry}")
    if generate == (plan is not None):
        raise ConfigError("give either --generate (with -c DELETE.yaml) or --plan PLAN.yaml",
                          "phase 1: bundler delete -c delete.yaml --registry R --generate -o delete-plan.yaml; "
                          "phase 2: bundler delete --registry R --plan delete-plan.yaml")
    if generate:
        if config is None:
            raise ConfigError("--generate needs -c DELETE.yaml (a DeleteImageSetConfiguration)")
        make_plan(GenerateOptions(config_path=config, registry=registry, output=output, keep=keep, authfile=authfile,
                                  ca_file=ca_file, workers=workers, max_nested_paths=max_nested_paths,
                                  connect=connect), typer.echo)
        return
    assert plan is not None
    result = execute(plan, registry, authfile, ca_file, connect, typer.echo)
    if result.failed:
        raise typer.Exit(EXIT_PARTIAL)


@user_errors
def list_releases_cmd(
    channel: str | None = typer.Option(None, "--channel", help="Update channel, e.g. stable-4.16."),
    version: str | None = typer.Option(None, "--version", help="One release: its payload and what it updates to."),
    arch: str = typer.Option("amd64", "--arch", help="amd64, arm64, ppc64le, s390x or multi."),
    graph_url: str | None = typer.Option(None, "--graph-url", help="Update service (default: UPDATE_URL_OVERRIDE, "
                                         "else api.openshift.com)."),
    repository: str | None = typer.Option(None, "--repository", help="Instead of the update graph: the release tags "
                                          "this registry repository holds (e.g. mirror:8443/ocp4/openshift/release-images)."),
    authfile: Path | None = AUTHFILE,
    ca_file: Path | None = CA_FILE,
) -> None:
    """Releases of a channel (through the update graph), or the release tags a registry holds."""
    from .listing import list_release_tags, list_releases

    if repository is not None:
        list_release_tags(repository, typer.echo, version=version, authfile=authfile, ca_file=ca_file)
        return
    if channel is None:
        raise ConfigError("give --channel (e.g. stable-4.16), or --repository to list a registry's release tags")
    list_releases(channel, typer.echo, version=version, arch=arch, graph_url=graph_url, ca_file=ca_file)


@user_errors
def list_operators_cmd(
    catalog: str = typer.Option(..., "--catalog", help="Catalog image (registry reference or oci://PATH)."),
    package: str | None = typer.Option(None, "--package", help="One package: every channel, entry and version."),
    authfile: Path | None = AUTHFILE,
    ca_file: Path | None = CA_FILE,
) -> None:
    """Packages of a catalog with their default channel and channel heads."""
    from .listing import list_operators

    list_operators(catalog, typer.echo, package=package, authfile=authfile, ca_file=ca_file)
