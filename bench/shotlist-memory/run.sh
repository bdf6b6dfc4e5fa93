#!/bin/sh
# Peak memory of `shotfarm validate` on generated 8 MiB shot lists (issue 11: an 8 MiB list
# must not need 900 MB). Usage: bench/shotlist-memory/run.sh [path/to/shotfarm] [workdir]
set -eu
bin=${1:-build/shotfarm}
work=${2:-$(mktemp -d)}
here=$(dirname "$0")
python3 "$here/make_lists.py" "$work"
for list in dense many huge one; do
    /usr/bin/time -f "$list: peak %M KB, %e s" "$bin" validate "$work/$list.yaml" \
        >/dev/null 2>"$work/$list.time" || true
    tail -n 1 "$work/$list.time"
done
