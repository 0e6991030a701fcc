#!/bin/bash
# Copy the six upstream changelogs of tests/eval/{dev,test}_changelogs.yaml from /usr/share/doc into
# DIR/pages, gunzipped, and optionally ingest and evaluate them (GPL-3+, LGPL-3+, BSD licences; 0.3 MB,
# not kept in git). Packages: gzip diffutils tar make libarchive13 libmpfr6 (on most Debian systems).
#   bench/changelogs_pages.sh /tmp/changelogs          # copy only
#   bench/changelogs_pages.sh /tmp/changelogs eval     # + fresh index in DIR/data, dev and test
set -euo pipefail
DIR=${1:?usage: changelogs_pages.sh DIR [eval]}
U=/usr/share/doc
mkdir -p "$DIR/pages"
for p in gzip diffutils tar make; do zcat -f "$U/$p/NEWS.gz" > "$DIR/pages/$p-NEWS.txt"; done
zcat -f "$U/libarchive13/NEWS.gz" > "$DIR/pages/libarchive-NEWS.txt"
zcat -f "$U/libmpfr6/NEWS.gz" > "$DIR/pages/mpfr-NEWS.txt"
if [ "${2:-}" = eval ]; then
    "$(dirname "$0")/eval_pages.sh" "$DIR" changelogs
fi
