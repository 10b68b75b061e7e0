#!/bin/bash
# Start-up time of the gateway (issue 17): format checking off, on with the validators compiled at
# build time, and on with them compiled at start. Run after npm run build: bash bench/startup.sh
# time to "listener ready" (wall ms) of `ocpp-gateway` with format checking off / all, precompiled or not
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"; [ -d dist/src/schema/compiled.off ] && mv dist/src/schema/compiled.off dist/src/schema/compiled' EXIT
run () {
  local m=$1
  s=$(date +%s%N)
  node dist/src/cli/main.js --bind 127.0.0.1:0 --mqtt-bind 127.0.0.1:0 --admin-bind off --message-format-checking $m > "$out" 2>&1 &
  pid=$!
  until grep -q "listener ready" "$out"; do sleep 0.01; done
  e=$(( ($(date +%s%N)-s)/1000000 ))
  cpu=$(awk '{print ($14+$15)*10}' /proc/$pid/stat)
  rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
  kill $pid; wait $pid 2>/dev/null
  echo "$2 $m: ${e} ms wall, ${cpu} ms cpu, rss ${rss} kB"
}
for i in 1 2 3; do
  run disable "     "
  run all precompiled
  mv dist/src/schema/compiled dist/src/schema/compiled.off
  run all "  runtime  "
  mv dist/src/schema/compiled.off dist/src/schema/compiled
done
