#!/usr/bin/env bash
# Installs the tools the Helm chart's tests run (test/deploy): helm and kubeconform, built from
# source through the Go module proxy (no prebuilt binaries can be fetched here), and the
# Kubernetes API JSON schemas for offline validation from the PyPI package kubernetes-validate, and
# the Prometheus Operator's ServiceMonitor schema (a custom resource, not among those) from the npm
# package @kubernetes-models/prometheus-operator.
# Everything goes into the cache, outside the repo, under a folder named after its version, so a
# second run does nothing and a version bump installs beside the old one.
#
#   bash scripts/deploy-tools.sh          install what is missing, then print where each tool
#                                         is, as NAME=path lines (test/deploy reads them)
#   bash scripts/deploy-tools.sh --paths  only print those lines, installing nothing
#   bash scripts/deploy-tools.sh --debian       only the Debian packages (apt-get; see below)
#   bash scripts/deploy-tools.sh --skip-debian  everything else
#
# From Debian: tini, the image's init (the image test runs the Dockerfile's ENTRYPOINT, tini
# included), and openssl (the chart test makes a certificate for the TLS files it mounts). The two
# halves exist so that CI can run apt-get in the foreground, where it cannot collide with another
# apt-get over dpkg's lock, and the long builds in the background.
#
# Building helm takes a few minutes on two cores the first time.
set -euo pipefail

HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0
KUBERNETES_VALIDATE_VERSION=1.37.0
PROMETHEUS_OPERATOR_MODELS_VERSION=6.0.0

cache="${SLUICE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}/tools"
log() { echo "deploy-tools: $*" >&2; }

# helm's go.mod asks for a recent Go. The machine's Go (or Debian's) may be older: GOTOOLCHAIN=auto
# then fetches the toolchain go.mod names, itself a module on the proxy, so any Go >= 1.21 will do.
find_go() {
  local go
  for go in "$(command -v go || true)" /usr/local/go/bin/go /usr/lib/go/bin/go; do
    [ -n "$go" ] && [ -x "$go" ] && { echo "$go"; return; }
  done
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing Go from Debian (to bootstrap the toolchain helm asks for)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null
    command -v go && return
  fi
  log "Go (1.21 or newer) is required to build helm and kubeconform"
  exit 1
}

# go install <module>@<version> into <dir>/bin, unless <dir>/bin/<name> is there already. Built in
# a private folder and renamed into place, so an interrupted build leaves nothing half-done.
go_install() {
  local name=$1 module=$2 version=$3 dir=$4
  [ -x "$dir/bin/$name" ] && return
  local go tmp
  go=$(find_go)
  tmp="$dir.tmp-$$"
  rm -rf "$tmp" && mkdir -p "$tmp/bin"
  log "building $name $version from source ($module), once"
  GOTOOLCHAIN=auto GOFLAGS=-trimpath CGO_ENABLED=0 GOBIN="$tmp/bin" "$go" install "$module@$version"
  rm -rf "$dir" && mv "$tmp" "$dir"
}

pip_install() {
  local package=$1 version=$2 dir=$3
  [ -f "$dir/.complete" ] && return
  if ! python3 -m pip --version >/dev/null 2>&1; then
    log "python3 with pip is required to install $package"
    exit 1
  fi
  local tmp="$dir.tmp-$$"
  rm -rf "$tmp"
  log "installing $package $version from PyPI, once"
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore --target "$tmp" "$package==$version"
  touch "$tmp/.complete"
  rm -rf "$dir" && mv "$tmp" "$dir"
}

helm_dir="$cache/helm-$HELM_VERSION"
kubeconform_dir="$cache/kubeconform-$KUBECONFORM_VERSION"
schemas_dir="$cache/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
offline_schemas_dir="$cache/kubeconform-schemas-$KUBERNETES_VALIDATE_VERSION"
models_dir="$cache/prometheus-operator-models-$PROMETHEUS_OPERATOR_MODELS_VERSION"

print_paths() {
  echo "SLUICE_HELM=$helm_dir/bin/helm"
  echo "SLUICE_KUBECONFORM=$kubeconform_dir/bin/kubeconform"
  # The newest Kubernetes version's strict schemas, as kubeconform reads them offline.
  echo "SLUICE_K8S_SCHEMAS=$offline_schemas_dir"
  echo "SLUICE_TINI=/usr/bin/tini"
  echo "SLUICE_SERVICEMONITOR_MODEL=$models_dir/node_modules/@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor.js"
}
if [ "${1:-}" = --paths ]; then
  print_paths
  exit 0
fi

install_debian_packages() {
  local missing=()
  [ -x /usr/bin/tini ] || missing+=(tini)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  if [ ${#missing[@]} = 0 ]; then return; fi
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing ${missing[*]} from Debian"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    log "the Debian packages ${missing[*]} are required by test/deploy"
    exit 1
  fi
}
if [ "${1:-}" != --skip-debian ]; then
  install_debian_packages
  if [ "${1:-}" = --debian ]; then exit 0; fi
fi

go_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" "$helm_dir"
go_install kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION" "$kubeconform_dir"
pip_install kubernetes-validate "$KUBERNETES_VALIDATE_VERSION" "$schemas_dir"
if [ ! -d "$offline_schemas_dir" ]; then
  tmp="$offline_schemas_dir.tmp-$$"
  rm -rf "$tmp"
  python3 "$(dirname "$0")/deploy-tools-k8s-schemas.py" "$schemas_dir/kubernetes_validate/kubernetes-json-schema" "$tmp"
  mv "$tmp" "$offline_schemas_dir"
fi
if [ ! -f "$models_dir/.complete" ]; then
  tmp="$models_dir.tmp-$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  log "installing @kubernetes-models/prometheus-operator $PROMETHEUS_OPERATOR_MODELS_VERSION from the npm registry, once"
  npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "@kubernetes-models/prometheus-operator@$PROMETHEUS_OPERATOR_MODELS_VERSION" >&2
  touch "$tmp/.complete"
  rm -rf "$models_dir" && mv "$tmp" "$models_dir"
fi

print_paths
