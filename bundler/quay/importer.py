"""``bundler import`` without ``--registry``: bring up this host's own registry from the images carried
at the front of the bundle, then import into it, in one pass over the bundle."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Any

from ..auth import AuthStore, Credentials
from ..bundle import BundleSource
from ..content.bootstrap import BootstrapRecord
from ..engine import CopyEngine, ImageJob
from ..errors import BundlerError
from ..importer import ImportOptions, ImportResult, plan_jobs, run_import
from ..oci.layout import OCILayout, index_entry
from ..progress import BarFactory, Printer, no_bars
from ..transport.layout import LayoutDestination
from .stack import default_data_dir


def stage_bootstrap_images(source: BundleSource, layout_dir: Path) -> dict[str, str]:
    """Copy the bundle's bootstrap images (at the front of the archive) into an OCI layout without reading
    further into the bundle; returns role -> source reference."""
    boot = [img for img in source.metadata.images if img.kind == "bootstrap"]
    if not boot:
        return {}
    layout = OCILayout(layout_dir)
    front = source.prefix(source.metadata.bootstrap_blobs)
    result = CopyEngine(front, LayoutDestination(layout), workers=1).run([ImageJob(img.pinned) for img in boot])
    if result.failed:
        raise BundlerError("could not stage the registry images from the bundle: " + "; ".join(result.failed.values()))
    layout.write_index([index_entry(img.media_type, img.digest, len(layout.read_blob(img.digest)), str(img.source))
                        for img in boot])
    return {img.label or str(img.source): str(img.source) for img in boot}


def import_with_bootstrap(bundle: Path, outdir: Path, *, authfile: Path | None, workers: int, hostname: str | None,
                          port: int, data_dir: Path | None, flavor: str, name: str | None = None,
                          say: Printer = print, bars: BarFactory = no_bars,
                          verify_keys: list[Any] | None = None) -> ImportResult:
    from .. import quay
    from ..verify import open_checked

    data_dir = data_dir or default_data_dir()
    started = time.monotonic()
    source, signed = open_checked(bundle, verify_keys or [])
    meta = source.metadata
    staging = data_dir / "images"
    roles = stage_bootstrap_images(source, staging)
    carried = BootstrapRecord.from_records(meta.records).flavor
    if roles and carried and carried != flavor:
        raise BundlerError(f"{bundle} carries the images of a {carried} registry, not {flavor}",
                           f"pass --flavor {carried}, or --registry to use an existing registry")
    if flavor == "quay" and not roles:
        raise BundlerError(
            f"{bundle} carries no registry images to bootstrap Quay from",
            "export with `bootstrap: true` in the ImageSetConfiguration, or pass --registry to use an existing registry",
        )
    images = quay.load_images_from_layout(staging, list(roles.values())) if roles else {}
    by_role = {role: images.get(ref, ref) for role, ref in roles.items()}
    host = hostname or socket.getfqdn()
    jobs, _ = plan_jobs(meta.images, f"{host}:{port}", meta.records)
    orgs = sorted({job.target.split("/", 1)[0] for job in jobs})
    say(f"Bootstrapping the {flavor} registry at {host}:{port} (data in {data_dir}) ...")
    mirror = quay.bootstrap(data_dir, host, port, orgs, flavor=flavor, images=by_role or None, name=name,
                            progress=say)
    shutil.rmtree(staging, ignore_errors=True)
    say(f"Registry {mirror.host} ready after {time.monotonic() - started:.1f}s (images loaded, registry healthy, "
        "users and robots in place).")
    opts = ImportOptions(bundle=bundle, registry=mirror.host, outdir=outdir, authfile=None, ca_file=mirror.ca_file,
                         workers=workers, credentials=Credentials(mirror.username, mirror.password))
    result = run_import(opts, say, bars, source=source, signed=signed)
    write_access_outputs(outdir, mirror.ca_file, mirror.pull_secret_entries(), authfile)
    say(f"CA bundle: {outdir / 'ca-bundle.pem'} (install-config additionalTrustBundle); "
        f"pull secret with the mirror's credentials: {outdir / 'pull-secret.json'}")
    return result


def write_access_outputs(outdir: Path, ca_file: Path, entries: dict[str, dict[str, str]], authfile: Path | None) -> None:
    """``ca-bundle.pem`` and ``pull-secret.json``: the input pull secret merged with the mirror's entries (0600)."""
    outdir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ca_file, outdir / "ca-bundle.pem")
    doc: dict[str, Any] = {"auths": {}}
    if authfile:
        AuthStore.load(authfile)  # refuses a file that is not a pull secret, naming it
        doc = json.loads(Path(authfile).read_text())
    doc.setdefault("auths", {}).update(entries)
    target = outdir / "pull-secret.json"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh, indent=2)
    os.chmod(target, 0o600)
