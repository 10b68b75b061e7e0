#!/bin/sh
# Issue 12 item 6: how long N chargers behind one address (127.0.0.1), with credentials, take to
# (re)connect to a freshly started gateway with the default limits and the default scrypt cost.
# Loopback only; bounded: N chargers (default 2000), the simulator gives up after TIMEOUT s.
#   sh bench/fleet-reconnect.sh [N] [TIMEOUT]     (after npx tsc -p tsconfig.json)
set -eu
N=${1:-2000}
TIMEOUT=${2:-400}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mktemp -d)
trap 'kill $GW 2>/dev/null || true; rm -rf "$DIR"' EXIT
HASH=$(printf 'fleet-pw' | node "$ROOT/dist/src/cli/main.js" passwd hash --password-stdin)
i=1; while [ $i -le "$N" ]; do echo "cp$i:$HASH"; i=$((i + 1)); done > "$DIR/credentials"
PORT=$((40000 + $$ % 20000))
cat > "$DIR/gw.yaml" <<YAML
authentication: [{ backend: file, path: $DIR/credentials }]
listeners: { ws: { default: { bind: "127.0.0.1:$PORT" } } }
mqtt: { embedded: { bind: "off", ws_bind: "off" } }
log: { level: warn }
YAML
node "$ROOT/dist/src/cli/main.js" --config "$DIR/gw.yaml" > "$DIR/gw.log" 2>&1 &
GW=$!
sleep 2
START=$(date +%s.%N)
timeout "$TIMEOUT" node "$ROOT/dist/src/cli/main.js" simulate --url "ws://127.0.0.1:$PORT/ocpp" -n "$N" \
  --password fleet-pw --reconnect 1 --boot-after-connect --scenario boot --calls 1 --json "$DIR/sim.json" -q || echo "simulator exit $?"
END=$(date +%s.%N)
node -e "const s=require('$DIR/sim.json'); console.log(JSON.stringify({connect:s.connect??s.connects??Object.keys(s)}, null, 1).slice(0, 1500))"
echo "N=$N wall_s=$(echo "$END - $START" | bc)"
