#!/usr/bin/env bash
# Installs the real servers and tools the test suite starts (emulators, browser).
# Idempotent: each step is skipped when its tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
