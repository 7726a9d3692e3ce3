#!/usr/bin/env bash
# Prepares what the VM tests boot: the Debian kernel (the one `linux-image-amd64` depends on,
# downloaded with apt-get and unpacked, never installed), its uncompressed ELF vmlinux (QEMU boots
# it directly through the PVH entry, which saves the ~4 s of XZ decompression under TCG), and an
# initramfs holding a static busybox, the kernel modules the tests need and tests/vm/init.
#
# Usage: prepare.sh OUTDIR
#   OUTDIR receives vmlinux, initramfs.cpio.gz and kver (the kernel release).
# Environment:
#   KMEMSHIM_VM_CACHE  where the unpacked kernel is kept between runs (default /var/cache/kmemshim-vm
#                      when writable, else OUTDIR/cache). A second run reuses it and needs no network.
#   KMEMSHIM_VM_KERNEL a kernel package name to use instead of the one linux-image-amd64 depends on.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:?usage: prepare.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Modules loaded by /init: 9p over virtio for the host shares, and the NVDIMM -> devdax -> system-ram
# chain (nfit finds the emulated NVDIMMs, dax_pmem/device_dax make devdax namespaces, kmem onlines
# them as RAM). Their dependencies come from modules.dep.
modules=(virtio_pci 9pnet_virtio 9p libnvdimm nfit nd_pmem nd_btt dax_pmem device_dax kmem)

die() { echo "prepare.sh: $*" >&2; exit 1; }
for tool in apt-get apt-cache dpkg-deb depmod xz cpio gzip; do
    command -v "$tool" >/dev/null || die "missing '$tool' (scripts/deps.sh vm installs it)"
done
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "missing busybox (package busybox-static; scripts/deps.sh vm installs it)"
if ldd "$busybox" >/dev/null 2>&1; then
    die "$busybox is dynamically linked; install busybox-static"
fi

if [ -z "${KMEMSHIM_VM_CACHE:-}" ]; then
    if mkdir -p /var/cache/kmemshim-vm 2>/dev/null && [ -w /var/cache/kmemshim-vm ]; then
        KMEMSHIM_VM_CACHE=/var/cache/kmemshim-vm
    else
        KMEMSHIM_VM_CACHE=$out/cache
    fi
fi
cache=$KMEMSHIM_VM_CACHE
mkdir -p "$cache"

# One preparation at a time (ctest may start several, and a user may run two build trees).
exec 9>"$cache/.lock"
flock 9

# --- which kernel ------------------------------------------------------------------------------
kernel_package() {
    local pkg
    if [ -n "${KMEMSHIM_VM_KERNEL:-}" ]; then echo "$KMEMSHIM_VM_KERNEL"; return; fi
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n1)
    if [ -z "$pkg" ]; then
        # A fresh machine may have no package lists yet.
        apt-get update -qq >&2 || true
        pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n1)
    fi
    echo "$pkg"
}

pkg=$(kernel_package)
if [ -z "$pkg" ]; then
    # No package information (offline?): fall back to the newest kernel already in the cache.
    kdir=$(find "$cache" -maxdepth 1 -type d -name 'kernel-*' -exec test -e '{}/.complete' ';' -print | sort -V | tail -n1)
    [ -n "$kdir" ] || die "cannot resolve the kernel package of linux-image-amd64 and nothing is cached in $cache"
    kver=${kdir##*/kernel-}
    echo "prepare.sh: no package information, using cached kernel $kver" >&2
else
    kver=${pkg#linux-image-}
    # Signed and unsigned images have the same release; the modules live under the release name.
    kver=${kver%-unsigned}
    kdir=$cache/kernel-$kver
fi

# --- fetch and unpack the kernel (once per version) ----------------------------------------------
if [ ! -e "$kdir/.complete" ]; then
    echo "prepare.sh: fetching $pkg into $kdir" >&2
    tmp=$(mktemp -d "$cache/tmp.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    chown _apt "$tmp" 2>/dev/null || true    # lets apt download sandboxed, without a warning
    (cd "$tmp" && apt-get download -q "$pkg" >&2) || {
        apt-get update -qq >&2 || true
        (cd "$tmp" && apt-get download -q "$pkg" >&2)
    } || die "apt-get download $pkg failed"
    dpkg-deb -x "$tmp"/"$pkg"_*.deb "$tmp/root"
    # The .deb ships no modules.dep (its postinst makes it).
    depmod -b "$tmp/root" "$kver"
    mdir=$tmp/root/lib/modules/$kver
    [ -d "$mdir" ] || die "no lib/modules/$kver in $pkg"

    rm -rf "$kdir"
    mkdir -p "$kdir/lib/modules/$kver"
    # Keep only the modules we load (with what they depend on) and the index files modprobe reads.
    for m in "${modules[@]}"; do
        line=$(grep -E "(^|/)${m}\.ko(\.xz)?:" "$mdir/modules.dep" || true)
        if [ -z "$line" ]; then
            grep -qE "(^|/)${m}\.ko(\.xz)?$" "$mdir/modules.builtin" || die "module $m is neither a module nor built in"
            continue
        fi
        for f in ${line//:/}; do
            mkdir -p "$kdir/lib/modules/$kver/$(dirname "$f")"
            cp -n "$mdir/$f" "$kdir/lib/modules/$kver/$f"
        done
    done
    cp "$mdir"/modules.builtin "$mdir"/modules.builtin.modinfo "$mdir"/modules.order "$kdir/lib/modules/$kver/"
    depmod -b "$kdir" "$kver"

    # vmlinuz is a bzImage whose payload is an XZ stream: find the stream and decompress the ELF.
    vmlinuz=$tmp/root/boot/vmlinuz-$kver
    [ -f "$vmlinuz" ] || die "no boot/vmlinuz-$kver in $pkg"
    off=$(grep -abo -m1 $'\xfd7zXZ' "$vmlinuz" | head -n1 | cut -d: -f1 || true)
    [ -n "$off" ] || die "no XZ stream in $vmlinuz"
    tail -c +"$((off + 1))" "$vmlinuz" | xz -dc --single-stream > "$kdir/vmlinux" 2>/dev/null || true
    [ "$(head -c 4 "$kdir/vmlinux" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] || die "the vmlinux taken from $vmlinuz is not an ELF file"
    echo "$kver" > "$kdir/kver"
    touch "$kdir/.complete"
    rm -rf "$tmp"
    trap - EXIT
fi

# --- initramfs (rebuilt every time: about a second, and it follows tests/vm/init) ---------------
root=$(mktemp -d "$out/initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,proc,sys,dev,run,tmp,newroot,lib/modules}
cp "$busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
cp -a "$kdir/lib/modules/$kver" "$root/lib/modules/"
install -m 0755 "$here/init" "$root/init"
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$out/initramfs.cpio.gz.new"
mv "$out/initramfs.cpio.gz.new" "$out/initramfs.cpio.gz"
ln -sf "$kdir/vmlinux" "$out/vmlinux"
echo "$kver" > "$out/kver"
echo "prepare.sh: kernel $kver, $(du -h "$out/initramfs.cpio.gz" | cut -f1) initramfs in $out" >&2
