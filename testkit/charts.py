"""Test charts in the shapes real charts take, generated at test time (no helm binary, no network).

``webapp``: one chart, image built by a helper with ``default .Chart.AppVersion``, a digest-pinned
init container, a sidecar, an env-var image next to env values that are not images, an image passed as
a ``--flag=`` argument, a custom resource naming its runner image, a CronJob, a pre-install hook Job,
a test Pod (hook) and a Pod with an ephemeral container.
``platform`` (see ``testkit.charts_platform``): an umbrella with a bitnami-style ``common`` library
(``common.images.image``), ``global.imageRegistry``, one subchart archive used twice under aliases,
a disabled subchart (condition), a tag-enabled subchart, an expression that reads the cluster
(``lookup``) and so cannot be evaluated, an ``artifacthub.io/images`` annotation, and an image only an
operator reads at runtime (must be listed by hand).
``legacy``: apiVersion v1 with ``requirements.yaml``.

Every builder returns ``TestChart``: the files, and the images a correct discovery must report.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

Files = dict[str, str | bytes]


@dataclass
class TestChart:
    __test__ = False          # not a pytest test class

    name: str
    version: str
    files: Files
    images: set[str] = field(default_factory=set)        # deployed with default values, discoverable
    optional: set[str] = field(default_factory=set)      # in values, off by default
    by_hand: set[str] = field(default_factory=set)       # needed but not discoverable from the chart
    unresolved: int = 0                                   # expressions that cannot be evaluated

    def write_dir(self, parent: Path) -> Path:
        return write_dir(parent / self.name, self.files)

    def archive(self) -> bytes:
        return tgz(self.name, self.files)


def write_dir(root: Path, files: Files) -> Path:
    for name, content in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def tgz(top: str, files: Files, mtime: int = 1_700_000_000) -> bytes:
    """A chart archive as ``helm package`` lays it out: every entry under ``<top>/``."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:") as tar:
        for name in sorted(files):
            data = files[name] if isinstance(files[name], bytes) else str(files[name]).encode()
            assert isinstance(data, bytes)
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size, info.mtime, info.mode = len(data), mtime, 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def digest_for(seed: str) -> str:
    import hashlib
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def webapp(registry: str = "registry.example.com", version: str = "1.4.2", app_version: str = "2.3.1",
           migrate_digest: str | None = None) -> TestChart:
    """A single application chart with the common container shapes."""
    reg = registry
    migrate = f"{reg}/apps/webapp-migrate@{migrate_digest or digest_for('webapp-migrate')}"
    files: Files = {
        "Chart.yaml": f"""apiVersion: v2
name: webapp
description: A web application with a migration job and nightly reports
type: application
version: {version}
appVersion: "{app_version}"
maintainers:
  - name: Web Team
    email: web@example.com
""",
        "values.yaml": f"""replicaCount: 2
image:
  repository: {reg}/apps/webapp
  # Overrides the image tag whose default is the chart appVersion.
  tag: ""
  pullPolicy: IfNotPresent
migrations:
  image: {migrate}
sidecar:
  enabled: true
  image: {reg}/apps/log-shipper:0.9.1
debugTools:
  image: {reg}/apps/debug-tools:2.0
  shell: {reg}/apps/shell:1.36
reports:
  schedule: "0 3 * * *"
  image:
    repository: {reg}/apps/report-runner
    tag: "1.10"
tests:
  image: {reg}/apps/curl:8.5.0
exporter:
  image: {reg}/apps/exporter:0.5.0
backup:
  schedule: daily
  runner:
    repository: {reg}/apps/backup-runner
    tag: "3.0"
ingress:
  enabled: false
service:
  port: 8080
""",
        "templates/_helpers.tpl": """{{/* Expand the name of the chart. */}}
{{- define "webapp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "webapp.fullname" -}}
{{- printf "%s-%s" .Release.Name (include "webapp.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "webapp.labels" -}}
app.kubernetes.io/name: {{ include "webapp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "webapp.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end }}
""",
        "templates/deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "webapp.fullname" . }}
  labels:
    {{- include "webapp.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  template:
    metadata:
      labels:
        {{- include "webapp.labels" . | nindent 8 }}
    spec:
      initContainers:
        - name: migrate
          image: {{ .Values.migrations.image | quote }}
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ include "webapp.image" . }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          env:
            - name: LOG_LEVEL
              value: debug
            - name: CACHE_ADDR
              value: "cache:6379"
            - name: CALLBACK_URL
              value: "https://hooks.example.com:8443/v1/notify"
            - name: DEBUG_IMAGE
              value: {{ .Values.debugTools.image }}
          args:
            - --listen=0.0.0.0:{{ .Values.service.port }}
            - --exporter={{ .Values.exporter.image }}
            - --config=/etc/webapp/config.yaml
          ports:
            - containerPort: {{ .Values.service.port }}
        {{- if .Values.sidecar.enabled }}
        - name: log-shipper
          image: {{ .Values.sidecar.image }}
        {{- end }}
""",
        "templates/cronjob.yaml": """{{- if .Capabilities.APIVersions.Has "batch/v1" }}
apiVersion: batch/v1
{{- else }}
apiVersion: batch/v1beta1
{{- end }}
kind: CronJob
metadata:
  name: {{ include "webapp.fullname" . }}-reports
spec:
  schedule: {{ .Values.reports.schedule | quote }}
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: reports
              image: "{{ .Values.reports.image.repository }}:{{ .Values.reports.image.tag }}"
""",
        "templates/hooks/pre-install-migrate.yaml": """apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "webapp.fullname" . }}-migrate
  annotations:
    "helm.sh/hook": pre-install,pre-upgrade
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: {{ .Values.migrations.image }}
""",
        "templates/debug-pod.yaml": """apiVersion: v1
