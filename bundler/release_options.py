"""What ``bundler export`` was told about the release lifecycle (channels, signatures, sigstore, the update
service, tools): one typed bundle of flags the release and sigstore kinds read from the plan context.
Plan, export and the CLI import it without pulling any content kind in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .oci.platform import host_go_arch


@dataclass
class ReleaseOptions:
    graph_url: str | None = None
    """``--graph-url``: the update service (else ``UPDATE_URL_OVERRIDE``, else api.openshift.com)."""
    ca_file: Path | None = None
    """``--ca-file``: trusted for the update service and the signature store as for registries."""
    release_key: Path | None = None
    """``--release-key``: the OpenPGP key release signatures must verify with (else Red Hat's)."""
    ignore_release_signature: bool = False
    """``--ignore-release-signature``: carry releases whose signatures are missing or do not verify."""
    require_sigstore: bool = False
    """``--require-sigstore``: a release image without a cosign signature or referrer is an error."""
    graph_base_image: str | None = None
    """``--graph-base-image``: the image the graph-data layer is appended to (default as oc-mirror)."""
    extract_tools: bool = False
    """``--extract-tools``: import writes oc and openshift-install of this host's architecture."""
    host_arch: str = ""
    """The architecture tools are extracted for (default: this host's)."""

    def tools_arch(self) -> str:
        return self.host_arch or host_go_arch()
