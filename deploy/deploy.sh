#!/usr/bin/env bash
# Deploys the kit to a GCP project: APIs, the Firestore database, its TTL policies and indexes,
# the Cloud Tasks queue, a least-privilege service account, the signing secret, and both
# functions (gen2, HTTP). Idempotent: re-running updates in place. --dry-run prints every command
# a first deploy runs (look-ups included) and runs none.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'USAGE'
usage: deploy/deploy.sh --project P [options]
  --project P          GCP project (or GOOGLE_CLOUD_PROJECT)
  --region R           functions and queue region (default us-central1)
  --firestore-location L
                       where to create the Firestore database if the project has none
                       (default: nam5 for us-central1, eur3 for europe-west1 and europe-west4,
                       otherwise the region itself); an existing database is left as it is
  --queue Q            Cloud Tasks queue (default workflows)
  --collection C       Firestore collection (default workflows)
  --service-account N  service account name (default workflows-runtime)
  --secret S           Secret Manager secret holding the signing key (default wf-signing-secret)
  --runtime R          Python runtime (default python311)
  --modules M          workflow modules to serve (default workflows.pizza)
  --retention-days N   days finished instances are kept (WF_RETENTION_DAYS; default 30)
  --history            record every request in the instances' history (WF_HISTORY=1)
  --history-retention-days N
                       days history entries are kept (WF_HISTORY_RETENTION_DAYS; default 365)
  --force              deploy even if in-flight instances sit on statements the code removed
  --dry-run            print the commands, run nothing
USAGE
}

PROJECT="${GOOGLE_CLOUD_PROJECT:-}"
REGION=us-central1
QUEUE=workflows
COLLECTION=workflows
SA_NAME=workflows-runtime
SECRET=wf-signing-secret
RUNTIME=python311
MODULES=workflows.pizza
FIRESTORE_LOCATION=
RETENTION_DAYS=
HISTORY_DAYS=
HISTORY=0
FORCE=0
DRY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --project) PROJECT="$2"; shift 2 ;;
    --region) REGION="$2"; shift 2 ;;
    --firestore-location) FIRESTORE_LOCATION="$2"; shift 2 ;;
    --queue) QUEUE="$2"; shift 2 ;;
    --collection) COLLECTION="$2"; shift 2 ;;
    --service-account) SA_NAME="$2"; shift 2 ;;
    --secret) SECRET="$2"; shift 2 ;;
    --runtime) RUNTIME="$2"; shift 2 ;;
    --modules) MODULES="$2"; shift 2 ;;
    --retention-days) RETENTION_DAYS="$2"; shift 2 ;;
    --history) HISTORY=1; shift ;;
    --history-retention-days) HISTORY_DAYS="$2"; shift 2 ;;
    --force) FORCE=1; shift ;;
    --dry-run) DRY=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done
if [ -z "$PROJECT" ]; then
  echo "error: no project: pass --project or set GOOGLE_CLOUD_PROJECT" >&2
  exit 2
fi
for days in "--retention-days:$RETENTION_DAYS" "--history-retention-days:$HISTORY_DAYS"; do
  if [ -n "${days#*:}" ] && ! [[ "${days#*:}" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
    echo "error: ${days%%:*} needs a number of days, got '${days#*:}'" >&2
    exit 2
  fi
done
if [ -z "$FIRESTORE_LOCATION" ]; then
  # A multi-region that holds the functions' region, else the region's own Firestore location.
  case "$REGION" in
    us-central1) FIRESTORE_LOCATION=nam5 ;;
    europe-west1|europe-west4) FIRESTORE_LOCATION=eur3 ;;
    *) FIRESTORE_LOCATION="$REGION" ;;
  esac
fi
SA="${SA_NAME}@${PROJECT}.iam.gserviceaccount.com"
if [ "$DRY" = 0 ]; then
  source scripts/_venv.sh  # the safe-code-change check needs the project installed
fi
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python

