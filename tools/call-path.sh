#!/usr/bin/env bash
# Which of Ferry's main-code files a buffer write runs, measured, not read: a host with the default configuration
# (a sandboxed device worker per guest, the scheduler, leases), one guest writing 4 KiB from its heap N times
# (tools/call-path/CallPathGuest.java), every method of every main class traced by JFR (JDK 25 method tracing,
# jdk.MethodTrace) in the guest, the host and the worker (FERRY_WORKER_JFR), then for each process the files whose
# methods ran on every write (tools/call-path/CallPathFiles.java). docs/architecture.md, "A buffer write, file by
# file", quotes its output.
# Usage: tools/call-path.sh [N]   (default 2000; needs what ./ferry demo needs; about a minute)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${1:-2000}
"$here/ferry" --version >/dev/null   # finds JDK 25, builds what is stale
JAVA_HOME=$(ls -d /usr/lib/jvm/*25* 2>/dev/null | head -n 1)
java=$JAVA_HOME/bin/java
work=$(mktemp -d /tmp/ferry-call-path.XXXXXX)
host_pid=
cleanup() { [ -n "$host_pid" ] && kill "$host_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
modules=(ferry-protocol ferry-channel ferry-client ferry-host-spi ferry-host ferry-opencl)
classes=()
for m in "${modules[@]}"; do
  while IFS= read -r c; do classes+=("$c"); done < <(cd "$here/$m/target/classes" && find io -name '*.class' \
    | sed 's/\.class$//; s#/#.#g' | sort)
done
filter=$(IFS=';'; echo "${classes[*]}")
mkdir -p "$work/worker" "$work/host" "$work/regions"
chmod 0700 "$work/regions"
printf 'regionDir: %s/regions\nsocket: %s/guest.sock\n' "$work" "$work" > "$work/ferry.yaml"
"$here/ferry" guest add tracer -c "$work/ferry.yaml" >/dev/null
secret=$(sed -n 's/^ *secret: //p' "$work/ferry.yaml")
echo "call-path: host with the default configuration, every worker and the host traced ($work)" >&2
# JDK_JAVA_OPTIONS reaches every java the host starts with its environment (its fd holder too: a file per pid);
# the workers' sandboxes clear it, and record through FERRY_WORKER_JFR instead
host_jfr="-XX:StartFlightRecording:method-trace=$filter,filename=$work/host-%p.jfr"
FERRY_WORKER_JFR="$work/worker" FERRY_WORKER_JFR_TRACE="$filter" \
  JDK_JAVA_OPTIONS="$host_jfr -XX:FlightRecorderOptions:repository=$work/host" \
  "$here/ferry" host --discard-regions -c "$work/ferry.yaml" > "$work/host.log" 2>&1 &
host_pid=$!
for _ in $(seq 100); do [ -S "$work/guest.sock" ] && break; sleep 0.2; done
[ -S "$work/guest.sock" ] || { cat "$work/host.log" >&2; echo "call-path: the host did not start" >&2; exit 1; }
cp=$here/ferry-client/target/classes:$here/ferry-protocol/target/classes:$here/ferry-channel/target/classes
FERRY_HOST="unix:$work/guest.sock" FERRY_SECRET=$secret "$java" --enable-native-access=ALL-UNNAMED \
  "-XX:StartFlightRecording:method-trace=$filter,filename=$work/guest.jfr" -Xlog:jfr+startup=off \
  -cp "$cp" "$here/tools/call-path/CallPathGuest.java" tracer "$n"
kill "$host_pid"; wait "$host_pid" 2>/dev/null || true; traced=$host_pid; host_pid=
files=("$here/tools/call-path/CallPathFiles.java" --during "$work/guest.jfr" io.ferry.client.CommandQueue.write
  io.ferry.client.CommandQueue.finish)
echo; echo "### guest (from CommandQueue.write; $n writes)"; echo
"$java" "${files[@]}" io.ferry.client.CommandQueue.write "$n" "$work/guest.jfr"
echo; echo "### device worker (under InWorker, its session thread)"; echo
"$java" "${files[@]}" io.ferry.host.compute.InWorker. "$n" "$work/worker"
echo; echo "### host (any of its code)"; echo
"$java" "${files[@]}" io.ferry.host. "$n" "$work/host-$traced.jfr"
rm -rf "$work"
