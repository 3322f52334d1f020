#!/usr/bin/env bash
# The test suites of OpenCL libraries nobody here wrote, run unmodified on the host's own OpenCL and through Ferry's
# ICD, the outcome of every test compared (docs/benchmarks.md, "Libraries' own test suites through the ICD"):
#   PyOpenCL's own pytest suite (test_wrapper, test_array, test_algorithm, test_clmath, test_clrandom, ...), as
#   Debian ships it in python-pyopencl-doc; and CLBlast's correctness tests (clblast-tests: each routine against a
#   reference BLAS, for every precision the device has), a subset of routines from each BLAS level (SUITES_CLBLAST
#   names others).
# Usage: with a guest's environment (FERRY_HOST, FERRY_GUEST, FERRY_SECRET_FILE; e.g. from
# ferry-icd/tests/dev-host.sh start DIR):  tools/compat/suites.sh [pyopencl] [clblast]   (default: both)
# NATIVE_VENDORS (default /etc/OpenCL/vendors) names the host's own vendors directory.
# The guest needs an overrunLimit above the suites' longest kernel: PyOpenCL's 10-million-number Ranlux draw runs
# about 2.5 s on a 2-core CPU device, over the default 2 s, and the host's watchdog then stops the process's device
# worker and every later test fails. Give the guest more (ferry guest add NAME --overrun-limit 30s; dev-host.sh's
# guest has 30 s).
# Needs: apt-get install python3-pyopencl python-pyopencl-doc python3-pytest python3-mako clblast-tests.
# Prints SAME or DIFFERS per test (PyOpenCL) or per routine and precision (CLBlast), then "suites: N same, M differ".
# Takes about 10 min per side for PyOpenCL on a 2-core machine, 2 min for the CLBlast subset.
set -u
here=$(cd "$(dirname "$0")" && pwd)
native=${NATIVE_VENDORS:-/etc/OpenCL/vendors}
which=${*:-pyopencl clblast}
. "$here/guest_setup.sh"
examples=/usr/share/doc/python-pyopencl-doc/examples
routines=${SUITES_CLBLAST:-xaxpy xdot xnrm2 xamax xswap xscal xcopy xasum xgemv xger xsymv xtrsv xtbmv xgemm xsyrk
    xher2k xim2col xcol2im xomatcopy xhad xaxpybatched}
same=0; differ=0

# One line per test: "NAME OUTCOME", the platform's name taken out of the test's parameters.
pyopencl() {
    local dir=$1 work
    work=$(mktemp -d -p "$out")
    cp "$examples"/test_*.py "$examples"/*.spv "$examples"/empty-header.h "$work"/ 2>/dev/null
    (cd "$work" && OCL_ICD_VENDORS=$dir timeout 3600 /usr/bin/python3 -m pytest -q -rA -p no:cacheprovider \
        test_*.py 2>&1) \
        | sed -E -e "s/<context factory for <pyopencl.Device '[^']*' on '[^']*'>>/DEVICE/g" \
                 -e "s/<pyopencl.Platform '[^']*' at 0x[0-9a-f]+>/PLATFORM/g" -e "s/<pyopencl.Device '[^']*' on '[^']*' at 0x[0-9a-f]+>/DEVICE/g" \
        | awk '/^SKIPPED \[[0-9]+\] / { l = $0; sub(/^SKIPPED \[[0-9]+\] /, "", l); at = index(l, ": ");
                                            r = substr(l, at + 2); gsub(/ /, "_", r); print substr(l, 1, at - 1) ":" r, "SKIPPED"; next }
               /^(PASSED|FAILED|ERROR|XFAIL|XPASS) / { print $2, $1 }' \
        | sort
}

# One line per routine and precision: "ROUTINE PRECISION passed P skipped S failed F".
clblast() {
    local dir=$1 r
    for r in $routines; do
        OCL_ICD_VENDORS=$dir timeout 900 "clblast_test_$r" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' | awk -v r="$r" '
            /Starting tests for the/ { match($0, /\x27[A-Za-z0-9]+\x27/); p = substr($0, RSTART + 1, RLENGTH - 2) }
            /All tests skipped/ { print r, p, "skipped:", $0 ~ /precision/ ? "precision" : "other" }
            /test\(s\) passed/ { ok = $1 } /test\(s\) skipped/ { sk = $1 }
            /test\(s\) failed/ { print r, p, "passed", ok, "skipped", sk, "failed", $1 }'
    done
}

for suite in $which; do
    case $suite in
        pyopencl) [ -d "$examples" ] || { echo "suites.sh: $examples missing (apt-get install python-pyopencl-doc)" >&2; exit 2; } ;;
        clblast) command -v clblast_test_xgemm > /dev/null || { echo "suites.sh: apt-get install clblast-tests" >&2; exit 2; } ;;
        *) echo "suites.sh: unknown suite '$suite' (pyopencl, clblast)" >&2; exit 2 ;;
    esac
    "$suite" "$native" > "$out/$suite.native"
    "$suite" "$vendors" > "$out/$suite.ferry"
    for side in native ferry; do
        if [ "$suite" = pyopencl ]; then
            echo "$suite, $side:$(awk '{print $NF}' "$out/$suite.$side" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
        else
            awk -v s="$suite, $side" '{ for (i = 3; i <= NF; i++) { if ($i == "passed") p += $(i + 1);
                                         if ($i == "failed") f += $(i + 1); if ($i == "skipped:") n++ } }
                END { print s ": " p + 0 " tests passed, " f + 0 " failed, " n + 0 " routine/precision pairs the device lacks" }' \
                "$out/$suite.$side"
        fi
    done
    # every test of either side, by name: the same outcome both ways, or not
    while IFS= read -r name; do
        if [ "$suite" = pyopencl ]; then
            a=$(awk -v t="$name" '$1 == t {print $2}' "$out/$suite.native")
            b=$(awk -v t="$name" '$1 == t {print $2}' "$out/$suite.ferry")
        else
            a=$(awk -v t="$name" '$1 " " $2 == t {$1 = $2 = ""; print}' "$out/$suite.native")
            b=$(awk -v t="$name" '$1 " " $2 == t {$1 = $2 = ""; print}' "$out/$suite.ferry")
        fi
        if [ "$a" = "$b" ]; then same=$((same + 1)); echo "SAME    $suite $name:$a"
        else differ=$((differ + 1)); echo "DIFFERS $suite $name: native${a:+:}${a:- (absent)} | ferry${b:+:}${b:- (absent)}"; fi
    done < <(cat "$out/$suite.native" "$out/$suite.ferry" | if [ "$suite" = pyopencl ]; then awk '{print $1}'; else awk '{print $1 " " $2}'; fi | sort -u)
done
echo "suites: $same same, $differ differ"
[ "$differ" = 0 ]
