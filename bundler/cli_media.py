"""The commands around carrying a bundle: ``keygen``, ``inventory``, and what ``inspect`` prints."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .cli_support import user_errors
from .errors import BundlerError
from .progress import Printer, human


def parse_percent(text: str | None) -> float:
    """``10%``, ``10`` or ``2.5%`` -> 10.0; None or empty -> 0."""
    if not text:
        return 0.0
    try:
        value = float(text.strip().rstrip("%"))
    except ValueError:
        raise BundlerError(f"--parity {text!r} is not a percentage", "use e.g. --parity 10%") from None
    if not 0 < value <= 100:
        raise BundlerError(f"--parity {text!r} must be more than 0% and at most 100%")
    return value


def inspect_bundle(bundle: Path, as_json: bool, say: Printer) -> None:
    from .bundle.archive import ArchiveReader
    from .bundle.metadata import FRONT_FILES, METADATA_FILE, BundleMetadata
    from .bundle.names import signature_path

    reader = ArchiveReader(bundle, FRONT_FILES, front_only=True)
    reader.close()
    if as_json:
        say(json.dumps(json.loads(reader.front[METADATA_FILE]), indent=2))
        return
    meta = BundleMetadata.from_bytes(reader.front[METADATA_FILE], str(bundle))
    say(f"Bundle {bundle}: created {meta.created} by bundler {meta.bundler_version} (schema {meta.schema_version})")
    say(f"{'KIND':<18} {'SIZE':>10}  {'DIGEST':<19}  SOURCE")
    for img in meta.images:
        say(f"{img.kind:<18} {human(img.size):>10}  {img.digest[:19]}  {img.source}")
    parts = meta.parts or [{"name": p.name, "size": p.stat().st_size} for p, _ in reader.parts]
    on_disk = sum(int(p["size"]) for p in parts)
    say(f"{len(meta.images)} images, {meta.blobs} blobs carried, {human(meta.blob_bytes)}; "
        f"{len(parts)} data part(s), {human(on_disk)}")
    if meta.base:
        base = meta.base
        left = sum(len(v) for v in meta.from_base.values())
        say(f"DIFFERENTIAL: needs the {base.get('kind')} {base.get('name')} (created {base.get('created')}, "
            f"sha256 {base.get('id')}" + (f", of {base['registry']}" if base.get("registry") else "")
            + f") imported first: {left} manifests and blobs are left to it")
    if reader.parity is not None:
        say(f"Parity: {reader.parity.layout.m} part(s) over {reader.parity.layout.k} (front and data parts)")
    if signature_path(bundle).exists():
        doc = json.loads(signature_path(bundle).read_text())
        say(f"Signed by key {doc.get('fingerprint')} (not verified here: `bundler verify --verify-key`)")
    for ref, error in sorted(meta.failed.items()):
        say(f"MISSING (failed at export): {ref}: {error}")


def add_commands(app: typer.Typer) -> None:
    app.command("keygen")(keygen_cmd)
    app.command("inventory")(inventory_cmd)


@user_errors
def keygen_cmd(output: Path = typer.Option(..., "--output", "-o", help="Private key file (written 0600); the "
                                           "public key goes to OUTPUT.pub.")) -> None:
    """Make an Ed25519 key pair to sign bundles (`export --sign-key`) and check them (`--verify-key`)."""
    from .bundle.signing import keygen

    pub, fp = keygen(output)
    typer.echo(f"Wrote {output} (keep it private) and {pub}; fingerprint {fp}")


@user_errors
def inventory_cmd(
    registry: str = typer.Option(..., "--registry", help="The mirror: HOST[:PORT][/PREFIX]."),
    output: Path = typer.Option(..., "--output", "-o", help="The inventory file to write (carry it out to export "
                                "--since it)."),
    authfile: Path | None = typer.Option(None, "--authfile", help="Credentials for the mirror."),
    ca_file: Path | None = typer.Option(None, "--ca-file", help="PEM CA certificate(s) of the mirror."),
    repository: list[str] = typer.Option([], "--repository", help="A repository to list (repeatable), for registries "
                                          "that do not serve /v2/_catalog."),
    mapping: Path | None = typer.Option(None, "--mapping", help="An earlier import's mapping.txt: list its mirror "
                                        "repositories instead of the catalog."),
    workers: int = typer.Option(8, "--workers", min=1, max=64, help="Parallel requests."),
) -> None:
    """Write what a mirror registry holds (repositories, tags, manifests, blobs) for `export --since`."""
    from .auth import AuthStore
    from .inventory_scan import repositories_from_mapping, scan
    from .mapping import split_target
    from .registry import RegistryClient

    host, _ = split_target(registry)
    client = RegistryClient(host, AuthStore.load(authfile), ca_file)
    client.ping()
    repos = list(repository) + (repositories_from_mapping(mapping, host) if mapping else [])
    inv = scan(client, registry, repos or None, workers, typer.echo)
    output.parent.mkdir(parents=True, exist_ok=True)
    inv.write(output)
    typer.echo(f"Wrote {output}")
