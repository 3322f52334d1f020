#!/usr/bin/env bash
# The GPU check, in one go, on a GPU host that has no Java or Maven (see ../shared/device/README.md).
# Runs from the .device/ bundle that tools/make-device-bundle.sh builds (this file is copied there):
#   1. probe: the CUDA devices and NVRTC (stops here, exit 2, with "no CUDA device: ..." when there is none);
#   2. the CUDA test suite with the GPU tests enabled (-Dferry.gpu=true);
#   3. the OpenCL test suite as the host is: the backend must add NVIDIA's OpenCL by itself (its library is there,
#      no .icd file in /etc/OpenCL/vendors lists it; docs/cuda.md);
#   4. ./ferry bench cuda --json $OUT/cuda-<card>.json;
#   5. the OpenCL-on-NVIDIA run of the transport bench: ./ferry bench transport --device opencl:nvidia
#      --json $OUT/transport-opencl-nvidia-<card>.json;
#   6. only when step 5 finds no NVIDIA OpenCL device: FALLBACK, steps 3 and 5 again with the old workaround (our own
#      OCL_ICD_VENDORS folder naming libnvidia-opencl.so.1), labelled so in the table; the check still fails;
#   7. a short table.
# Logs and JSON go to $OUT (default ./out). Leaves the card's settings alone (no clocks, power, MIG, resets).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
log() { echo "gpu-check: $*" | tee -a "$OUT/gpu-check.log" >&2; }

java="$here/rt/bin/java"
[ -x "$java" ] || { log "no Java runtime at $java: build the bundle with tools/make-device-bundle.sh"; exit 1; }
[ -f "$here/ferry-bench.jar" ] || { log "no ferry-bench.jar in $here"; exit 1; }

# OpenCL: the host's ICD folder lists only PoCL; the backend adds NVIDIA's by itself, unless the vendors are chosen
for v in OCL_ICD_VENDORS OPENCL_VENDOR_PATH; do
  if [ -n "${!v:-}" ]; then
    log "unsetting $v=${!v}: the check is that the backend finds NVIDIA's OpenCL by itself"
    unset "$v"
  fi
done
command -v bwrap >/dev/null 2>&1 || log "note: no bwrap here; bench transport's host (isolation: process) needs it"

