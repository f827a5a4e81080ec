"""``additionalImages``, ``blockedImages``, ``samples`` and ``helm``.

Sources: oc-mirror internal/pkg/api/v2alpha1/type_config.go (AdditionalImage, BlockedImage, SampleImage,
Helm/Repository/Chart), additional/local_stored_collector.go (targetRepo/targetTag, oci:// images),
cli/executor.go excludeImages (blocked images: ``regexp.MatchString`` on the source and the destination),
config/validate.go validateBlockedImages, helm/local_stored_collector.go (charts, imagePaths).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .operators import check_layout
from .platform import read_platforms
from .reader import PATH_RE, Reader
from .settings import AdditionalImage, BlockedImage, HelmChart, HelmRepository, HelmSpec, LayoutRef, SamplesSpec

ADDITIONAL_FIELDS = ("name", "targetRepo", "targetTag", "platforms")
CHART_FIELDS = ("name", "version", "path", "imagePaths", "platforms")


def read_additional(r: Reader, value: Any, fpath: str) -> list[AdditionalImage]:
    out = []
    for i, item in enumerate(r.seq(value, fpath)):
        ipath = f"{fpath}[{i}]"
        doc = r.fields(item, ipath, ADDITIONAL_FIELDS)
        text = r.string(doc.get("name"), f"{ipath}.name")
        img = AdditionalImage(
            target_repo=r.repo_path(doc.get("targetRepo"), f"{ipath}.targetRepo"),
            target_tag=r.tag(doc.get("targetTag"), f"{ipath}.targetTag"),
            platforms=read_platforms(r, doc.get("platforms"), f"{ipath}.platforms"),
        )
        if text.startswith("oci://"):
            written = text[len("oci://"):]
            path = r.local_path(written, f"{ipath}.name")
            check_layout(r, path, f"{ipath}.name")
            img.layout = LayoutRef(path=path, written=written, where=f"{r.where(f'{ipath}.name')}: {ipath}.name")
            if not PATH_RE.match(img.mirror_repository):
                raise r.error(f"{ipath}.name", f"the layout's path {img.mirror_repository!r} is not a valid repository "
                              "name, and oc-mirror mirrors the image to it", "set targetRepo (e.g. tools/my-image)")
        else:
            img.image = r.ref(text, f"{ipath}.name")
        out.append(img)
    return out


# -- blockedImages: Go regular expressions (RE2) ---------------------------------------------------

_POSIX = {"alnum": "a-zA-Z0-9", "alpha": "a-zA-Z", "ascii": "\\x00-\\x7f", "blank": " \\t", "cntrl": "\\x00-\\x1f\\x7f",
          "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~", "punct": "!-/:-@\\[-`{-~",
          "space": "\\s", "upper": "A-Z", "word": "\\w", "xdigit": "0-9A-Fa-f"}
_NOT_RE2 = [(re.compile(r"\(\?<?[=!]"), "lookaround assertions"), (re.compile(r"(?<!\\)\\[1-9]"), "backreferences"),
            (re.compile(r"\(\?P="), "backreferences")]


def go_regex(pattern: str) -> re.Pattern[str]:
    """Compile a Go (RE2) regular expression with Python's ``re``: Go-only spellings are translated
    (``\\z``, ``\\Q..\\E``, ``[[:alpha:]]``); what RE2 refuses (lookarounds, backreferences) is refused here
    too, because oc-mirror refuses the configuration. Raises ``re.error``."""
    for bad, what in _NOT_RE2:
        if bad.search(pattern):
            raise re.error(f"{what} are not supported by Go's regular expressions (RE2), which oc-mirror uses")
    text = re.sub(r"\\Q(.*?)(\\E|$)", lambda m: re.escape(m.group(1)), pattern)
    text = re.sub(r"\[:(\^?)(\w+):\]", lambda m: _posix(m.group(2), m.group(1)), text)
    text = text.replace("\\z", "\\Z")
    return re.compile(text)


def _posix(name: str, negate: str) -> str:
    if name not in _POSIX:
        raise re.error(f"unknown character class [:{name}:]")
    if negate:
        raise re.error(f"negated class [:^{name}:] is not supported; write [^...] instead")
    return _POSIX[name]


def read_blocked(r: Reader, value: Any, fpath: str) -> list[BlockedImage]:
    out = []
    for i, item in enumerate(r.seq(value, fpath)):
        doc = r.fields(item, f"{fpath}[{i}]", ("name",))
        pattern = r.string(doc.get("name"), f"{fpath}[{i}].name")
        try:
            out.append(BlockedImage(pattern, go_regex(pattern)))
        except re.error as exc:
            raise r.error(f"{fpath}[{i}].name", f"{pattern!r} is not a valid regular expression: {exc}",
                          "blocked images are regular expressions searched in image references, e.g. "
                          "'^quay\\.io/unwanted/' or 'ubi8/ubi-minimal'") from None
    return out


# -- samples ---------------------------------------------------------------------------------------

def read_samples(r: Reader, value: Any, fpath: str) -> SamplesSpec:
    """bundler's mapping form, or oc-mirror's list form (``- name: X``)."""
    if isinstance(value, list):
        return _samples_list(r, value, fpath)
    doc = r.fields(value, fpath, ("fromRelease", "images", "imagesFile", "skip"))
    spec = SamplesSpec(from_release=r.boolean(doc.get("fromRelease"), f"{fpath}.fromRelease"))
    for i, img in enumerate(r.seq(doc.get("images"), f"{fpath}.images")):
        if isinstance(img, dict):
            img = r.fields(img, f"{fpath}.images[{i}]", ("name",)).get("name")
        spec.images.append(r.ref(img, f"{fpath}.images[{i}]"))
    if doc.get("imagesFile") is not None:
        name = Path(r.string(doc["imagesFile"], f"{fpath}.imagesFile"))
        spec.images_file = name if name.is_absolute() else r.path.parent / name  # bundler's rule: beside the file
    spec.skip = r.strings(doc.get("skip"), f"{fpath}.skip")
    return spec


def _samples_list(r: Reader, value: list[Any], fpath: str) -> SamplesSpec:
    spec = SamplesSpec()
    for i, item in enumerate(value):
        name = r.string(r.fields(item, f"{fpath}[{i}]", ("name",)).get("name"), f"{fpath}[{i}].name")
        if "/" in name:
            spec.images.append(r.ref(name, f"{fpath}[{i}].name"))
        else:
            spec.from_release = True
            spec.streams.append(name)
    return spec


# -- helm ------------------------------------------------------------------------------------------

def read_helm(r: Reader, value: Any, fpath: str) -> HelmSpec:
    """``repositories[]`` (classic ``http(s)://`` index, or ``oci://HOST/PATH``) and ``local[]`` charts."""
    doc = r.fields(value, fpath, ("repositories", "local"))
    spec = HelmSpec()
    for i, item in enumerate(r.seq(doc.get("repositories"), f"{fpath}.repositories")):
        spec.repositories.append(_repository(r, item, f"{fpath}.repositories[{i}]"))
    for i, item in enumerate(r.seq(doc.get("local"), f"{fpath}.local")):
        chart = _chart(r, item, f"{fpath}.local[{i}]")
        if chart.path is None:
            raise r.error(f"{fpath}.local[{i}].path", "is required for a local chart (a chart directory or .tgz)")
        spec.local.append(chart)
    return spec


def _repository(r: Reader, value: Any, ipath: str) -> HelmRepository:
    rdoc = r.fields(value, ipath, ("name", "url", "charts"))
    url = r.string(rdoc.get("url"), f"{ipath}.url")
    if not url.startswith(("http://", "https://", "oci://")) or not url.split("://", 1)[1].strip("/"):
        raise r.error(f"{ipath}.url", f"{url!r} is not a chart repository URL", "https://..., http://... or oci://...")
    if "@" in url.split("://", 1)[1].split("/", 1)[0]:  # never echo it: it may hold a password
        raise r.error(f"{ipath}.url", "holds credentials (user@ or user:password@ before the host)",
                      "remove them from the URL and put them in the auth file (--authfile) under the repository host")
    charts = None
    if rdoc.get("charts") is not None:
        charts = [_chart(r, c, f"{ipath}.charts[{j}]") for j, c in enumerate(r.seq(rdoc["charts"], f"{ipath}.charts"))]
        for j, c in enumerate(charts):
            if c.path is not None:
                r.warn(f"{ipath}.charts[{j}].path", "applies to mirror.helm.local charts only; ignored here "
                                                     "(the chart comes from the repository)")
    elif url.startswith("oci://"):
        raise r.error(f"{ipath}.charts", "is required for an oci:// chart repository (it has no index to list "
                                         "every chart from)", "list the charts: charts: [{name: CHART, version: X}]")
    return HelmRepository(r.string(rdoc.get("name"), f"{ipath}.name"), url, charts, where=f"{r.where(ipath)}: {ipath}")


def _chart(r: Reader, value: Any, fpath: str) -> HelmChart:
    doc = r.fields(value, fpath, CHART_FIELDS)
    path = r.opt_string(doc.get("path"), f"{fpath}.path")
    chart = HelmChart(
        name=r.string(doc.get("name"), f"{fpath}.name"),
        version=r.opt_string(doc.get("version"), f"{fpath}.version"),
        path=r.local_path(path, f"{fpath}.path", must_exist=False) if path else None,
        image_paths=r.strings(doc.get("imagePaths"), f"{fpath}.imagePaths"),
        platforms=read_platforms(r, doc.get("platforms"), f"{fpath}.platforms"),
        where=f"{r.where(fpath)}: {fpath}",
    )
    return chart
