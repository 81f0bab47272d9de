#!/usr/bin/env bash
# The one test command: creates .venv on first use, then runs format check, lint, types and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
.venv/bin/ruff format --check .
.venv/bin/ruff check .
.venv/bin/mypy .
.venv/bin/pytest "$@"
