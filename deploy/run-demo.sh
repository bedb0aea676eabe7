#!/usr/bin/env bash
# Install, then serve the demo consortium (SQLite under ./data, no Redis): 'hyflex serve --demo'
# creates the demo (idempotent; a fresh live lesson once the last one has ended), prints its
# sign-ins and links for the address it then listens on, and serves. Settings and serve's
# options both work: HYFLEX_PORT=8765 bash deploy/run-demo.sh, or bash deploy/run-demo.sh --port 8765.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install.sh
exec .venv/bin/hyflex serve --demo "$@"
