#!/usr/bin/env bash
# Runs the whole local stack in the foreground: the Firestore emulator, the Cloud Tasks emulator
# (in its own virtual environment) and both functions. Ctrl-C or SIGTERM stops everything.
# Environment: PORT (api, default 8080), TASKS_PORT (default 8081), WF_SIGNING_SECRET.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
exec .venv/bin/python -m devstack "$@"