run() {  # print the command; run it unless dry
  printf '+'; printf ' %q' "$@"; printf '\n'
  if [ "$DRY" = 0 ]; then "$@"; fi
}
exists() {  # print the look-up; run it unless dry (a dry run shows a first deploy: nothing exists)
  printf '+'; printf ' %q' "$@"; printf '\n'
  [ "$DRY" = 0 ] && "$@" >/dev/null 2>&1
}

# The functions' source: main.py, the engine, the workflows and a requirements.txt.
STAGE="$(mktemp -d "${TMPDIR:-/tmp}/wf-deploy-XXXXXX")"
if [ "$DRY" = 0 ]; then trap 'rm -rf "$STAGE"' EXIT; fi
cp main.py "$STAGE/"
cp -r engine workflows "$STAGE/"
find "$STAGE" -name __pycache__ -prune -exec rm -rf {} +
"$PY" deploy/_requirements.py . > "$STAGE/requirements.txt"
echo "# function source staged in $STAGE"

G=(gcloud --project "$PROJECT" --quiet)

run "${G[@]}" services enable cloudfunctions.googleapis.com run.googleapis.com \
  cloudbuild.googleapis.com artifactregistry.googleapis.com cloudtasks.googleapis.com \
  firestore.googleapis.com secretmanager.googleapis.com

# The Firestore database, once (its location cannot change afterwards).
if ! exists "${G[@]}" firestore databases describe --database='(default)'; then
  run "${G[@]}" firestore databases create --database='(default)' --location="$FIRESTORE_LOCATION" \
    --type=firestore-native
fi

check_failed() {  # the check's exit status: 1 = instances would be stranded, else it could not run
  if [ "$1" = 1 ]; then
    echo "deploy stopped: the instances listed above would be stranded:" \
      "repair them or use --force" >&2
  else
    echo "deploy stopped: the safe-code-change check could not run (exit $1, reason above):" \
      "fix that, or use --force" >&2
  fi
  exit 1
}

# Safe code change: stop if in-flight instances sit on statements the new code lacks.
if [ "$FORCE" = 0 ]; then
  printf '+ GOOGLE_CLOUD_PROJECT=%q WF_COLLECTION=%q WF_MODULES=%q %q -m engine.check\n' \
    "$PROJECT" "$COLLECTION" "$MODULES" "$PY"
  if [ "$DRY" = 0 ]; then
    GOOGLE_CLOUD_PROJECT="$PROJECT" WF_COLLECTION="$COLLECTION" WF_MODULES="$MODULES" \
      "$PY" -m engine.check || check_failed $?
  fi
fi

# Firestore: TTL on finished instances and on history entries (TTL does not delete a deleted
# instance's history subcollection, so entries expire on their own), and the indexes the
# listings use (deploy/firestore.indexes.json; creating one that exists fails harmlessly).
for group in "$COLLECTION" history; do
  run "${G[@]}" firestore fields ttls update expires_at --collection-group="$group" --enable-ttl --async
done
while read -r -a fields; do
  run "${G[@]}" firestore indexes composite create --collection-group="$COLLECTION" \
    "${fields[@]}" --async || echo "# (index exists already)"
done < <("$PY" deploy/_indexes.py deploy/firestore.indexes.json)

# The queue.
if exists "${G[@]}" tasks queues describe "$QUEUE" --location="$REGION"; then
  run "${G[@]}" tasks queues update "$QUEUE" --location="$REGION" --max-attempts=100 \
    --min-backoff=1s --max-backoff=300s
else
  run "${G[@]}" tasks queues create "$QUEUE" --location="$REGION" --max-attempts=100 \
    --min-backoff=1s --max-backoff=300s
fi

# The service account and its least roles.
if ! exists "${G[@]}" iam service-accounts describe "$SA"; then
  run "${G[@]}" iam service-accounts create "$SA_NAME" --display-name="Durable workflows runtime"
fi
run "${G[@]}" projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:$SA" \
  --role=roles/datastore.user --condition=None
run "${G[@]}" tasks queues add-iam-policy-binding "$QUEUE" --location="$REGION" \
  --member="serviceAccount:$SA" --role=roles/cloudtasks.enqueuer
