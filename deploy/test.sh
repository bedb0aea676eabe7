#!/usr/bin/env bash
# Install everything the tests need and run the whole suite (lint, types, tests).
# Extra arguments go to pytest, e.g.  bash deploy/test.sh -k permission
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install.sh --dev
# A real Learning Record Store for tests/xapi: ralph pins an older FastAPI than the server, so
# it gets its own environment (requests is a dependency ralph forgets to declare).
if [ ! -x .venv-lrs/bin/ralph ]; then
  "${PYTHON:-python3}" -m venv .venv-lrs
  .venv-lrs/bin/python -m pip install --quiet --disable-pip-version-check \
    "ralph-malph[cli,lrs]==5.1.0" "requests==2.34.2"
fi
bash deploy/test-services.sh
export HYFLEX_TEST_REDIS_URL="${HYFLEX_TEST_REDIS_URL:-redis://127.0.0.1:${HYFLEX_TEST_REDIS_PORT:-6390}/0}"
export HYFLEX_TEST_POSTGRES_URL="${HYFLEX_TEST_POSTGRES_URL:-postgresql+asyncpg://postgres@127.0.0.1:${HYFLEX_TEST_PG_PORT:-5440}/postgres}"
echo "== ruff"; .venv/bin/ruff check .
echo "== mypy"; .venv/bin/mypy
echo "== pytest"
status=0
.venv/bin/pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "test: pytest collected no tests; that is a failure here" >&2
  exit 1
fi
exit "$status"
