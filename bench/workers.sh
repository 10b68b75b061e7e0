#!/bin/bash
# Gateway workers (issue 17): round trips per second and CPU per round trip with --workers 1 and
# --workers 2, same run, alternating rounds, on one tuned Mosquitto with the echo backend.
# The load is the simulator (closed loop Heartbeats); on this 2-core machine the simulator, the
# broker and the backend share the cores with the gateway, so the gain is bounded by them.
# Run after npm run build:   bash bench/workers.sh [CHARGERS] [SECONDS] [ROUNDS]
cd "$(dirname "$0")/.."
N=${1:-200}; SECS=${2:-10}; ROUNDS=${3:-3}
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$dir"' EXIT
port () { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
cpu_ms () { local t=0; for p in "$@"; do [ -r /proc/$p/stat ] && t=$((t + $(awk '{print $14+$15}' /proc/$p/stat))); done; echo $((t * 10)); }
mport=$(port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 0\nmax_queued_messages 0\n' "$mport" > "$dir/m.conf"
/usr/sbin/mosquitto -c "$dir/m.conf" > "$dir/mosquitto.log" 2>&1 &
sleep 0.5
node dist/bench/echo-backend.js --url "mqtt://127.0.0.1:$mport" > "$dir/echo.log" 2>&1 &
sleep 0.5
run () {
  local w=$1 gport; gport=$(port)
  node dist/src/cli/main.js --workers "$w" --mqtt-url "mqtt://127.0.0.1:$mport" --bind "127.0.0.1:$gport" --admin-bind off --log-level warn \
    --set handshake_limits.conn_rate_per_address.enable=false > "$dir/gw.log" 2>&1 &
  local gw=$!
  sleep 3
  local pids="$gw $(pgrep -P $gw | tr '\n' ' ')"
  node dist/src/cli/main.js simulate --url "ws://127.0.0.1:$gport/ocpp" -n "$N" -s heartbeat --rate 0 --warmup 2 -d "$SECS" --quiet --json "$dir/sim.json" > /dev/null 2>&1 &
  local sim=$!
  sleep 2.5   # connects, boots, warm-up (2 s)
  local c0; c0=$(cpu_ms $pids); local t0; t0=$(date +%s%N)
  wait $sim
  local c1; c1=$(cpu_ms $pids); local t1; t1=$(date +%s%N)
  kill -TERM $gw; wait $gw 2>/dev/null
  node -e "
    const s = JSON.parse(require('fs').readFileSync('$dir/sim.json', 'utf8'))
    const rate = s.calls.roundTripsPerS
    const cpu = ($c1 - $c0) * 1000, wallS = ($t1 - $t0) / 1e9
    console.log('workers $w: ' + Math.round(rate) + ' round trips/s, gateway CPU ' + (cpu / Math.max(1, rate * wallS)).toFixed(1) + ' us per round trip (' + (($c1 - $c0) / 1000 / wallS).toFixed(2) + ' cores), p99 ' + s.latencyMs.p99 + ' ms, ' + s.calls.answered + '/' + s.calls.sent + ' answered')
  "
}
for r in $(seq 1 "$ROUNDS"); do run 1; run 2; done
