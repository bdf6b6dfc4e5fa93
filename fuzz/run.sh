#!/usr/bin/env bash
# run.sh BINARY SECONDS WORK_DIR — runs one libFuzzer target for SECONDS under ASan+UBSan:
# first every checked-in seed (fuzz/corpus/<target>/) and crash input (fuzz/regressions/
# <target>/), then mutations. New corpus entries go to WORK_DIR/<target>/corpus, never into
# the checked-in corpus; a crash input is written to WORK_DIR/<target>/ and fails the run.
set -euo pipefail

if [ $# -ne 3 ]; then
    echo "usage: $0 BINARY SECONDS WORK_DIR" >&2
    exit 2
fi
binary=$1
seconds=$2
work=$3
name=$(basename "$binary")
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -x "$binary" ]; then
    echo "fuzz: $binary is not built (make fuzz builds it with clang)" >&2
    exit 1
fi

scratch="$work/$name/corpus"
mkdir -p "$scratch"
dirs=("$scratch")
for d in "$here/corpus/$name" "$here/regressions/$name"; do
    if [ -d "$d" ]; then
        dirs+=("$d")
    fi
done
if [ ${#dirs[@]} -eq 1 ]; then
    echo "fuzz: $name has no seed corpus under $here/corpus/$name" >&2
    exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "fuzz: $name for ${seconds}s (corpus: ${dirs[*]})"
# -timeout: an input that takes over 10 s is a hang, reported like a crash.
# -rss_limit_mb: a bounded-memory parser must stay far below this on inputs of a few KB.
exec "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/$name/" "${dirs[@]}"
