#!/bin/bash
# Copy the pages of tests/eval/{dev,test}_howto.yaml into DIR: Autoconf's manual (one 1.9 MB page of
# Debian's autoconf-doc, GFDL, not kept in git) and the named pages of tests/eval/corpora; optionally
# ingest and evaluate them:
#   apt-get install -y autoconf-doc
#   bench/howto_pages.sh /tmp/howto            # copy only
#   bench/howto_pages.sh /tmp/howto eval       # + fresh index in /tmp/howto/data, dev and test
set -euo pipefail
DIR=${1:?usage: howto_pages.sh DIR [eval]}
HERE=$(cd "$(dirname "$0")/.." && pwd)
C=$HERE/tests/eval/corpora
mkdir -p "$DIR/pages"
cp /usr/share/doc/autoconf/autoconf.html "$DIR/pages/"
cp "$C"/git/pages/{gitcredentials,git-init,git-worktree,git-tag,gitmodules}.html \
   "$C"/postgresql/pages/{database-roles,backup-dump,backup-file,ddl-schemas}.html \
   "$C"/handbook/pages/sect.{apt-file,hostname-name-service}.html "$DIR/pages/"
if [ "${2:-}" = eval ]; then
    CB=${CITEBOT:-$HERE/.venv/bin/citebot}
    export CITEBOT_DATA_DIR="$DIR/data"
    "$CB" ingest "$DIR/pages" --quiet >/dev/null
    for split in dev test; do
        "$CB" eval --questions "$HERE/tests/eval/${split}_howto.yaml" --no-ingest --json > "$DIR/$split.json"
    done
fi
