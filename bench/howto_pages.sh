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
    "$(dirname "$0")/eval_pages.sh" "$DIR" howto
fi
