#!/usr/bin/env bash
# Prints one line per ffmpeg OpenCL filter chain: NAME rc=RC MD5 of the frames (framemd5 of the output, stderr apart).
# The OpenCL platform is whatever the environment gives (OCL_ICD_VENDORS): run it once on the host's own OpenCL and
# once through Ferry, and compare (tools/compat/apps.sh does). Needs Debian's ffmpeg (built with --enable-opencl).
set -u
k=$(mktemp --suffix=.cl)
trap 'rm -f "$k"' EXIT
cat > "$k" <<'K'
__kernel void ramp(__write_only image2d_t dst, unsigned int index) {
    int2 p = (int2)(get_global_id(0), get_global_id(1));
    float v = (float)((p.x + p.y + index) % 256) / 255.0f;
    write_imagef(dst, p, (float4)(v, 0.5f, 1.0f - v, 1.0f));
}
K
H=(-hide_banner -loglevel error -init_hw_device opencl=ocl:0.0 -filter_hw_device ocl)
S="testsrc2=size=320x240:rate=10:duration=1"
run() {
    local name=$1; shift
    local frames rc
    local err
    err=$(mktemp)
    frames=$(timeout 600 ffmpeg "${H[@]}" "$@" -f framemd5 - 2>"$err"); rc=$?
    # ffmpeg's own error lines (not the compiler's warnings a platform may print), without object addresses
    echo "$name rc=$rc $(grep -v '^#' <<<"$frames" | md5sum | cut -c1-16)" \
         "$(grep -E '^\[' "$err" | grep -vi warning | sed 's/ @ 0x[0-9a-f]*//' | head -1)"
    rm -f "$err"
}
one() { local f=$1; run "${f%%=*}" -f lavfi -i "$S,format=yuv420p" -vf "hwupload,$f,hwdownload,format=yuv420p"; }
one "avgblur_opencl=sizeX=3"
one "boxblur_opencl=luma_radius=2"
one "convolution_opencl=0 1 0 1 -4 1 0 1 0:0 1 0 1 -4 1 0 1 0:0 1 0 1 -4 1 0 1 0:0 1 0 1 -4 1 0 1 0"
one "dilation_opencl"
one "erosion_opencl"
one "prewitt_opencl"
one "roberts_opencl"
one "sobel_opencl"
one "unsharp_opencl"
one "nlmeans_opencl"
one "transpose_opencl=dir=clock"
one "pad_opencl=w=400:h=300:x=10:y=10"
one "deshake_opencl"
run overlay_opencl -f lavfi -i "$S,format=yuv420p" -f lavfi -i "testsrc=size=100x80:rate=10:duration=1,format=yuva420p" \
    -filter_complex "[0]hwupload[a];[1]hwupload[b];[a][b]overlay_opencl=x=20:y=30,hwdownload,format=yuv420p"
run xfade_opencl -f lavfi -i "$S,format=yuv420p" -f lavfi -i "smptebars=size=320x240:rate=10:duration=1,format=yuv420p" \
    -filter_complex "[0]hwupload[a];[1]hwupload[b];[a][b]xfade_opencl=transition=wipeleft:duration=0.5:offset=0.2,hwdownload,format=yuv420p"
run colorkey_opencl -f lavfi -i "$S,format=rgba" -vf "hwupload,colorkey_opencl=color=0x000000:similarity=0.3,hwdownload,format=rgba"
run openclsrc -filter_complex "openclsrc=source=$k:kernel=ramp:size=160x120:format=rgba:rate=10,trim=end_frame=5,hwdownload,format=rgba"
run remap_opencl -f lavfi -i "$S,format=yuv420p" \
    -f lavfi -i "color=c=0x000010:size=320x240:rate=10:duration=1,format=gray16le" \
    -f lavfi -i "color=c=0x000010:size=320x240:rate=10:duration=1,format=gray16le" \
    -filter_complex "[0]hwupload[a];[1]hwupload[x];[2]hwupload[y];[a][x][y]remap_opencl,hwdownload,format=yuv420p"
# PoCL 3.1 refuses this one's 16-bit chroma plane (clCreateImage: CL_INVALID_OPERATION); the same refusal both ways
run tonemap_opencl -f lavfi -i "$S,format=p010le" -vf "setparams=color_primaries=bt2020:color_trc=smpte2084:colorspace=bt2020nc,hwupload,tonemap_opencl=tonemap=hable:format=nv12:t=bt709:m=bt709:p=bt709,hwdownload,format=nv12"
