#!/usr/bin/env bash
# Builds the base of Ferry's VM guest image from Debian packages, once, into OUT_DIR:
#   OUT_DIR/vmlinuz        Debian's 6.1 kernel (linux-image-6.1.0-N-amd64, unpacked with dpkg -x)
#   OUT_DIR/base.cpio      an uncompressed newc initramfs: busybox (static), a jlinked Java runtime with the
#                          shared libraries it needs (copied from this machine), and tools/vm/init as /init
#   OUT_DIR/stamp          what the image was built from (the Java side rebuilds when it changes)
# The per-run part (Ferry's jar, the guest's arguments) is a second cpio archive that the caller appends: the kernel
# unpacks concatenated archives in order.
# Usage: build-image.sh OUT_DIR STAMP        (STAMP: any text; written to OUT_DIR/stamp when the build succeeds)
# Needs: apt-get + dpkg (Debian/Ubuntu), cpio, a JDK 25 with jlink (JAVA_HOME or /usr/lib/jvm/*25*).
# Env:   FERRY_VM_KERNEL_PKG  a kernel package to use instead of the one linux-image-amd64 depends on.
set -euo pipefail
out=${1:?usage: build-image.sh OUT_DIR STAMP}
stamp=${2:?usage: build-image.sh OUT_DIR STAMP}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
say() { echo "vm-image: $*" >&2; }
die() { echo "vm-image: error: $*" >&2; exit 1; }

for t in apt-get apt-cache dpkg cpio ldd; do
  command -v "$t" >/dev/null || die "$t is missing (this script builds from Debian packages; on Debian/Ubuntu: apt-get install -y --no-install-recommends cpio)"
done

# The JDK: same rule as shared/device/make-runtime.sh (JAVA_HOME when it is 25+, else /usr/lib/jvm/*25*).
jdk=${JAVA_HOME:-}
if [ -z "$jdk" ] || ! "$jdk/bin/java" -version 2>&1 | grep '"2[5-9]' >/dev/null; then
  jdk=$(ls -d /usr/lib/jvm/*25* 2>/dev/null | head -n 1)
fi
[ -x "$jdk/bin/jlink" ] || die "no JDK 25 with jlink found (set JAVA_HOME)"

mkdir -p "$out"
work=$(mktemp -d "$out/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

download() { # PKG: apt-get download, refreshing the package lists once when they are missing or stale
  if ! apt-get download -q "$1" >/dev/null 2>apt.err; then
    if [ "$(id -u)" = 0 ]; then
      say "apt-get download $1 failed; running apt-get update and retrying"
      apt-get update -qq >&2 || true
      apt-get download -q "$1" >/dev/null 2>apt.err || die "apt-get download $1 failed: $(cat apt.err)"
    else
      die "apt-get download $1 failed: $(cat apt.err) (as root, run apt-get update first)"
    fi
  fi
}

# 1. Kernel: the one Debian's linux-image-amd64 points at, else the newest linux-image-6.1.0-N-amd64.
kpkg=${FERRY_VM_KERNEL_PKG:-}
if [ -z "$kpkg" ]; then
  kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1)
fi
if [ -z "$kpkg" ]; then
  kpkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | awk '{print $1}' | sort -V | tail -n 1)
fi
[ -n "$kpkg" ] || die "no Debian kernel package found (apt-cache search linux-image-6.1.0; run apt-get update)"
say "kernel: $kpkg"
download "$kpkg"
dpkg -x ./"$kpkg"_*.deb kernel
vmlinuz=$(ls kernel/boot/vmlinuz-* | head -n 1)
[ -f "$vmlinuz" ] || die "$kpkg holds no /boot/vmlinuz-*"

# The modules for the ivshmem-doorbell's interrupts (docs/vm.md): vfio-pci and what it needs, in load order. Debian's
# 6.1 modules are uncompressed .ko files, so busybox's insmod loads them; init loads them from /lib/modules/ferry.
vfio_modules="virt/lib/irqbypass.ko drivers/vfio/vfio.ko drivers/vfio/vfio_iommu_type1.ko drivers/vfio/vfio_virqfd.ko drivers/vfio/pci/vfio-pci-core.ko drivers/vfio/pci/vfio-pci.ko"

# 2. Busybox, statically linked: the shell, mount, poweroff.
say "busybox: busybox-static"
download busybox-static
dpkg -x ./busybox-static_*.deb bb
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,opt,ferry/lib}
cp bb/bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done

# 3. A Java runtime: the modules Ferry's client and workloads use (jdeps: java.base, java.logging), with a CDS
# archive so the guest JVM starts without parsing classes (it runs under emulation when KVM is unavailable).
say "java runtime: jlink from $jdk"
"$jdk/bin/jlink" --add-modules java.base,java.logging,jdk.unsupported --output "$root/opt/java" \
  --strip-debug --no-header-files --no-man-pages --generate-cds-archive >/dev/null
# The shared libraries it links against, from this machine (glibc and the loader), at the same paths.
for f in "$root/opt/java/bin/java" $(find "$root/opt/java/lib" -name '*.so'); do
  ldd "$f" 2>/dev/null | awk '/=> \//{print $3} /^\t\/[^ ]*ld-linux/{print $1}'
done | sort -u | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
# The loader must also be where the binaries look for it (/lib64 on x86-64).
[ -e "$root/lib64/ld-linux-x86-64.so.2" ] || { mkdir -p "$root/lib64"; cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"; }

# VFIO modules (optional: without them the guest library naps instead of taking interrupts)
mkdir -p "$root/lib/modules/ferry"
: > "$root/lib/modules/ferry/order"
for m in $vfio_modules; do
  f=$(ls kernel/lib/modules/*/kernel/"$m" 2>/dev/null | head -n 1)
  if [ -n "$f" ]; then
    cp "$f" "$root/lib/modules/ferry/"
    basename "$f" >> "$root/lib/modules/ferry/order"
  else
    say "kernel module $m not in $kpkg: the guest will nap instead of taking interrupts"
  fi
done

# 4. /init
cp "$here/init" "$root/init"
chmod 0755 "$root/init"

# 5. Pack: uncompressed (the kernel then copies instead of inflating, which matters under emulation).
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > base.cpio
mv -f base.cpio "$out/base.cpio"
cp "$vmlinuz" "$out/vmlinuz"
echo "$kpkg" > "$out/kernel-package"
printf '%s\n' "$stamp" > "$out/stamp"
say "done: $out/vmlinuz $(du -h "$out/vmlinuz" | cut -f1), $out/base.cpio $(du -h "$out/base.cpio" | cut -f1)"
