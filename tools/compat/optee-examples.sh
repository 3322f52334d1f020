#!/usr/bin/env bash
# OP-TEE's example client programs (optee_examples: hello_world, random, secure_storage, hotp, aes, acipher, base_sha, ecdh), which
# nobody here wrote, built unmodified against Ferry's tee_client_api.h and libteec and run against a Ferry host whose
# software TEE serves the ports of their TAs (io.ferry.tee.ta.examples; docs/tee.md, "OP-TEE's example TAs").
# Usage: tools/compat/optee-examples.sh OPTEE_EXAMPLES_DIR
#   OPTEE_EXAMPLES_DIR: a checkout of https://github.com/linaro-swg/optee_examples (only NAME/host/main.c and
#   NAME/ta/include/*.h are used). Starts a host of its own in a temporary directory (needs bubblewrap, as every
#   host with the TEE does), prints one line per check and ends with "optee-examples: N verified, M failed".
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
ex=${1:?usage: optee-examples.sh OPTEE_EXAMPLES_DIR (a checkout of linaro-swg/optee_examples)}
ex=$(cd "$ex" && pwd) || exit 2
make -s -C "$here/ferry-icd" >/dev/null || { echo "optee-examples: make -C ferry-icd failed" >&2; exit 2; }
dir=$(mktemp -d /tmp/ferry-optee-examples.XXXXXX)
trap 'kill -- "-$(cat "$dir/host.pid" 2>/dev/null)" 2>/dev/null; sleep 1; rm -rf "$dir"' EXIT
(cd "$dir" && "$here/ferry" guest add ex -c ferry.yaml --services compute,tee >/dev/null 2>&1) \
    || { echo "optee-examples: ferry guest add failed" >&2; exit 2; }
sed -i "s#^regionDir: .*#regionDir: $dir/regions#; s#^adminSocket: .*#adminSocket: $dir/admin.sock#; s#^socket: .*#socket: $dir/guest.sock#" "$dir/ferry.yaml"
echo "tee: {dir: $dir/tee, policy: $dir/tee.policy}" >> "$dir/ferry.yaml"
echo "allow guest=ex ta=* login=public" > "$dir/tee.policy"
grep '^  secret:' "$dir/ferry.yaml" | head -1 | awk '{print $2}' | base64 -d > "$dir/secret"; chmod 600 "$dir/secret"
(cd "$dir" && { setsid "$here/ferry" host -c ferry.yaml </dev/null >"$dir/host.log" 2>&1 & echo $! >"$dir/host.pid"; })
for _ in $(seq 1 150); do [ -S "$dir/guest.sock" ] && break; sleep 0.2; done
[ -S "$dir/guest.sock" ] || { echo "optee-examples: the host did not start:" >&2; tail -20 "$dir/host.log" >&2; exit 2; }
export FERRY_HOST=unix:$dir/guest.sock FERRY_GUEST=ex FERRY_SECRET_FILE=$dir/secret FERRY_LOG=1

ok=0; bad=0
verdict() { # NAME WHAT CONDITION-RESULT
    if [ "$3" = 0 ]; then ok=$((ok + 1)); echo "verified $1: $2"; else bad=$((bad + 1)); echo "FAILED   $1: $2"; fi
}
for name in hello_world random secure_storage hotp aes acipher base_sha ecdh; do
    src=$ex/$name/host/main.c
    if [ ! -f "$src" ]; then verdict "$name" "no $src" 1; continue; fi
    if ! cc -std=gnu11 -O1 -I "$here/ferry-icd/teec/include" -I "$ex/$name/ta/include" -o "$dir/$name" "$src" \
            -L "$here/ferry-icd/build" -lteec -Wl,-rpath,"$here/ferry-icd/build" 2>"$dir/$name.cc"; then
        verdict "$name" "does not build: $(head -3 "$dir/$name.cc" | tr '\n' ' ')" 1; continue
    fi
    case $name in
        acipher) args=(1024 "Ferry runs OP-TEE's acipher") ;;
        base_sha) args=("Ferry runs OP-TEE's base_sha" TA_ALG_SHA256) ;;
        *) args=() ;;
    esac
    timeout 120 "$dir/$name" "${args[@]}" >"$dir/$name.out" 2>"$dir/$name.err"; rc=$?
    out=$dir/$name.out
    case $name in
        hello_world) grep -q '^TA incremented value to 43$' "$out"; c=$? ;;
        random) grep -Eq '^TA generated UUID value = 0x[0-9a-f]+$' "$out"; c=$? ;;
        secure_storage) grep -q "^We're done, close and release TEE resources$" "$out"; c=$? ;;
        hotp) [ "$(grep -c '^HOTP: ' "$out")" = 10 ] && ! grep -q 'unexpected HOTP' "$dir/$name.err"; c=$? ;;
        aes) grep -q '^Clear text and decoded text match$' "$out"; c=$? ;;
        acipher) [ "$(grep '^Encrypted buffer: ' "$out" | tr ' ' '\n' | grep -Ec '^[0-9a-f]{2}$')" = 128 ]; c=$? ;;
        ecdh) # P-384, the client's curve: a 48-byte secret, printed as 96 hex digits
            grep -q '^ECDH shared secret (48 bytes) on curve id 3:$' "$out" \
                && [ "$(grep -E '^[0-9a-f]+$' "$out" | tr -d '\n' | wc -c)" = 96 ]; c=$? ;;
        base_sha) # the digest the TA printed, against sha256sum's of the same string
            want=$(printf '%s' "${args[0]}" | sha256sum | cut -c1-64)
            [ "$(grep '^digest:' "$out" | sed 's/^digest://; s/ //g')" = "$want" ]; c=$? ;;
    esac
    [ "$rc" = 0 ] || c=1
    verdict "$name" "exit $rc, $(tail -1 "$out" | cut -c1-70)" "$c"
    [ "$c" = 0 ] || { sed 's/^/    /' "$dir/$name.out" "$dir/$name.err" | tail -8; }
done
# secure_storage keeps object#2 between runs: the second run finds it and deletes it
if [ -x "$dir/secure_storage" ]; then
    timeout 120 "$dir/secure_storage" >"$dir/ss2.out" 2>&1; rc=$?
    grep -q 'Object found in TA secure storage, delete it.' "$dir/ss2.out"; c=$?
    [ "$rc" = 0 ] || c=1
    verdict secure_storage "a second run finds the object the first stored, and deletes it" "$c"
fi
echo "optee-examples: $ok verified, $bad failed"
[ "$bad" = 0 ]