run "${G[@]}" tasks queues add-iam-policy-binding "$QUEUE" --location="$REGION" \
  --member="serviceAccount:$SA" --role=roles/cloudtasks.taskDeleter  # timers of ended waits
run "${G[@]}" iam service-accounts add-iam-policy-binding "$SA" \
  --member="serviceAccount:$SA" --role=roles/iam.serviceAccountUser

# The signing secret (a random value, created once).
if ! exists "${G[@]}" secrets describe "$SECRET"; then
  printf '+ openssl rand -hex 32 | gcloud --project %q --quiet secrets create %q --replication-policy=automatic --data-file=-\n' "$PROJECT" "$SECRET"
  if [ "$DRY" = 0 ]; then
    openssl rand -hex 32 | "${G[@]}" secrets create "$SECRET" --replication-policy=automatic --data-file=-
  fi
fi
run "${G[@]}" secrets add-iam-policy-binding "$SECRET" --member="serviceAccount:$SA" \
  --role=roles/secretmanager.secretAccessor

ENV_COMMON="GOOGLE_CLOUD_PROJECT=$PROJECT,WF_LOCATION=$REGION,WF_QUEUE=$QUEUE,WF_COLLECTION=$COLLECTION,WF_TASKS_SERVICE_ACCOUNT=$SA,WF_MODULES=$MODULES"
# --set-env-vars replaces every variable on each deploy: settings live in flags, not by hand.
if [ -n "$RETENTION_DAYS" ]; then ENV_COMMON="$ENV_COMMON,WF_RETENTION_DAYS=$RETENTION_DAYS"; fi
if [ "$HISTORY" = 1 ]; then ENV_COMMON="$ENV_COMMON,WF_HISTORY=1"; fi
if [ -n "$HISTORY_DAYS" ]; then ENV_COMMON="$ENV_COMMON,WF_HISTORY_RETENTION_DAYS=$HISTORY_DAYS"; fi
deploy_function() {  # name, public (--allow-unauthenticated or --no-allow-unauthenticated), tasks url
  run "${G[@]}" functions deploy "$1" --gen2 --region="$REGION" --runtime="$RUNTIME" \
    --source="$STAGE" --entry-point="$1" --trigger-http "$2" --service-account="$SA" \
    --set-env-vars="$ENV_COMMON,WF_TASKS_URL=$3" --set-secrets="WF_SIGNING_SECRET=$SECRET:latest"
}
lookup_tasks_url() {  # sets TASKS_URL to the tasks function's URL (empty: not deployed yet)
  local cmd=("${G[@]}" functions describe tasks --gen2 --region="$REGION" \
    --format='value(serviceConfig.uri)')
  printf '+ TASKS_URL=$('; printf '%q' "${cmd[0]}"; printf ' %q' "${cmd[@]:1}"; printf ')\n'
  if [ "$DRY" = 0 ]; then
    TASKS_URL="$("${cmd[@]}" 2>/dev/null || true)"
  else
    TASKS_URL="$1"  # what a first deploy finds
  fi
}

# The tasks function first (private: only Cloud Tasks, with the service account's OIDC token),
# then the api function, which needs the tasks function's URL. On a first deploy that URL is
# known only once the function exists, so tasks is deployed again with it.
lookup_tasks_url ""
KNOWN_URL="$TASKS_URL"
deploy_function tasks --no-allow-unauthenticated \
  "${KNOWN_URL:-https://${REGION}-${PROJECT}.cloudfunctions.net/tasks}"
run "${G[@]}" functions add-invoker-policy-binding tasks --region="$REGION" --member="serviceAccount:$SA"
if [ -z "$KNOWN_URL" ]; then
  lookup_tasks_url '$TASKS_URL'  # a dry run shows the variable: the URL is not known yet
  if [ -z "$TASKS_URL" ]; then
    echo "error: the tasks function was deployed but has no URL" >&2
    exit 1
  fi
  deploy_function tasks --no-allow-unauthenticated "$TASKS_URL"  # now with its own URL
fi
deploy_function api --allow-unauthenticated "$TASKS_URL"
echo "# done: api at https://${REGION}-${PROJECT}.cloudfunctions.net/api (see 'gcloud functions describe api')"
