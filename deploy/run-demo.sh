#!/usr/bin/env bash
# Install, create the demo consortium (idempotent, SQLite under ./data, no Redis) and serve it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install.sh
.venv/bin/hyflex demo
exec .venv/bin/hyflex serve "$@"
