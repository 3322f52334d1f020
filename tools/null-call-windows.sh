#!/usr/bin/env bash
# The null call's tail, window by window: a bench host and one guest, WINDOWS windows of 20,000 null calls, each
# window's p50, p99 and maximum, then p50, p99, p99.9 and the share over 5 us of them all
# (tools/null-call-windows/NullCallWindows.java). With --same-cpu the guest and the host run on CPU 0 only, the case
# docs/benchmarks.md ("Two spinning threads on one CPU") measures: there no thread can move off the CPU.
# Usage: tools/null-call-windows.sh [--same-cpu] [WINDOWS]   (default 40; needs what ./ferry demo needs)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=()
if [ "${1:-}" = "--same-cpu" ]; then
  command -v taskset >/dev/null || { echo "null-call-windows: --same-cpu needs taskset (util-linux)" >&2; exit 2; }
  prefix=(taskset -c 0)
  export HOST_PREFIX="taskset -c 0"
  shift
fi
"$here/ferry" --version >/dev/null   # finds JDK 25, builds what is stale
JAVA_HOME=$(ls -d /usr/lib/jvm/*25* 2>/dev/null | head -n 1)
exec "${prefix[@]}" "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC \
  -cp "$here/ferry-cli/target/ferry-bench.jar" "$here/tools/null-call-windows/NullCallWindows.java" "${1:-40}"
