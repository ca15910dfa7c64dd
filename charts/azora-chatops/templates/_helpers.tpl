{{/* Names, labels and shared pieces of the azora-chatops chart. */}}

{{- define "azora-chatops.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "azora-chatops.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "azora-chatops.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "azora-chatops.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "azora-chatops.selectorLabels" -}}
app.kubernetes.io/name: {{ include "azora-chatops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector labels of one role's pods; call with (dict "root" $ "role" "web"). */}}
{{- define "azora-chatops.roleSelectorLabels" -}}
{{ include "azora-chatops.selectorLabels" .root }}
app.kubernetes.io/component: {{ .role }}
{{- end }}

{{- define "azora-chatops.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "azora-chatops.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "azora-chatops.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The policy text: the values' own, or the shipped default (files/policy.yaml). */}}
{{- define "azora-chatops.policy" -}}
{{- if .Values.policy }}
{{- .Values.policy }}
{{- else }}
{{- .Files.Get "files/policy.yaml" }}
{{- end }}
{{- end }}

{{/*
  The objects the bot acts on by name in one namespace, from the policy, as YAML (read it back
  with fromYaml); call with (dict "root" $ "namespace" "azora-production"). Each environment
  whose namespace this is adds, per service, the names src/kernel/domain/topology.ts gives the bot
  (files/rbac-rules.yaml lists them; test/chart/rbac.test.ts compares the two):
    a statefulset: statefulsets
    a deployment, rolling: deployments
    a deployment, blue-green: deployments (`-blue`, `-green`) and blueGreenServices (the Service)
  autoscalers are the deployments: an HPA must be named after the Deployment it scales.
  A namespace with no environment fails: its Role would have nothing to name.
*/}}
{{- define "azora-chatops.rbacNames" -}}
{{- $policy := include "azora-chatops.policy" .root | fromYaml }}
{{- if hasKey $policy "Error" }}
{{- fail (printf "the policy is not YAML: %s" $policy.Error) }}
{{- end }}
{{- $names := dict "deployments" (list) "blueGreenServices" (list) "statefulsets" (list) }}
{{- $found := false }}
{{- range $env := $policy.environments }}
{{- if eq $env.namespace $.namespace }}
{{- $found = true }}
{{- range $service := $policy.services }}
{{- $deployment := $service.deployment }}
{{- if $service.statefulset }}
{{- $_ := set $names "statefulsets" (append $names.statefulsets $service.statefulset) }}
{{- else if eq $env.strategy "blue-green" }}
{{- $colours := list (printf "%s-blue" $deployment) (printf "%s-green" $deployment) }}
{{- $_ := set $names "deployments" (concat $names.deployments $colours) }}
{{- $_ := set $names "blueGreenServices" (append $names.blueGreenServices $deployment) }}
{{- else }}
{{- $_ := set $names "deployments" (append $names.deployments $deployment) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if not $found }}
{{- fail (printf "rbac.namespaces: %s is the namespace of no environment in the policy" .namespace) }}
{{- end }}
{{- $_ := set $names "autoscalers" $names.deployments }}
{{- $sorted := dict }}
{{- range $kind, $list := $names }}
{{- $_ := set $sorted $kind ($list | sortAlpha | uniq) }}
{{- end }}
{{- toYaml $sorted }}
{{- end }}

{{/*
  The environments the policy backs up (its `backups`) whose namespace is this one, with the
  ConfigMap of scripts each one's Jobs mount (`scripts`, default azora-chatops-backup-scripts),
  as YAML (read it back with fromYaml); call with (dict "root" $ "namespace" "azora-production").
  A namespace without them gets no rule for Jobs (files/rbac-rules.yaml, `onlyWhere: backups`).
*/}}
{{- define "azora-chatops.backupEnvironments" -}}
{{- $policy := include "azora-chatops.policy" .root | fromYaml }}
{{- if hasKey $policy "Error" }}
{{- fail (printf "the policy is not YAML: %s" $policy.Error) }}
{{- end }}
{{- $found := dict }}
{{- range $env, $backup := ($policy.backups | default dict) }}
{{- $environment := index ($policy.environments | default dict) $env | default dict }}
{{- if and $backup (eq ($environment.namespace | default "") $.namespace) }}
{{- $_ := set $found $env (dict "scripts" ($backup.scripts | default "azora-chatops-backup-scripts")) }}
{{- end }}
{{- end }}
{{- toYaml $found }}
{{- end }}

 pods by labels, in a namespace by name (empty: the release namespace). */}}
{{- define "azora-chatops.podPeer" -}}
{{- if .namespace -}}
namespaceSelector:
  matchLabels:
    kubernetes.io/metadata.name: {{ .namespace }}
{{ end -}}
podSelector:
  matchLabels:
    {{- toYaml .podLabels | nindent 4 }}
{{- end }}

{{- define "azora-chatops.commonEgress" -}}
{{- $np := .Values.networkPolicy -}}
- to:
    - {{- include "azora-chatops.podPeer" $np.dns | nindent 6 }}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
- to:
    {{- if $np.redis.cidrs }}
    {{- range $np.redis.cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
    {{- else }}
    - {{- include "azora-chatops.podPeer" $np.redis | nindent 6 }}
    {{- end }}
  ports:
    - protocol: TCP
      port: {{ $np.redis.port }}
- to:
    {{- range $np.https.cidrs }}
    - ipBlock:
        cidr: {{ . }}
        {{- with $np.https.except }}
        except:
          {{- toYaml . | nindent 10 }}
        {{- end }}
    {{- end }}
  ports:
    - protocol: TCP
      port: 443
{{- end }}
