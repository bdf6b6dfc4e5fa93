#!/usr/bin/env bash
# make demo: start shotfarm-sim on a free loopback port, render shots.yaml with an embedded
# PostgreSQL under examples/demo/state, and say where the videos are. Run it again and it
# resumes (nothing finished is redone); `make clean` removes the state and the videos.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:-build}" && pwd)"
state="$here/state"
mkdir -p "$state"

sim_log="$state/sim.log"
"$build/shotfarm-sim" --listen 127.0.0.1:0 --config "$here/sim.yaml" >"$sim_log" 2>&1 &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true' EXIT

port=""
for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$sim_log" | head -n 1)
    [ -n "$port" ] && break
    kill -0 "$sim_pid" 2>/dev/null || { cat "$sim_log"; echo "demo: shotfarm-sim did not start" >&2; exit 1; }
    sleep 0.1
done
[ -n "$port" ] || { echo "demo: shotfarm-sim did not report its port" >&2; exit 1; }
echo "demo: provider simulator on 127.0.0.1:$port"

sed "s/@SIM_PORT@/$port/g" "$here/config.template.yaml" >"$state/config.yaml"
export SHOTFARM_DEMO_ATLAS_KEY_A=demo-key-a
export SHOTFARM_DEMO_ATLAS_KEY_B=demo-key-b

status=0
"$build/shotfarm" run --config "$state/config.yaml" "$here/shots.yaml" 2>"$state/shotfarm.log" || status=$?

echo
echo "demo: videos in $here/out/harbour-demo/"
find "$here/out/harbour-demo" -name '*.mp4' | sort | sed 's/^/  /'
echo "demo: logs (JSON lines) in $state/shotfarm.log"
exit $status
