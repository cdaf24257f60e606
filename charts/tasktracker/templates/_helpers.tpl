{{/* Names ---------------------------------------------------------------------------------------- */}}

{{- define "tasktracker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tasktracker.fullname" -}}
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

{{/* The name of one component's objects: <fullname>-<component>. Call with (dict "root" $ "component" "api"). */}}
{{- define "tasktracker.componentName" -}}
{{- printf "%s-%s" (include "tasktracker.fullname" .root | trunc 50 | trimSuffix "-") .component -}}
{{- end -}}

{{- define "tasktracker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tasktracker.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels ---------------------------------------------------------------------------------------- */}}

{{- define "tasktracker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tasktracker.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "tasktracker.labels" -}}
{{ include "tasktracker.selectorLabels" . }}
{{ include "tasktracker.sharedLabels" .root }}
{{- end -}}

{{/* Labels of objects every component uses (ConfigMap, Secret, ServiceAccount): no component. */}}
{{- define "tasktracker.commonLabels" -}}
app.kubernetes.io/name: {{ include "tasktracker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{ include "tasktracker.sharedLabels" . }}
{{- end -}}

{{- define "tasktracker.sharedLabels" -}}
app.kubernetes.io/part-of: tasktracker
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* Images ---------------------------------------------------------------------------------------- */}}

{{/* registry/repository:tag; an empty registry leaves the repository as given (skaffold passes it whole). */}}
{{- define "tasktracker.imageRef" -}}
{{- $repo := ternary (printf "%s/%s" .image.registry .image.repository) .image.repository (ne .image.registry "") -}}
{{- printf "%s:%s" $repo (default .appVersion .image.tag) -}}
{{- end -}}

{{- define "tasktracker.image" -}}
{{- include "tasktracker.imageRef" (dict "image" .Values.image "appVersion" .Chart.AppVersion) -}}
{{- end -}}

{{- define "tasktracker.dashboardImage" -}}
{{- include "tasktracker.imageRef" (dict "image" .Values.dashboardImage "appVersion" .Chart.AppVersion) -}}
{{- end -}}

{{/* (dict "image" .Values.postgresql.image) */}}
{{- define "tasktracker.thirdPartyImage" -}}
{{- printf "%s/%s:%s" .image.registry .image.repository .image.tag -}}
{{- end -}}

{{/* Security --------------------------------------------------------------------------------------- */}}

{{/* Pod security context: (dict "ctx" .Values.securityContext.app) */}}
{{- define "tasktracker.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .ctx.runAsUser }}
runAsGroup: {{ .ctx.runAsGroup }}
fsGroup: {{ .ctx.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "tasktracker.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: {{ .Values.securityContext.readOnlyRootFilesystem }}
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Connections ------------------------------------------------------------------------------------ */}}

{{- define "tasktracker.postgresHost" -}}
{{- if .Values.postgresql.enabled -}}
{{- include "tasktracker.componentName" (dict "root" . "component" "postgres") -}}
{{- else -}}
{{- required "postgresql.external.host is required when postgresql.enabled is false" .Values.postgresql.external.host -}}
{{- end -}}
{{- end -}}

{{/* The database URL without a password: the password comes from a file (TASKTRACKER_DATABASE_PASSWORD_FILE). */}}
{{- define "tasktracker.databaseUrl" -}}
{{- if .Values.postgresql.enabled -}}
{{- $pg := .Values.postgresql.auth -}}
{{- printf "postgresql://%s@%s:5432/%s" $pg.username (include "tasktracker.postgresHost" .) $pg.database -}}
{{- else -}}
{{- $pg := .Values.postgresql.external -}}
{{- $url := printf "postgresql://%s@%s:%d/%s" $pg.username (include "tasktracker.postgresHost" .) (int $pg.port) $pg.database -}}
{{- if $pg.sslmode -}}{{- $url = printf "%s?ssl=%s" $url $pg.sslmode -}}{{- end -}}
{{- $url -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the database password, and its key. */}}
{{- define "tasktracker.databaseSecretName" -}}
{{- if .Values.postgresql.enabled -}}
{{- default (include "tasktracker.componentName" (dict "root" . "component" "postgres")) .Values.postgresql.auth.existingSecret -}}
{{- else if .Values.postgresql.external.existingSecret -}}
{{- .Values.postgresql.external.existingSecret -}}
{{- else -}}
{{- include "tasktracker.componentName" (dict "root" . "component" "database") -}}
{{- end -}}
{{- end -}}

{{- define "tasktracker.databaseSecretKey" -}}
{{- if .Values.postgresql.enabled -}}
{{- .Values.postgresql.auth.passwordKey -}}
{{- else -}}
{{- .Values.postgresql.external.passwordKey -}}
{{- end -}}
{{- end -}}

{{/* Whether the app has a database password at all (external PostgreSQL may trust or use client certs). */}}
{{- define "tasktracker.hasDatabasePassword" -}}
{{- if or .Values.postgresql.enabled .Values.postgresql.external.existingSecret .Values.postgresql.external.password -}}true{{- end -}}
{{- end -}}

{{- define "tasktracker.natsUrl" -}}
{{- if .Values.nats.enabled -}}
{{- printf "nats://%s:4222" (include "tasktracker.componentName" (dict "root" . "component" "nats")) -}}
{{- else -}}
{{- .Values.nats.external.url -}}
{{- end -}}
{{- end -}}

{{- define "tasktracker.natsMonitoringEndpoint" -}}
{{- if .Values.nats.enabled -}}
{{- printf "%s.%s.svc:8222" (include "tasktracker.componentName" (dict "root" . "component" "nats")) .Release.Namespace -}}
{{- else -}}
{{- required "nats.external.monitoringEndpoint (host:8222) is required for the KEDA scaler with an external NATS" .Values.nats.external.monitoringEndpoint -}}
{{- end -}}
{{- end -}}

{{/* Whether the app Secret holds earlier secret keys (a key rotation is under way). */}}
{{- define "tasktracker.hasPreviousSecretKeys" -}}
{{- if .Values.secrets.existingSecret -}}
{{- if .Values.secrets.withPreviousSecretKeys -}}true{{- end -}}
{{- else if .Values.secrets.previousSecretKeys -}}true{{- end -}}
{{- end -}}

{{- define "tasktracker.appSecretName" -}}
{{- default (include "tasktracker.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* Whether KEDA owns the worker's replica count. */}}
{{- define "tasktracker.kedaActive" -}}
{{- if and .Values.worker.keda.enabled (.Capabilities.APIVersions.Has "keda.sh/v1alpha1") -}}true{{- end -}}
{{- end -}}

{{/* App pod parts ---------------------------------------------------------------------------------- */}}

{{- define "tasktracker.secretsDir" -}}/var/run/secrets/tasktracker{{- end -}}

{{/*
Environment of every app container beside the ConfigMap: *_FILE names pointing at mounted secrets.
Call with (dict "root" $ "role" "api").
*/}}
{{- define "tasktracker.secretFileEnv" -}}
{{- $root := .root -}}
{{- $dir := include "tasktracker.secretsDir" . -}}
- name: TASKTRACKER_SECRET_KEY_FILE
  value: {{ $dir }}/app/{{ $root.Values.secrets.keys.secretKey }}
{{- if include "tasktracker.hasDatabasePassword" $root }}
- name: TASKTRACKER_DATABASE_PASSWORD_FILE
  value: {{ $dir }}/database/{{ include "tasktracker.databaseSecretKey" $root }}
{{- end }}
{{- if and (not $root.Values.nats.enabled) $root.Values.nats.external.existingSecret }}
- name: TASKTRACKER_NATS_URL_FILE
  value: {{ $dir }}/nats/{{ $root.Values.nats.external.urlKey }}
{{- end }}
{{- if $root.Values.bot.enabled }}
- name: TASKTRACKER_TELEGRAM_BOT_TOKEN_FILE
  value: {{ $dir }}/app/{{ $root.Values.secrets.keys.telegramBotToken }}
{{- if eq $root.Values.bot.mode "webhook" }}
- name: TASKTRACKER_TELEGRAM_WEBHOOK_SECRET_FILE
  value: {{ $dir }}/app/{{ $root.Values.secrets.keys.telegramWebhookSecret }}
{{- end }}
{{- end }}
{{- if include "tasktracker.hasPreviousSecretKeys" $root }}
- name: TASKTRACKER_PREVIOUS_SECRET_KEYS_FILE
  value: {{ $dir }}/app/{{ $root.Values.secrets.keys.previousSecretKeys }}
{{- end }}
{{- if $root.Values.monitoring.appMetrics }}
- name: TASKTRACKER_METRICS_TOKEN_FILE
  value: {{ $dir }}/app/{{ $root.Values.secrets.keys.metricsToken }}
{{- end }}
{{- if $root.Values.slack.enabled }}
- name: TASKTRACKER_SLACK_SIGNING_SECRET_FILE
  value: {{ $dir }}/app/{{ $root.Values.secrets.keys.slackSigningSecret }}
{{- end }}
{{- end -}}

{{/* The Secret holding the first admin's password: the user's, or the one the chart generates. */}}
{{- define "tasktracker.adminSecretName" -}}
{{- default (include "tasktracker.componentName" (dict "root" . "component" "admin")) .Values.auth.admin.existingSecret -}}
{{- end -}}

{{/*
The API container's admin bootstrap (only the API creates users at start; the other processes must not
get half of it): the name and email as values, the password as a file.
*/}}
{{- define "tasktracker.adminEnv" -}}
{{- $admin := .Values.auth.admin -}}
{{- if $admin.username }}
- name: TASKTRACKER_ADMIN_USERNAME
  value: {{ $admin.username | quote }}
{{- if $admin.email }}
- name: TASKTRACKER_ADMIN_EMAIL
  value: {{ $admin.email | quote }}
{{- end }}
- name: TASKTRACKER_ADMIN_PASSWORD_FILE
  value: {{ include "tasktracker.secretsDir" . }}/admin/{{ $admin.passwordKey }}
{{- end }}
{{- end -}}

{{- define "tasktracker.adminVolumeMount" -}}
{{- if .Values.auth.admin.username }}
- name: admin-secret
  mountPath: {{ include "tasktracker.secretsDir" . }}/admin
  readOnly: true
{{- end }}
{{- end -}}

{{- define "tasktracker.adminVolume" -}}
{{- if .Values.auth.admin.username }}
- name: admin-secret
  secret:
    secretName: {{ include "tasktracker.adminSecretName" . }}
    defaultMode: 0440
    items:
      - key: {{ .Values.auth.admin.passwordKey }}
        path: {{ .Values.auth.admin.passwordKey }}
{{- end }}
{{- end -}}

{{- define "tasktracker.secretVolumeMounts" -}}
{{- $dir := include "tasktracker.secretsDir" . -}}
- name: app-secrets
  mountPath: {{ $dir }}/app
  readOnly: true
{{- if include "tasktracker.hasDatabasePassword" .root }}
- name: database-secret
  mountPath: {{ $dir }}/database
  readOnly: true
{{- end }}
{{- if and (not .root.Values.nats.enabled) .root.Values.nats.external.existingSecret }}
- name: nats-secret
  mountPath: {{ $dir }}/nats
  readOnly: true
{{- end }}
{{- end -}}

{{- define "tasktracker.secretVolumes" -}}
- name: app-secrets
  secret:
    secretName: {{ include "tasktracker.appSecretName" .root }}
    defaultMode: 0440
{{- if include "tasktracker.hasDatabasePassword" .root }}
- name: database-secret
  secret:
    secretName: {{ include "tasktracker.databaseSecretName" .root }}
    defaultMode: 0440
    items:
      - key: {{ include "tasktracker.databaseSecretKey" .root }}
        path: {{ include "tasktracker.databaseSecretKey" .root }}
{{- end }}
{{- if and (not .root.Values.nats.enabled) .root.Values.nats.external.existingSecret }}
- name: nats-secret
  secret:
    secretName: {{ .root.Values.nats.external.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .root.Values.nats.external.urlKey }}
        path: {{ .root.Values.nats.external.urlKey }}
{{- end }}
{{- end -}}

{{/* Rolls the pods when configuration or chart-made secrets change. */}}
{{- define "tasktracker.configChecksum" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end -}}

{{/* Init container: wait until the database schema is at the image's newest migration. */}}
{{- define "tasktracker.waitForSchema" -}}
- name: wait-for-schema
  image: {{ include "tasktracker.image" .root }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  args: ["migrate", "--wait", "--timeout", {{ .root.Values.migrations.waitTimeoutSeconds | quote }}]
  envFrom:
    - configMapRef:
        name: {{ include "tasktracker.componentName" (dict "root" .root "component" "config") }}
  env:
    {{- include "tasktracker.secretFileEnv" . | nindent 4 }}
  securityContext:
    {{- include "tasktracker.containerSecurityContext" .root | nindent 4 }}
  resources:
    {{- toYaml .root.Values.migrations.resources | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
    {{- include "tasktracker.secretVolumeMounts" . | nindent 4 }}
{{- end -}}

{{/* Whether the ServiceMonitor (and the NATS exporter it scrapes) is rendered. */}}
{{- define "tasktracker.serviceMonitorActive" -}}
{{- if and .Values.monitoring.serviceMonitor.enabled .Values.nats.enabled (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1") -}}true{{- end -}}
{{- end -}}

{{/* Whether a ServiceMonitor scrapes the API's /metrics (with the token from the app Secret). */}}
{{- define "tasktracker.appServiceMonitorActive" -}}
{{- if and .Values.monitoring.serviceMonitor.enabled .Values.monitoring.appMetrics (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1") -}}true{{- end -}}
{{- end -}}

{{/* NetworkPolicy peers: pods of this release with one of the components. */}}
{{- define "tasktracker.fromComponents" -}}
- podSelector:
    matchLabels:
      app.kubernetes.io/name: {{ .name }}
      app.kubernetes.io/instance: {{ .instance }}
    matchExpressions:
      - key: app.kubernetes.io/component
        operator: In
        values: {{ toJson .components }}
{{- end -}}

{{/*
Names config.extraEnv may not use: secrets (they come from Secret files, never the ConfigMap) and the
other names of variables the chart sets itself (Settings reads PORT and TASKTRACKER_PORT alike).
tests/deploy keeps this list equal to what Settings defines.
*/}}
{{- define "tasktracker.reservedEnv" -}}
{{- $secrets := list "TASKTRACKER_SECRET_KEY" "TASKTRACKER_ADMIN_PASSWORD" "TASKTRACKER_ADMIN_USERNAME" "TASKTRACKER_ADMIN_EMAIL" "TASKTRACKER_DATABASE_PASSWORD" "TASKTRACKER_TELEGRAM_WEBHOOK_SECRET" "TASKTRACKER_SLACK_SIGNING_SECRET" "SLACK_SIGNING_SECRET" "TASKTRACKER_TELEGRAM_BOT_TOKEN" "TELEGRAM_BOT_TOKEN" "TASKTRACKER_DATABASE_URL" "DATABASE_URL" "TASKTRACKER_NATS_URL" "NATS_URL" "TASKTRACKER_METRICS_TOKEN" "TASKTRACKER_PREVIOUS_SECRET_KEYS" -}}
{{- $files := list -}}
{{- range $secrets }}{{ $files = append $files (printf "%s_FILE" .) }}{{ end -}}
{{- concat $secrets $files (list "PORT" "OLLAMA_BASE_URL" "FORWARDED_ALLOW_IPS") | join "," -}}
{{- end -}}
