"""The ``platform`` umbrella chart: the shapes of bitnami-style charts (see ``testkit.charts``)."""

from __future__ import annotations

from .charts import Files, TestChart, tgz

# Written for these tests in the style of bitnami's common library (registry, repository, tag or
# digest, global.imageRegistry overriding the registry, the chart's appVersion as the default tag).
COMMON_IMAGES = """{{/*
Return the proper image name.
{{ include "common.images.image" (dict "imageRoot" .Values.path.to.image "global" .Values.global "chart" .Chart) }}
*/}}
{{- define "common.images.image" -}}
{{- $registryName := default .imageRoot.registry ((.global).imageRegistry) -}}
{{- $repositoryName := .imageRoot.repository -}}
{{- $separator := ":" -}}
{{- $termination := .imageRoot.tag | toString -}}
{{- if not .imageRoot.tag }}
  {{- if .chart }}
    {{- $termination = .chart.AppVersion | toString -}}
  {{- end -}}
{{- end -}}
{{- if .imageRoot.digest }}
    {{- $separator = "@" -}}
    {{- $termination = .imageRoot.digest | toString -}}
{{- end -}}
{{- if $registryName }}
    {{- printf "%s/%s%s%s" $registryName $repositoryName $separator $termination -}}
{{- else -}}
    {{- printf "%s%s%s"  $repositoryName $separator $termination -}}
{{- end -}}
{{- end -}}

{{- define "common.names.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}
"""


def common(version: str) -> bytes:
    return tgz("common", {
        "Chart.yaml": f"apiVersion: v2\nname: common\nversion: {version}\ntype: library\nappVersion: \"{version}\"\n",
        "values.yaml": "exampleValue: common-chart\n",
        "templates/_images.tpl": COMMON_IMAGES,
    })


def redis(version: str = "1.2.3") -> bytes:
    """A database chart bundling its own (older) common, with a metrics exporter off by default."""
    return tgz("redis", {
        "Chart.yaml": f"""apiVersion: v2
name: redis
version: {version}
appVersion: "7.2.0"
dependencies:
  - name: common
    version: 2.x.x
    repository: oci://registry.example.com/charts
    tags: [bitnami-common]
""",
        "values.yaml": """image:
  registry: docker.io
  repository: library/redis
  tag: ""
  digest: ""
metrics:
  enabled: false
  image:
    registry: docker.io
    repository: oliver006/redis_exporter
    tag: v1.58.0
    digest: ""
""",
        "templates/statefulset.yaml": """apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ include "common.names.fullname" . }}
spec:
  template:
    spec:
      containers:
        - name: redis
          image: {{ include "common.images.image" (dict "imageRoot" .Values.image "global" .Values.global "chart" .Chart) }}
        {{- if .Values.metrics.enabled }}
        - name: metrics
          image: {{ include "common.images.image" (dict "imageRoot" .Values.metrics.image "global" .Values.global) }}
        {{- end }}
""",
        "charts/common-2.0.0.tgz": common("2.0.0"),
    })


def metrics_dir(reg: str) -> Files:
    return {
        "charts/metrics/Chart.yaml": "apiVersion: v2\nname: metrics\nversion: 0.3.0\nappVersion: 0.3.0\n",
        "charts/metrics/values.yaml": f"image:\n  registry: {reg}\n  repository: platform/metrics-agent\n  tag: 0.3.0\n",
        "charts/metrics/templates/daemonset.yaml": """apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {{ .Release.Name }}-metrics
spec:
  template:
    spec:
      containers:
        - name: agent
          image: {{ include "common.images.image" (dict "imageRoot" .Values.image "global" .Values.global) }}
""",
    }