kind: Pod
metadata:
  name: {{ include "webapp.fullname" . }}-debug
spec:
  containers:
    - name: app
      image: "{{ include "webapp.image" . }}"
  ephemeralContainers:
    - name: debugger
      image: {{ .Values.debugTools.shell }}
""",
        "templates/tests/test-connection.yaml": """apiVersion: v1
kind: Pod
metadata:
  name: "{{ include "webapp.fullname" . }}-test-connection"
  annotations:
    "helm.sh/hook": test
spec:
  containers:
    - name: curl
      image: {{ .Values.tests.image }}
      args: ['{{ include "webapp.fullname" . }}:{{ .Values.service.port }}']
  restartPolicy: Never
""",
        "templates/ingress.yaml": """{{- if .Values.ingress.enabled -}}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "webapp.fullname" . }}
spec:
  rules: {{- toYaml .Values.ingress.rules | nindent 4 }}
{{- end }}
""",
        "templates/backup.yaml": """apiVersion: backup.example.com/v1
kind: BackupPolicy
metadata:
  name: {{ include "webapp.fullname" . }}
spec:
  schedule: {{ .Values.backup.schedule }}
  # an operator starts the runner: its image is only a field of this custom resource
  runnerImage:
    {{- toYaml .Values.backup.runner | nindent 4 }}
""",
        "templates/NOTES.txt": "Visit {{ .Values.ingress.hosts.first.url }} (NOTES are not rendered)\n",
        ".helmignore": ".git/\n*.swp\n",
    }
    images = {f"{reg}/apps/webapp:{app_version}", migrate, f"{reg}/apps/log-shipper:0.9.1",
              f"{reg}/apps/debug-tools:2.0", f"{reg}/apps/report-runner:1.10", f"{reg}/apps/curl:8.5.0",
              f"{reg}/apps/shell:1.36", f"{reg}/apps/exporter:0.5.0", f"{reg}/apps/backup-runner:3.0"}
    return TestChart("webapp", version, files, images=images)


def legacy(registry: str = "registry.example.com") -> TestChart:
    """apiVersion v1: dependencies in requirements.yaml, a subchart directory, string image values."""
    reg = registry
    files: Files = {
        "Chart.yaml": "apiVersion: v1\nname: legacy-app\nversion: 0.9.0\nappVersion: \"0.9\"\n"
                      "description: A Helm 2 era chart\n",
        "requirements.yaml": "dependencies:\n  - name: worker\n    version: 1.0.0\n    repository: file://../worker\n"
                             "    condition: worker.enabled\n",
        "values.yaml": f"image: {reg}/legacy/app:0.9\nworker:\n  enabled: true\n",
        "templates/deployment.yaml": """apiVersion: extensions/v1beta1
kind: Deployment
metadata:
  name: {{ template "legacy.fullname" . }}
spec:
  template:
    spec:
      containers:
        - name: app
          image: {{ .Values.image }}
""",
        "templates/_helpers.tpl": '{{- define "legacy.fullname" -}}{{ .Release.Name }}-{{ .Chart.Name }}{{- end -}}\n',
        "charts/worker/Chart.yaml": "apiVersion: v1\nname: worker\nversion: 1.0.0\n",
        "charts/worker/values.yaml": f"image:\n  repository: {reg}/legacy/worker\n  tag: \"1.0\"\n",
        "charts/worker/templates/worker.yaml": """apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ .Release.Name }}-worker
spec:
  template:
    spec:
      containers:
        - name: worker
          image: {{ printf "%s:%s" .Values.image.repository .Values.image.tag }}
""",
    }
    return TestChart("legacy-app", "0.9.0", files, images={f"{reg}/legacy/app:0.9", f"{reg}/legacy/worker:1.0"})


def all_charts(registry: str = "registry.example.com") -> list[TestChart]:
    from .charts_platform import platform
    return [webapp(registry), platform(registry), legacy(registry)]
