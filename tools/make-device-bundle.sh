#!/usr/bin/env bash
# Builds .device/: what the GPU check needs on a GPU host without Java or Maven (../shared/device/README.md):
#   rt/                                  a Java 25 runtime (../shared/device/make-runtime.sh)
#   ferry-bench.jar                      the runnable jar with the benchmarks (./ferry bench cuda)
#   cuda/ferry-cuda.jar, cuda/test-classes/      the CUDA backend and its tests (GPU tests included)
#   opencl/ferry-opencl.jar, opencl/test-classes/ the OpenCL backend and its tests
#   lib/                                 the tests' dependency jars (Ferry modules; JUnit comes with the console)
#   junit-platform-console-standalone.jar
#   gpu-check.sh                         copied from tools/gpu-check.sh
# Usage: tools/make-device-bundle.sh [OUT_DIR]   (default .device; FERRY_SHARED: the shared folder, default ../shared;
#        FERRY_BUILD=0 uses the jars already built instead of running mvn install -DskipTests)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$here/.device}
shared=${FERRY_SHARED:-$here/../shared}
junit_version=6.1.3
die() { echo "make-device-bundle: $*" >&2; exit 1; }

if [ -z "${JAVA_HOME:-}" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep '"2[5-9]' >/dev/null; then
  JAVA_HOME=$(ls -d /usr/lib/jvm/*25* 2>/dev/null | head -n 1)
fi
[ -x "${JAVA_HOME:-}/bin/jlink" ] || die "no JDK 25 found (set JAVA_HOME)"
export JAVA_HOME
[ -x "$shared/device/make-runtime.sh" ] || [ -f "$shared/device/make-runtime.sh" ] \
  || die "no $shared/device/make-runtime.sh (set FERRY_SHARED to the shared folder)"
mvn=(mvn -B -q -f "$here/pom.xml")

if [ "${FERRY_BUILD:-1}" != 0 ]; then
  echo "make-device-bundle: building (mvn install -DskipTests)..."
  "${mvn[@]}" -o install -DskipTests || "${mvn[@]}" install -DskipTests || die "build failed"
fi
jar="$here/ferry-cli/target/ferry-bench.jar"
[ -f "$jar" ] || die "no $jar: build with ./ferry help or mvn install -DskipTests"
[ -d "$here/ferry-cuda/target/test-classes" ] || die "ferry-cuda is not built: mvn -f ferry-cuda/pom.xml install"

rm -rf "$out"
mkdir -p "$out/lib" "$out/cuda" "$out/opencl"
echo "make-device-bundle: Java runtime..."
bash "$shared/device/make-runtime.sh" "$out/rt" jdk.zipfs,java.xml >/dev/null
# The runtime's native libraries carry their symbol tables (libjvm.so: 30 MB, 25 MB without): the bundle has 64 MiB.
if command -v strip >/dev/null 2>&1; then
  find "$out/rt/lib" -name '*.so' -exec strip --strip-unneeded {} + 2>/dev/null || true
fi

cp "$jar" "$out/ferry-bench.jar"
# What the GPU check never runs: Jazzer's API (the driver is in no jar of Ferry), the dashboard's scripts, other platforms'
# native libraries. (bench cuda and bench transport are checked from such a jar: docs/cuda.md, "Running the GPU check")
if command -v zip >/dev/null 2>&1; then
  zip -q -d "$out/ferry-bench.jar" 'com/code_intelligence/*' 'META-INF/resources/webjars/*' '*aarch64*' '*arm64*' \
      'win32-*' 'darwin*' >/dev/null 2>&1 || true
else
  echo "make-device-bundle: no zip: ferry-bench.jar keeps the dashboard's scripts; the bundle may pass 64 MiB" >&2
fi
if ! "$JAVA_HOME/bin/jar" tf "$jar" | grep 'io/ferry/cuda/CudaBackend.class' >/dev/null; then
  echo "make-device-bundle: WARNING: ferry-bench.jar has no CUDA backend (add ferry-cuda to the parent pom's modules and to" \
       "ferry-cli's and ferry-bench's dependencies); 'bench cuda' will not work from it" >&2
fi
if ! "$JAVA_HOME/bin/jar" tf "$jar" | grep 'io/ferry/bench/CudaBench.class' >/dev/null; then
  echo "make-device-bundle: WARNING: ferry-bench.jar has no CudaBench (ferry-bench needs the ferry-cuda dependency)" >&2
fi

cp "$here"/ferry-cuda/target/ferry-cuda-*-SNAPSHOT.jar "$out/cuda/ferry-cuda.jar" 2>/dev/null \
  || cp "$(ls "$here"/ferry-cuda/target/ferry-cuda-*.jar | grep -v tests | head -n 1)" "$out/cuda/ferry-cuda.jar"
cp -r "$here/ferry-cuda/target/test-classes" "$out/cuda/test-classes"
if [ -d "$here/ferry-opencl/target/test-classes" ]; then
  cp "$(ls "$here"/ferry-opencl/target/ferry-opencl-*.jar | grep -v tests | head -n 1)" "$out/opencl/ferry-opencl.jar"
  cp -r "$here/ferry-opencl/target/test-classes" "$out/opencl/test-classes"
fi

echo "make-device-bundle: test dependencies..."
deps() { # MODULE
  local args=(-f "$here/$1/pom.xml" dependency:copy-dependencies -DincludeScope=test -DoutputDirectory="$out/lib"
              -DexcludeGroupIds=org.junit.jupiter,org.junit.platform,org.opentest4j,org.apiguardian,org.junit)
  mvn -B -q -o "${args[@]}" >/dev/null 2>&1 || mvn -B -q "${args[@]}"
}
deps ferry-cuda
[ -d "$out/opencl/test-classes" ] && deps ferry-opencl
rm -f "$out"/lib/ferry-cuda-*.jar "$out"/lib/ferry-opencl-*.jar

echo "make-device-bundle: JUnit console..."
art=org.junit.platform:junit-platform-console-standalone:$junit_version
mvn -B -q -o dependency:copy -Dartifact=$art -DoutputDirectory="$out" >/dev/null 2>&1 \
  || mvn -B -q dependency:copy -Dartifact=$art -DoutputDirectory="$out" || die "could not fetch $art"
mv "$out/junit-platform-console-standalone-$junit_version.jar" "$out/junit-platform-console-standalone.jar"

cp "$here/tools/gpu-check.sh" "$out/gpu-check.sh"
chmod +x "$out/gpu-check.sh"

size=$(du -sm "$out" | cut -f1)
echo "make-device-bundle: $out is ${size} MiB ($(du -sh "$out" | cut -f1))"
[ "$size" -le 64 ] || die "the bundle is over 64 MiB"
echo "make-device-bundle: on the GPU host run:  OUT=/some/dir $out/gpu-check.sh"
