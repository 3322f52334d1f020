#!/usr/bin/env bash
# Starts a Ferry host for trying the ICD by hand, with one guest 'icd', and prints the environment a guest needs.
#   eval "$(ferry-icd/tests/dev-host.sh start DIR)"   # starts (or reuses) a host under DIR, exports FERRY_* and OCL_ICD_VENDORS
#   ferry-icd/tests/dev-host.sh stop DIR
# Use a DIR of your own (each worktree its own): regions, sockets and logs go there.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cmd=${1:?start|stop}; dir=$(mkdir -p "${2:?DIR}" && cd "$2" && pwd)
case "$cmd" in
  start)
    if [ ! -f "$dir/ferry.yaml" ]; then
      (cd "$dir" && "$here/ferry" guest add icd -c ferry.yaml --lanes 4 --region-size 64MiB --device-memory 4GiB --overrun-limit 30s >/dev/null 2>&1)
      sed -i "s#^regionDir: .*#regionDir: $dir/regions#; s#^adminSocket: .*#adminSocket: $dir/admin.sock#; s#^socket: .*#socket: $dir/guest.sock#" "$dir/ferry.yaml"
      grep '^  secret:' "$dir/ferry.yaml" | head -1 | awk '{print $2}' | base64 -d > "$dir/secret"; chmod 600 "$dir/secret"
    fi
    if [ ! -f "$dir/host.pid" ] || ! kill -0 "$(cat "$dir/host.pid")" 2>/dev/null; then
      # Its own session (so stop can end the launcher and the JVM together), no tie to our stdout (eval "$(...)").
      rm -f "$dir/guest.sock" # a socket left by a host that died would pass the wait below
      # (& binds to setsid alone: bound to the whole "cd && setsid" list, it left a shell holding our stdout.)
      (cd "$dir" && { setsid "$here/ferry" host -c ferry.yaml </dev/null >"$dir/host.log" 2>&1 & echo $! >"$dir/host.pid"; })
      for _ in $(seq 1 100); do [ -S "$dir/guest.sock" ] && break; sleep 0.2; done
      [ -S "$dir/guest.sock" ] || { echo "echo 'host did not start: see $dir/host.log' >&2"; exit 1; }
    fi
    echo "export FERRY_HOST=unix:$dir/guest.sock FERRY_GUEST=icd FERRY_SECRET_FILE=$dir/secret OCL_ICD_VENDORS=$here/ferry-icd/build"
    ;;
  stop)
    if [ -f "$dir/host.pid" ]; then
      pid=$(cat "$dir/host.pid")
      kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done # the host saves its regions first
      kill -0 "$pid" 2>/dev/null && echo "dev-host: host $pid still running after 10 s; see $dir/host.log" >&2
    fi
    rm -f "$dir/host.pid"
    ;;
esac
