#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
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
# A missing tool skips (77, ctest's skip code) rather than fails: this machine cannot run the VM
# tests, which says nothing about the shim. The reason is kept in OUTDIR/skipped, where run.sh
# finds it and skips each VM test too. The full ./test.sh installs every tool first.
rm -f "$out/skipped"
skip() {
    echo "prepare.sh: SKIP: $*" | tee "$out/skipped" >&2
    exit 77
}
for tool in apt-get apt-cache dpkg-deb depmod xz cpio gzip; do
    command -v "$tool" >/dev/null || skip "missing '$tool' (scripts/deps.sh vm installs it)"
done
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || skip "missing busybox (package busybox-static; scripts/deps.sh vm installs it)"
if ldd "$busybox" >/dev/null 2>&1; then
    skip "$busybox is dynamically linked; install busybox-static (scripts/deps.sh vm)"
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

newest_cached() {
    find "$cache" -maxdepth 1 -type d -name 'kernel-*' -exec test -e '{}/.complete' ';' -print | sort -V | tail -n1
}

# fetch PKG: downloads and unpacks PKG into $kdir (release $kver). Fails if the download fails.
fetch() {
    local pkg=$1 tmp line off m f mdir vmlinuz
    echo "prepare.sh: fetching $pkg into $kdir" >&2
    tmp=$(mktemp -d "$cache/tmp.XXXXXX")
    # shellcheck disable=SC2064  # expand now: $tmp is local
    trap "rm -rf '$tmp'" EXIT
    chown _apt "$tmp" 2>/dev/null || true    # lets apt download sandboxed, without a warning
    if ! (cd "$tmp" && apt-get download -q "$pkg" >&2); then
        rm -rf "$tmp"
        return 1
    fi
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
}

# release PKG: the kernel release (the name of lib/modules/*) of a linux-image package
release() {
    local r=${1#linux-image-}
    echo "${r%-unsigned}"
}

pkg=$(kernel_package)
if [ -n "$pkg" ]; then
    kver=$(release "$pkg")
    kdir=$cache/kernel-$kver
    if [ ! -e "$kdir/.complete" ] && ! fetch "$pkg"; then
        # Stale package lists name a package the archive no longer has: refresh, resolve again.
        apt-get update -qq >&2 || true
        pkg=$(kernel_package)
        kver=$(release "$pkg")
        kdir=$cache/kernel-$kver
        if [ ! -e "$kdir/.complete" ] && ! fetch "$pkg"; then
            kdir=$(newest_cached)
            [ -n "$kdir" ] || die "apt-get download $pkg failed and nothing is cached in $cache"
            kver=${kdir##*/kernel-}
            echo "prepare.sh: cannot download $pkg, using the cached kernel $kver" >&2
        fi
    fi
else
    # No package information (offline?): the newest kernel already in the cache.
    kdir=$(newest_cached)
    [ -n "$kdir" ] || die "cannot resolve the kernel package of linux-image-amd64 and nothing is cached in $cache"
    kver=${kdir##*/kernel-}
    echo "prepare.sh: no package information, using the cached kernel $kver" >&2
fi

# --- initramfs (about a second; rebuilt when the kernel or tests/vm/init changes) ----------------
stamp="$kver $(md5sum < "$here/init") $(md5sum < "$busybox")"
if [ -f "$out/initramfs.cpio.gz" ] && [ "$(cat "$out/initramfs.stamp" 2>/dev/null)" = "$stamp" ]; then
    ln -sf "$kdir/vmlinux" "$out/vmlinux"
    echo "$kver" > "$out/kver"
    echo "prepare.sh: kernel $kver, initramfs in $out up to date" >&2
    exit 0
fi
root=$(mktemp -d "$out/initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,proc,sys,dev,run,tmp,newroot,lib/modules}
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"      # init installs the other applet links itself
cp -a "$kdir/lib/modules/$kver" "$root/lib/modules/"
install -m 0755 "$here/init" "$root/init"
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$out/initramfs.cpio.gz.new"
mv "$out/initramfs.cpio.gz.new" "$out/initramfs.cpio.gz"
echo "$stamp" > "$out/initramfs.stamp"
ln -sf "$kdir/vmlinux" "$out/vmlinux"
echo "$kver" > "$out/kver"
echo "prepare.sh: kernel $kver, $(du -h "$out/initramfs.cpio.gz" | cut -f1) initramfs in $out" >&2
