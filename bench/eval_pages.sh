#!/bin/bash
# Ingest DIR/pages into a fresh index in DIR/data and evaluate tests/eval/{dev,test}_SET.yaml on it,
# writing DIR/dev.json and DIR/test.json. Called by the copy scripts of bench/ (`... DIR eval`).
#   CITEBOT=/path/to/citebot bench/eval_pages.sh DIR SET      # default: this checkout's .venv/bin/citebot
set -euo pipefail
DIR=${1:?usage: eval_pages.sh DIR SET}
SET=${2:?usage: eval_pages.sh DIR SET}
HERE=$(cd "$(dirname "$0")/.." && pwd)
CB=${CITEBOT:-$HERE/.venv/bin/citebot}
export CITEBOT_DATA_DIR="$DIR/data"
"$CB" ingest "$DIR/pages" --quiet >/dev/null
for split in dev test; do
    "$CB" eval --questions "$HERE/tests/eval/${split}_${SET}.yaml" --no-ingest --json > "$DIR/$split.json"
done
