#!/usr/bin/env bash
# Prints one line per GEGL operation (GIMP's image-processing library, run by its own command-line tool):
# NAME rc=RC MD5 of the output image, and GEGL's first warning. GEGL_USE_OPENCL=cpu makes GEGL run the operations it
# has OpenCL kernels for on an OpenCL CPU device; on a failed OpenCL call it warns and falls back to its C code, so a
# fault shows as a warning or, where the two paths round differently, as another MD5. The platform is whatever the
# environment gives (OCL_ICD_VENDORS): run it once on the host's own OpenCL and once through Ferry (apps.sh does).
# Needs Debian's gegl. Left out: gegl:c2g, whose output differs from run to run on any platform (random sampling).
set -u
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
# The input, made without OpenCL: a colour plasma (several tiles), and a large one for the chain at the end.
GEGL_USE_OPENCL=no gegl -o "$w/in.png" -- gegl:plasma width=640 height=480 >/dev/null 2>&1
GEGL_USE_OPENCL=no gegl -o "$w/big.png" -- gegl:plasma width=2048 height=1536 seed=7 >/dev/null 2>&1
run() {
    local name=$1 input=$2 rc; shift 2
    rm -f "$w/out.png"
    GEGL_USE_OPENCL=cpu timeout 600 gegl "$input" -o "$w/out.png" -- "$@" >"$w/err" 2>&1; rc=$?
    # GEGL's own warnings, without pids and times; not its buffer-leak report at exit, which comes either way
    echo "$name rc=$rc $(md5sum < "$w/out.png" 2>/dev/null | cut -c1-16)" \
         "$(grep -E 'WARNING|CRITICAL|[Ee]rror' "$w/err" | grep -v -e 'leaked' -e 'tile_cache_destroy' \
            | sed -E 's/\(gegl:[0-9]+\)//; s/[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+//' | head -1)"
}
for op in alien-map bilateral-filter box-blur brightness-contrast color-temperature color-to-alpha contrast-curve \
          difference-of-gaussians edge-laplace edge-sobel emboss exposure gaussian-blur gaussian-blur-selective \
          high-pass invert-gamma invert-linear levels mean-curvature-blur median-blur mono-mixer motion-blur-linear \
          noise-cie-lch noise-hsv noise-hurl noise-reduction noise-rgb oilify opacity pixelize posterize saturation \
          sepia snn-mean stretch-contrast threshold unsharp-mask value-invert vignette weighted-blend; do
    run "$op" "$w/in.png" "gegl:$op"
done
run chain-2048x1536 "$w/big.png" gegl:motion-blur-linear length=20 gegl:oilify gegl:vignette gegl:snn-mean \
    gegl:noise-reduction gegl:alien-map gegl:box-blur radius=5
