#!/usr/bin/env bash
# Installs the real servers and tools the test suite starts (emulators, browser).
# Idempotent: each step is skipped when its tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- Destinations: npm emulators for Azure Blob (azurite) and a second S3 (s3rver).
# Installed project-locally into .test-servers/; the destination tests fail (not skip)
# when they are missing. moto, pyftpdlib and gcp-storage-emulator come from the dev extras.
if [ ! -x .test-servers/node_modules/.bin/azurite-blob ] || [ ! -x .test-servers/node_modules/.bin/s3rver ]; then
    echo "test-deps: installing azurite@3.35.0 and s3rver@3.7.1 into .test-servers/"
    mkdir -p .test-servers
    npm install --no-audit --no-fund --loglevel=error --prefix .test-servers azurite@3.35.0 s3rver@3.7.1
fi

# --- Studio: Debian's Chromium, driven by Playwright for Python (never `playwright install`:
# no browser downloads here). The Studio tests fail (not skip) when it is missing.
if [ ! -x /usr/bin/chromium ]; then
    echo "test-deps: installing Debian chromium for the Studio browser tests"
    if ! apt-cache show chromium >/dev/null 2>&1; then
        apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# --- Cluster: Debian's etcd (v3 API) for the cluster state store and its contract tests.
# The etcd tests fail (not skip) when it is missing.
if [ ! -x /usr/bin/etcd ]; then
    echo "test-deps: installing Debian etcd-server and etcd-client"
    if ! apt-cache show etcd-server >/dev/null 2>&1; then
        apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server etcd-client >/dev/null
fi
