# Sourced by apps.sh and suites.sh once they have set $here: checks that a guest's environment is set, builds the ICD
# if it is missing, and makes $vendors (a vendors directory naming only Ferry's ICD, for OCL_ICD_VENDORS) and $out
# (scratch), both removed at exit. Sets $root, the repository.
root=$(cd "$here/../.." && pwd)
[ -n "${FERRY_GUEST:-}${FERRY_HOST:-}${FERRY_URL:-}" ] \
    || { echo "$(basename "$0"): set the guest's FERRY_* environment" >&2; exit 2; }
[ -f "$root/ferry-icd/build/libferry-opencl.so" ] || make -s -C "$root/ferry-icd" >&2
vendors=$(mktemp -d)
out=$(mktemp -d)
trap 'rm -rf "$vendors" "$out"' EXIT
echo "$root/ferry-icd/build/libferry-opencl.so" > "$vendors/ferry.icd"