def ui(reg: str) -> bytes:
    return tgz("ui", {
        "Chart.yaml": "apiVersion: v2\nname: ui\nversion: 1.1.0\nappVersion: 1.1.0\n",
        "values.yaml": f"image: {reg}/platform/ui:1.1.0\n",
        "templates/deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-ui
spec:
  template:
    spec:
      containers:
        - name: ui
          image: {{ .Values.image | quote }}
""",
    })


def platform(registry: str = "registry.example.com") -> TestChart:
    reg = registry
    files: Files = {
        "Chart.yaml": f"""apiVersion: v2
name: platform
description: Umbrella chart of the platform
version: 0.7.0
appVersion: "5.2.0"
annotations:
  artifacthub.io/images: |
    - name: operand
      image: {reg}/platform/operand:5.2.0
    - name: api
      image: {reg}/platform/api:5.2.0
dependencies:
  - name: common
    version: 2.x.x
    repository: oci://registry.example.com/charts
  - name: redis
    version: "~1.2.0"
    alias: cache
    repository: https://charts.example.com/stable
  - name: redis
    version: "~1.2.0"
    alias: queue
    repository: https://charts.example.com/stable
    condition: queue.enabled
  - name: metrics
    version: 0.3.0
    repository: file://charts/metrics
    condition: metrics.enabled,global.metrics.enabled
  - name: ui
    version: ">=1.0.0"
    repository: https://charts.example.com/stable
    tags: [frontend]
""",
        "values.yaml": f"""global:
  imageRegistry: {reg}
api:
  image:
    registry: docker.io
    repository: platform/api
    tag: ""
    digest: ""
waitImage: {reg}/tools/busybox
operator:
  image:
    registry: {reg}
    repository: platform/operator
    tag: 5.2.0
agent:
  image:
    registry: {reg}
    repository: platform/agent
    tag: 3.1.0
cache:
  image:
    tag: 7.2.4
queue:
  enabled: true
metrics:
  enabled: false
tags:
  frontend: true
# read at runtime by the operator from the ConfigMap below; nothing marks it as an image
operandDbRef: {reg}/platform/operand-db:5.1
""",
        "templates/api.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "common.names.fullname" . }}-api
spec:
  template:
    spec:
      initContainers:
        - name: wait-for-cache
          image: {{ .Values.waitImage }}
      containers:
        - name: api
          image: {{ include "common.images.image" (dict "imageRoot" .Values.api.image "global" .Values.global "chart" .Chart) }}
""",
        "templates/operator.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "common.names.fullname" . }}-operator
spec:
  template:
    spec:
      serviceAccountName: {{ include "common.names.fullname" . }}-operator
      containers:
        - name: operator
          image: {{ include "common.images.image" (dict "imageRoot" .Values.operator.image "global" .Values.global) }}
""",
        "templates/agent.yaml": """{{- /* the agent's tag is what the cluster says: lookup finds nothing without one */ -}}
{{- $info := lookup "v1" "ConfigMap" "kube-system" "platform-info" -}}
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {{ include "common.names.fullname" . }}-agent
spec:
  template:
    spec:
      containers:
        - name: agent
          image: "{{ .Values.agent.image.registry }}/{{ .Values.agent.image.repository }}:{{ $info.data.agentTag }}"
""",
        "templates/configmap.yaml": """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "common.names.fullname" . }}-operand
data:
  operandDb: {{ .Values.operandDbRef | quote }}
  settings: |
    {{- toYaml .Values.cache | nindent 4 }}
""",
        "charts/common-2.1.0.tgz": common("2.1.0"),
        "charts/redis-1.2.3.tgz": redis("1.2.3"),
        "charts/ui-1.1.0.tgz": ui(reg),
        **metrics_dir(reg),
    }
    images = {f"{reg}/platform/api:5.2.0", f"{reg}/tools/busybox:latest", f"{reg}/platform/operator:5.2.0",
              f"{reg}/library/redis:7.2.4", f"{reg}/library/redis:7.2.0", f"{reg}/platform/ui:1.1.0",
              f"{reg}/platform/agent:3.1.0", f"{reg}/platform/operand:5.2.0"}
    optional = {f"{reg}/platform/metrics-agent:0.3.0", f"{reg}/oliver006/redis_exporter:v1.58.0"}
    return TestChart("platform", "0.7.0", files, images=images, optional=optional,
                     by_hand={f"{reg}/platform/operand-db:5.1"}, unresolved=1)
