"""The release kind's outputs at import: the release signature ConfigMap (JSON and YAML, as oc-mirror writes
it), ``updateService.yaml`` when a graph image was carried, and the extracted tools."""

from __future__ import annotations

from ...outputs import OutputContext
from . import records_of
from .graph_image import UPDATE_SERVICE_FILE, update_service, update_service_yaml
from .graph_plan import LIFECYCLE
from .signatures import write_configmap
from .tools_render import render_tools
from .verify import from_json


def render(octx: OutputContext) -> None:
    records = records_of(octx.records)
    signatures = [from_json(r.digest, doc) for r in records for doc in r.signatures]
    for path in write_configmap(octx.outdir, signatures):
        octx.written.append(path)
    _update_service(octx)
    for record in records:
        render_tools(octx, record)


def _update_service(octx: OutputContext) -> None:
    graph = (octx.records.get(LIFECYCLE) or {}).get("graphImage")
    if not graph:
        return
    image = next((i for i in octx.images if i.kind == "graph-image" and i.digest == graph["digest"]), None)
    release = next((i for i in octx.images if i.kind == "release"), None)
    if image is None or release is None:
        octx.notes.append(f"warning: {UPDATE_SERVICE_FILE} not written: the "
                          f"{'graph image' if image is None else 'release image'} is not in the mirror")
        return
    doc = update_service(release.mirror_repo, image.mirror_by_digest)
    octx.write(UPDATE_SERVICE_FILE, update_service_yaml(doc).decode())
