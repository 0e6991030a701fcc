#!/bin/bash
# Copy the 20 Markdown and plain-text notes of tests/eval/{dev,test}_notes.yaml from /usr/share/doc
# (READMEs, design notes, contributing guides, changelogs) into DIR, gunzipped and named as a team would
# keep them (a package's NEWS becomes PACKAGE-NEWS.md or .txt), and optionally ingest and evaluate them:
#   bench/notes_pages.sh /tmp/notes            # copy only
#   bench/notes_pages.sh /tmp/notes eval       # + fresh index in /tmp/notes/data, dev and test
# They come from these Debian packages (most are on a base system; libcurl4-doc usually is not):
#   apt-get install -y adduser apt base-passwd bc coreutils dpkg-dev findutils fontconfig gcc-12 \
#     libcurl4-doc libnss-mdns libpipeline1 man-db openssl python3-pip systemd zstd
# The files are not kept in git (LGPL-2.1+, GPL-2+/3+, curl, BSD, Apache-2.0, MIT licences: 0.3 MB).
set -euo pipefail
DIR=${1:?usage: notes_pages.sh DIR [eval]}
U=/usr/share/doc
mkdir -p "$DIR/pages"
copy() { zcat -f "$U/$1" > "$DIR/pages/$2"; }
copy systemd/ENVIRONMENT.md.gz ENVIRONMENT.md
copy systemd/CODING_STYLE.md.gz CODING_STYLE.md
copy systemd/UIDS-GIDS.md.gz UIDS-GIDS.md
copy libcurl4/HTTP-COOKIES.md.gz HTTP-COOKIES.md
copy libcurl4/VERSIONS.md VERSIONS.md
copy zstd/CONTRIBUTING.md.gz CONTRIBUTING.md
copy python3-pip/html/topics/caching.md.gz pip-caching.md
copy apt/README.md.gz apt-README.md
copy man-db/NEWS.md.gz man-db-NEWS.md
copy libpipeline1/NEWS.md.gz libpipeline-NEWS.md
copy openssl/NEWS.md.gz openssl-NEWS.md
copy libnss-mdns/NEWS.md.gz nss-mdns-NEWS.md
copy findutils/NEWS.gz findutils-NEWS.txt
copy dpkg/spec/rootless-builds.txt rootless-builds.txt
copy base-passwd/users-and-groups.txt.gz users-and-groups.txt
copy coreutils/README.gz coreutils-README.txt
copy fontconfig/fontconfig-user.txt.gz fontconfig-user.txt
copy gcc-12-base/README.Bugs gcc-README.Bugs.txt
copy bc/README bc-README.txt
copy adduser/README.gz adduser-README.txt
if [ "${2:-}" = eval ]; then
    "$(dirname "$0")/eval_pages.sh" "$DIR" notes
fi