# CUDA: NVRTC lives in the toolkit's library folder; the backend searches there too, this makes sure.
for d in /usr/local/cuda*/targets/*/lib /usr/local/nvidia/lib64; do
  [ -d "$d" ] && LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$(mktemp -d)}

card="unknown-gpu"
if command -v nvidia-smi >/dev/null 2>&1; then
  name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
  [ -n "$name" ] && card=$(echo "$name" | tr '[:upper:]' '[:lower:]' | sed -E 's/[^a-z0-9]+/-/g; s/^-+//; s/-+$//')
  nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true
fi
jvm=("$java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -Xss512k)
# Each step has a time limit (GPU_CHECK_STEP_S, default 300 s), so that one hung step cannot spend the device time
# of the others: the step is killed, its log says so, and the table shows it failed (exit 124).
step_s=${GPU_CHECK_STEP_S:-300}
limited() { timeout --kill-after=10 "$step_s" "$@"; local rc=$?; [ "$rc" = 124 ] && echo "gpu-check: stopped after ${step_s} s" >&2; return $rc; }
libcp=$(find "$here/lib" -name '*.jar' | sort | tr '\n' ':')

log "card: $card; OUT=$OUT"
limited "${jvm[@]}" -cp "$here/cuda/ferry-cuda.jar:$libcp" io.ferry.cuda.Probe 2>&1 | tee "$OUT/probe.txt"
probe=${PIPESTATUS[0]}
if [ "$probe" != 0 ]; then
  log "stopping: $(tail -n 1 "$OUT/probe.txt")"
  exit 2
fi

junit() { # NAME CLASSPATH SCANDIR
  local name=$1 cp=$2 scan=$3
  log "running the $name tests"
  limited "${jvm[@]}" -Dferry.gpu=true -jar "$here/junit-platform-console-standalone.jar" execute \
      --class-path "$cp" --scan-class-path "$scan" --details=tree --disable-banner \
      --reports-dir "$OUT/junit-$name" > "$OUT/tests-$name.log" 2>&1
  local rc=$?
  tail -n 20 "$OUT/tests-$name.log" | sed -n '/tests found/,$p' > "$OUT/tests-$name.summary"
  return $rc
}
junit cuda "$here/cuda/test-classes:$here/cuda/ferry-cuda.jar:$libcp" "$here/cuda/test-classes"; cuda_rc=$?
opencl_rc=skipped
if [ -d "$here/opencl/test-classes" ]; then
  junit opencl "$here/opencl/test-classes:$here/opencl/ferry-opencl.jar:$libcp" "$here/opencl/test-classes"; opencl_rc=$?
fi

json="$OUT/cuda-$card.json"
log "running ferry bench cuda"
limited "${jvm[@]}" -jar "$here/ferry-bench.jar" bench cuda --json "$json" > "$OUT/bench-cuda.log" 2>&1; bench_rc=$?

# The OpenCL-on-NVIDIA run of the transport bench; it exits 2 at once, listing the devices, when none matches.
cljson="$OUT/transport-opencl-nvidia-$card.json"
cl_bench() { # LOGNAME
  log "running ferry bench transport --device opencl:nvidia${OCL_ICD_VENDORS:+ (OCL_ICD_VENDORS=$OCL_ICD_VENDORS)}"
  limited "${jvm[@]}" -jar "$here/ferry-bench.jar" bench transport --device opencl:nvidia --json "$cljson" > "$OUT/$1.log" 2>&1
}
cl_bench bench-transport-opencl-nvidia; clbench_rc=$?
cllog="$OUT/bench-transport-opencl-nvidia.log"
cl_found=yes
if [ "$clbench_rc" = 2 ] && grep -q "no device matches" "$cllog"; then
  cl_found=no
  log "the OpenCL backend found no NVIDIA device by itself: $(grep -m 1 'no device matches' "$cllog")"
  # FALLBACK (the old workaround, to still get figures): NVIDIA's ICD in an OCL_ICD_VENDORS folder of our own
  icd=$(mktemp -d)
  trap 'rm -rf "$icd"' EXIT
  echo "libnvidia-opencl.so.1" > "$icd/nvidia.icd"
  cp /etc/OpenCL/vendors/*.icd "$icd/" 2>/dev/null || true
  export OCL_ICD_VENDORS="$icd"
  log "FALLBACK: the OpenCL tests and the transport bench again with OCL_ICD_VENDORS=$icd"
  opencl_fallback_rc=skipped
  if [ -d "$here/opencl/test-classes" ]; then
    junit opencl-fallback "$here/opencl/test-classes:$here/opencl/ferry-opencl.jar:$libcp" "$here/opencl/test-classes"
    opencl_fallback_rc=$?
  fi
  cl_bench bench-transport-opencl-nvidia-fallback; clbench_rc=$?
  cllog="$OUT/bench-transport-opencl-nvidia-fallback.log"
  unset OCL_ICD_VENDORS
fi

count() { grep -E "tests $2" "$OUT/tests-$1.summary" 2>/dev/null | grep -oE '[0-9]+' | head -n 1; }
echo
echo "GPU check on $card ($(date -u +%Y-%m-%dT%H:%MZ)); logs in $OUT"
printf '  %-22s %-8s %s\n' "step" "result" "detail"
suites="cuda opencl"
[ "$cl_found" = no ] && suites="$suites opencl_fallback"
for s in $suites; do
  rc_var=${s}_rc
  rc=${!rc_var}
  name=${s/_/-}
  label="$s tests"
  [ "$s" = opencl_fallback ] && label="opencl tests FALLBACK"
  if [ "$rc" = skipped ]; then printf '  %-22s %-8s %s\n' "$label" "skipped" "no test classes in bundle"; continue; fi
  printf '  %-22s %-8s %s\n' "$label" "$([ "$rc" = 0 ] && echo PASS || echo FAIL)" \
    "$(count "$name" successful) passed, $(count "$name" failed) failed, $(count "$name" aborted) skipped by assumption"
done
if [ "$cl_found" = yes ]; then
  added=$(cat "$OUT/tests-opencl.log" "$cllog" 2>/dev/null | grep -m 1 -o "added NVIDIA's OpenCL from [^ ]*")
  printf '  %-22s %-8s %s\n' "opencl finds nvidia" "PASS" "without OCL_ICD_VENDORS${added:+; $added}"
else
  printf '  %-22s %-8s %s\n' "opencl finds nvidia" "FAIL" "no NVIDIA OpenCL device without OCL_ICD_VENDORS (rows marked FALLBACK used it)"
fi
printf '  %-22s %-8s %s\n' "bench cuda" "$([ "$bench_rc" = 0 ] && echo PASS || echo FAIL)" "$json"
if [ "$bench_rc" = 0 ]; then
  sed -n '/cuda benchmark/,/SGEMM/p' "$OUT/bench-cuda.log"
else
  tail -n 5 "$OUT/bench-cuda.log"
fi
printf '  %-22s %-8s %s\n' "bench transport cl-nv" "$([ "$clbench_rc" = 0 ] && echo PASS || echo FAIL)" \
  "$cljson$([ "$cl_found" = no ] && echo ' (FALLBACK: with OCL_ICD_VENDORS)')"
if [ "$clbench_rc" = 0 ]; then
  sed -n '/transport benchmark/,/host RSS/p' "$cllog"
else
  tail -n 5 "$cllog"
fi
[ "$cuda_rc" = 0 ] && [ "$bench_rc" = 0 ] && { [ "$opencl_rc" = 0 ] || [ "$opencl_rc" = skipped ]; } \
  && [ "$cl_found" = yes ] && [ "$clbench_rc" = 0 ]
