#!/usr/bin/env bash
# Real OpenCL applications nobody here wrote, run unmodified on the host's own OpenCL and through Ferry's ICD, the
# results compared line by line (docs/benchmarks.md, "Applications through the ICD"):
#   ffmpeg's OpenCL filters (ffmpeg_opencl.sh), OpenCV's transparent API (opencv_tapi.py) and Boost.Compute's
#   algorithms (boost_compute.cpp, built here), hashcat cracking an MD5 by brute force (its OpenCL kernels), and
#   GEGL's OpenCL operations (gegl_opencl.sh: GIMP's image library through its own command-line tool), and Aparapi
#   (Java bytecode compiled to OpenCL by its own JNI library; AparapiCompat.java, its jars fetched with Maven).
# Usage: with a guest's environment (FERRY_HOST, FERRY_GUEST, FERRY_SECRET_FILE; e.g. from
# ferry-icd/tests/dev-host.sh start DIR):  tools/compat/apps.sh [NATIVE_VENDORS_DIR (default /etc/OpenCL/vendors)]
# APPS="gegl boost" runs only those (default: all six).
# The guest's device-memory quota per lane must be 1 GiB or more: the device reports it as its memory, and hashcat
# declines a smaller device ("Not enough allocatable device memory"). dev-host.sh gives its 4 lanes 4 GiB.
# Needs: apt-get install ffmpeg python3-opencv libboost-dev g++ opencl-headers ocl-icd-opencl-dev hashcat gegl, and maven with a JDK for Aparapi. Prints SAME or DIFFERS per line, then "compat: N same, M differ".
set -u
here=$(cd "$(dirname "$0")" && pwd)
native=${1:-/etc/OpenCL/vendors}
. "$here/guest_setup.sh"
g++ -O2 -std=c++17 -DCL_TARGET_OPENCL_VERSION=120 -o "$out/boost_compute" "$here/boost_compute.cpp" -lOpenCL || exit 2
m2=${M2_REPO:-$HOME/.m2/repository}
jdk=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
aparapi_cp=$m2/com/aparapi/aparapi/3.0.2/aparapi-3.0.2.jar:$m2/com/aparapi/aparapi-jni/1.4.3/aparapi-jni-1.4.3.jar:$m2/org/apache/bcel/bcel/6.5.0/bcel-6.5.0.jar
if [[ " ${APPS:-aparapi} " == *" aparapi "* ]]; then
    for a in com.aparapi:aparapi:3.0.2 com.aparapi:aparapi-jni:1.4.3 org.apache.bcel:bcel:6.5.0; do
        mvn -q -B dependency:get -Dartifact=$a >/dev/null 2>&1 || { echo "apps.sh: could not fetch $a with Maven" >&2; exit 2; }
    done
    "$jdk/bin/javac" -nowarn -g -cp "$aparapi_cp" -d "$out/aparapi" "$here/AparapiCompat.java" 2>/dev/null || exit 2
fi
export OPENCV_OPENCL_DEVICE=${OPENCV_OPENCL_DEVICE:-:CPU:}
same=0; differ=0
for app in ${APPS:-ffmpeg opencv boost hashcat gegl aparapi}; do
    for side in native ferry; do
        dir=$native; [ $side = ferry ] && dir=$vendors
        case $app in
            ffmpeg) OCL_ICD_VENDORS=$dir "$here/ffmpeg_opencl.sh" > "$out/$app.$side" ;;
            opencv) OCL_ICD_VENDORS=$dir /usr/bin/python3 "$here/opencv_tapi.py" 2>/dev/null > "$out/$app.$side" ;;
            boost) OCL_ICD_VENDORS=$dir "$out/boost_compute" 2>/dev/null > "$out/$app.$side" ;;
            gegl) OCL_ICD_VENDORS=$dir "$here/gegl_opencl.sh" > "$out/$app.$side" ;;
            aparapi) OCL_ICD_VENDORS=$dir timeout 600 "$jdk/bin/java" --enable-native-access=ALL-UNNAMED \
                    -cp "$aparapi_cp:$out/aparapi" AparapiCompat 2>/dev/null > "$out/$app.$side" ;;
            hashcat) # md5("abc") from the mask ?l?l?l; --force: hashcat warns about CPU OpenCL devices
                (cd "$out" && OCL_ICD_VENDORS=$dir timeout 900 hashcat -m 0 -a 3 900150983cd24fb0d6963f7d28e17f72 \
                    '?l?l?l' --force -O --potfile-disable --quiet --backend-ignore-cuda --backend-ignore-hip \
                    2>/dev/null; echo "hashcat rc=$?") > "$out/$app.$side" ;;
        esac
    done
    while IFS= read -r n && IFS= read -r f <&3; do
        [[ $n == device* ]] && continue
        if [ "$n" = "$f" ]; then same=$((same + 1)); echo "SAME    $app $n"
        else differ=$((differ + 1)); echo "DIFFERS $app native: $n | ferry: $f"; fi
    done < "$out/$app.native" 3< "$out/$app.ferry"
    [ "$(wc -l < "$out/$app.native")" = "$(wc -l < "$out/$app.ferry")" ] \
        || { differ=$((differ + 1)); echo "DIFFERS $app: $(wc -l < "$out/$app.native") lines native, $(wc -l < "$out/$app.ferry") through Ferry"; }
done
echo "compat: $same same, $differ differ"
[ "$differ" = 0 ]
