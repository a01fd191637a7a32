#!/bin/sh
# examples/haproxy/stop.sh DIR: stops the HAProxy start.sh DIR started.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
pidfile=$1/haproxy.pid
[ -s "$pidfile" ] || { echo "$0: no $pidfile" >&2; exit 1; }
pid=$(cat "$pidfile")
kill "$pid" 2>/dev/null || true
i=0
while kill -0 "$pid" 2>/dev/null; do
  i=$((i + 1))
  [ $i -lt 100 ] || { kill -9 "$pid" 2>/dev/null || true; break; }
  sleep 0.05
done
rm -f "$pidfile"
