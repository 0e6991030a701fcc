#!/bin/sh
# Copies the 16 pages the tables question sets ask about (tests/eval/dev_tables.yaml, test_tables.yaml)
# from Debian's documentation packages into DEST; they stay out of git (650 KB; PostgreSQL licence,
# SQLite public domain, Debian Reference GPL-2+: each package's copyright file says so).
#   apt-get install -y postgresql-doc-15 sqlite3-doc debian-reference-en
#   tests/eval/tables_pages.sh /tmp/tables-pages
#   CITEBOT_DATA_DIR=/tmp/tables citebot ingest /tmp/tables-pages
#   CITEBOT_DATA_DIR=/tmp/tables citebot eval --questions tests/eval/dev_tables.yaml --no-ingest
set -e
DEST=${1:?usage: tables_pages.sh DEST}
P=/usr/share/doc/postgresql-doc-15/html
S=/usr/share/doc/sqlite3
R=/usr/share/doc/debian-reference-common/docs
mkdir -p "$DEST/postgresql" "$DEST/sqlite" "$DEST/debian-reference"
for page in limits datatype-datetime datatype-character datatype-binary storage-page-layout \
    runtime-config-resource functions-math app-pgdump; do
    cp "$P/$page.html" "$DEST/postgresql/"
done
for page in lang_datefunc datatype3 limits printf nulls; do
    cp "$S/$page.html" "$DEST/sqlite/"
done
for page in ch03 ch04 ch08; do
    cp "$R/$page.en.html" "$DEST/debian-reference/"
done
