#!/bin/bash
# Copy the 11 API reference pages of tests/eval/{dev,test}_apidocs.yaml from the Debian doc packages
# (four generators: javadoc, gtk-doc, SQLite's C reference, doxygen) into DIR, and optionally ingest
# and evaluate them:
#   apt-get install -y openjdk-17-doc libglib2.0-doc sqlite3-doc libjson-c-doc
#   bench/apidocs_pages.sh /tmp/apidocs            # copy only
#   bench/apidocs_pages.sh /tmp/apidocs eval       # + fresh index in /tmp/apidocs/data, dev and test
# The pages are not kept in git (GPL-2 with Classpath exception, LGPL, public domain, MIT: 0.6 MB).
set -euo pipefail
DIR=${1:?usage: apidocs_pages.sh DIR [eval]}
J=/usr/share/doc/openjdk-17-doc/api/java.base/java/util
G=/usr/share/gtk-doc/html/glib
S=/usr/share/doc/sqlite3/c3ref
D=/usr/share/doc/libjson-c-dev/html
mkdir -p "$DIR/pages"
cp "$J"/{Objects,Optional,StringJoiner}.html "$G"/glib-{Miscellaneous-Utility-Functions,Base64-Encoding}.html \
   "$S"/{busy_timeout,changes,close,exec}.html "$D"/json__{tokener,util}_8h.html "$DIR/pages/"
if [ "${2:-}" = eval ]; then
    "$(dirname "$0")/eval_pages.sh" "$DIR" apidocs
fi
