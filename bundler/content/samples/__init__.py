"""Samples: the images of the image streams the release's cluster-samples-operator installs.

``mirror.samples`` (our extension of the ImageSetConfiguration)::

    samples:
      fromRelease: true              # read the image streams inside the release's samples operator
      images: [registry.redhat.io/ubi8/httpd-24:latest]   # and/or explicit references
      imagesFile: sample-images.txt  # and/or one reference per line (``#`` comments, blank lines)
      skip: [jenkins]                # image stream names to leave out

With ``fromRelease`` the ``cluster-samples-operator`` component of every release is read straight
from its layers: ``/opt/openshift/operator/<arch>/`` (4.6 and later) or
``/opt/openshift/operator/ocp-<arch>/`` (4.5 and earlier), every ``<group>/imagestreams/*.json``.
Each ``spec.tags[].from`` of kind ``DockerImage`` is an image; ``ImageStreamTag`` entries are aliases
of other tags and are not images. Sample images are referenced by tag, so each tag is pinned to a
digest at export and kept: the import pushes it by digest and by tag under the same repository path,
which is where the samples operator looks once ``spec.samplesRegistry`` names the mirror.

An image stream with an image that cannot be pulled is left out whole, reported as a failure (export
exits non-zero) and named in ``skippedImagestreams``; everything else is carried.
"""

from __future__ import annotations

from ..base import ContentKind
from .plan import plan
from .render import operator_pullspec, render_outputs, samples_registry
from .streams import ImageStreamInfo, choose_root, parse_streams, read_images_file, stream_docs

__all__ = ["KIND", "ImageStreamInfo", "choose_root", "operator_pullspec", "parse_streams", "plan",
           "read_images_file", "samples_registry", "stream_docs"]

KIND = ContentKind("samples", plan, render_outputs)
