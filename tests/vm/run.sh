#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boots one test VM and runs one guest script in it; exits with the guest script's status.
#
# Usage: run.sh MACHINE PREPDIR OUTDIR GUEST_SCRIPT [NAME=VALUE]...
#   MACHINE       4node | 4node-big | 3node | tie | nvdimm | large | hmat | hmat-flat (the topologies are
#                 described below and in README.md)
#   PREPDIR       what prepare.sh made (vmlinux, initramfs.cpio.gz)
#   OUTDIR        a directory for this run; the guest sees it read-write at the same path, the rest
#                 of the host's / read-only. console.log and status end up there.
#   GUEST_SCRIPT  a bash script run inside the guest (chroot into the host's /, as root)
#   NAME=VALUE    exported to the guest script
# Environment: KMEMSHIM_VM_TIMEOUT (seconds, default 420) bounds the whole VM run.
#
# Always TCG (-accel tcg,thread=multi): KVM hangs on this kind of machine.
set -euo pipefail

usage() { sed -n '2,12p' "$0" >&2; exit 2; }
[ $# -ge 4 ] || usage
machine=$1 prep=$2 out=$3 script=$4
shift 4
die() { echo "run.sh: $*" >&2; exit 1; }

# A missing tool skips the test (77, ctest's skip code) and says why; prepare.sh left its own
# reason when it skipped.
skip() { echo "run.sh: SKIP: $*"; exit 77; }
command -v qemu-system-x86_64 >/dev/null || skip "missing qemu-system-x86_64 (scripts/deps.sh vm installs it)"
[ ! -f "$prep/skipped" ] || skip "$(cat "$prep/skipped")"
if [ ! -f "$prep/vmlinux" ] || [ ! -f "$prep/initramfs.cpio.gz" ]; then
    die "$prep has no vmlinux/initramfs: run prepare.sh"
fi
[ -f "$script" ] || die "no guest script $script"
mkdir -p "$out"
out=$(cd "$out" && pwd)
script=$(cd "$(dirname "$script")" && pwd)/$(basename "$script")
case "$out$script" in *[[:space:]]*) die "paths with white space are not supported: $out $script";; esac

# ---- machines --------------------------------------------------------------------------------
# Each CPU node has one CPU and 512 MiB; memory-only nodes have 256 MiB of plain RAM (4node, 3node,
# tie) or are empty and get an emulated NVDIMM (nvdimm). 4node-big and large differ, below. Distances: one -numa dist per pair
# (QEMU mirrors it).
args=()
node() {   # node ID [CPU] [SIZE] [INITIATOR]: a NUMA node; no SIZE = no memory
    local id=$1 cpu=${2:-} size=${3:-} init=${4:-} opt
    opt="node,nodeid=$id"
    [ -n "$cpu" ] && opt+=",cpus=$cpu"
    [ -n "$init" ] && opt+=",initiator=$init"
    if [ -n "$size" ]; then
        args+=(-object "memory-backend-ram,id=m$id,size=$size")
        opt+=",memdev=m$id"
    fi
    args+=(-numa "$opt")
}
dist() {   # dist A B D
    args+=(-numa "dist,src=$1,dst=$2,val=$3")
}
hmat_lb() { # hmat_lb INITIATOR TARGET LATENCY_NS BANDWIDTH: one ACPI HMAT entry (hmat=on machines)
    args+=(-numa "hmat-lb,initiator=$1,target=$2,hierarchy=memory,data-type=access-latency,latency=$3"
           -numa "hmat-lb,initiator=$1,target=$2,hierarchy=memory,data-type=access-bandwidth,bandwidth=$4")
}
nvdimm_sizes=()
nvdimm() { # nvdimm ID NODE SIZE: an emulated NVDIMM backed by a sparse file in OUTDIR
    local img=$out/nvdimm$1.img
    nvdimm_sizes+=("$img:$3")
    args+=(-object "memory-backend-file,id=nv$1,share=on,mem-path=$img,size=$3"
           -device "nvdimm,id=nvdimm$1,memdev=nv$1,node=$2")
}
mem=1536M
smp=2   # vCPUs, one per socket
machine_opt=pc
case "$machine" in
4node)  # the design's machine: 0,1 CPU+DRAM; 2 near 0, 3 near 1
    node 0 0 512M; node 1 1 512M; node 2 "" 256M; node 3 "" 256M
    dist 0 1 21; dist 0 2 17; dist 0 3 28; dist 1 2 28; dist 1 3 17; dist 2 3 28 ;;
3node)  # 0,1 CPU+DRAM; one KMEM node (node 3 of the unit tests' fixture: QEMU needs ids without gaps)
    mem=1280M
    node 0 0 512M; node 1 1 512M; node 2 "" 256M
    dist 0 1 21; dist 0 2 17; dist 1 2 28 ;;
4node-big) # the 4node machine with 1 GiB KMEM nodes: room for the 32 MiB segments of a many-threaded
    # program's heaps in every bound route (the shim reserves at most a node's MemTotal per route)
    mem=3G
    node 0 0 512M; node 1 1 512M; node 2 "" 1G; node 3 "" 1G
    dist 0 1 21; dist 0 2 17; dist 0 3 28; dist 1 2 28; dist 1 3 17; dist 2 3 28 ;;
tie)    # 2 and 3 both at 17 from node 0; from node 1 only 3 is close
    node 0 0 512M; node 1 1 512M; node 2 "" 256M; node 3 "" 256M
    dist 0 1 21; dist 0 2 17; dist 0 3 17; dist 1 2 28; dist 1 3 17; dist 2 3 28 ;;
nvdimm) # the 4node distances, but 2 and 3 are emulated NVDIMMs that the guest makes KMEM DAX.
    # The second NVDIMM has a label area; 512M+128K keeps its namespace aligned.
    mem=1G,slots=2,maxmem=4G
    machine_opt="pc,nvdimm=on"
    node 0 0 512M; node 1 1 512M; node 2; node 3
    dist 0 1 21; dist 0 2 17; dist 0 3 28; dist 1 2 28; dist 1 3 17; dist 2 3 28
    nvdimm 0 2 512M
    nvdimm 1 3 537001984
    args[${#args[@]}-1]+=",label-size=128K" ;;
large)  # 4 CPU nodes (one vCPU and 256 MiB each) and 8 memory-only nodes (128 MiB each), two near each
    # CPU node: 0 -> 4,5 tied at 17; 1 -> 6 at 17, 7 at 19; 2 -> 9 at 16, 8 at 18 (the nearest is
    # the higher id); 3 -> 10,11 tied at 17. CPU nodes 21 apart; memory-only pairs near the same
    # CPU node 22 apart; every other pair 28.
    mem=2G
    smp=4
    for n in 0 1 2 3; do node $n $n 256M; done
    for n in 4 5 6 7 8 9 10 11; do node $n "" 128M; done
    declare -A d=([0,4]=17 [0,5]=17 [1,6]=17 [1,7]=19 [2,8]=18 [2,9]=16 [3,10]=17 [3,11]=17
                  [4,5]=22 [6,7]=22 [8,9]=22 [10,11]=22)
    for a in {0..11}; do
        for ((b = a + 1; b <= 11; b++)); do
            if [ "$b" -le 3 ]; then dist "$a" "$b" 21; else dist "$a" "$b" "${d[$a,$b]:-28}"; fi
        done
    done ;;
hmat|hmat-flat) # the tie machine's distances (2 and 3 both at 17 from node 0), plain RAM (no dax
    # device), with ACPI HMAT figures. hmat: from their nearest CPU node, node 2 answers in 300 ns at
    # 5 GB/s, node 3 in 500 ns at 2 GB/s, DRAM in 100 ns at 20 GB/s: both are slow memory, and
    # HMAT breaks the tie from node 0 in favour of 2. hmat-flat: both as fast as local DRAM.
    machine_opt="pc,hmat=on"
    node 0 0 512M 0; node 1 1 512M 1; node 2 "" 256M 0; node 3 "" 256M 1
    dist 0 1 21; dist 0 2 17; dist 0 3 17; dist 1 2 28; dist 1 3 17; dist 2 3 28
    hmat_lb 0 0 100 20G; hmat_lb 0 1 210 10G; hmat_lb 1 0 210 10G; hmat_lb 1 1 100 20G
    if [ "$machine" = hmat ]; then
        hmat_lb 0 2 300 5G; hmat_lb 0 3 500 2G; hmat_lb 1 2 500 2G; hmat_lb 1 3 500 2G
    else
        hmat_lb 0 2 100 20G; hmat_lb 0 3 210 10G; hmat_lb 1 2 210 10G; hmat_lb 1 3 100 20G
    fi ;;
*) die "unknown machine '$machine' (4node, 4node-big, 3node, tie, nvdimm, large, hmat, hmat-flat)" ;;
esac

# nvdimm_images: fresh NVDIMM images (they keep their namespace layout from one boot to the next)
nvdimm_images() {
    local spec
    for spec in "${nvdimm_sizes[@]}"; do
        rm -f "${spec%:*}"
        truncate -s "${spec##*:}" "${spec%:*}"
    done
}
[ ${#nvdimm_sizes[@]} -eq 0 ] || nvdimm_images

# ---- the job the guest runs ------------------------------------------------------------------
{
    echo '#!/bin/bash'
    echo "# written by run.sh: runs $script in the $machine VM"
    echo 'set -euo pipefail'
    printf 'export KMS_MACHINE=%q KMS_TEST=%q KMS_OUT=%q\n' "$machine" "$(basename "$script" .sh)" "$out"
    for kv in "$@"; do
        [[ $kv == [A-Za-z_]*=* ]] || die "not NAME=VALUE: $kv"
        printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
    done
    printf 'cd %q\n' "$out"
    printf 'exec /bin/bash %q\n' "$script"
} > "$out/job.sh"
rm -f "$out/status" "$out/console.log"

bios=()
[ -f /usr/share/qemu/qboot.rom ] && bios=(-bios /usr/share/qemu/qboot.rom)   # ~1 s faster than SeaBIOS

qemu=(qemu-system-x86_64 -accel "tcg,thread=multi" -cpu max -machine "$machine_opt" "${bios[@]}"
      -m "$mem" -smp "$smp,sockets=$smp,cores=1,threads=1" "${args[@]}"
      -nodefaults -display none -vga none -nic none -no-reboot -serial stdio -monitor none
      -device "isa-debug-exit,iobase=0xf4,iosize=0x04"
      -fsdev "local,id=hostroot,path=/,security_model=none,multidevs=remap,readonly=on"
      -device "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot"
      -fsdev "local,id=kmsout,path=$out,security_model=none"
      -device "virtio-9p-pci,fsdev=kmsout,mount_tag=kmsout"
      -kernel "$prep/vmlinux" -initrd "$prep/initramfs.cpio.gz"
      -append "console=ttyS0 panic=-1 quiet no_timer_check kms_out=$out")

# boot: one run of QEMU; sets qrc (its exit status) and elapsed.
boot() {
    local start qpid tpid
    start=$(date +%s.%N)
    rm -f "$out/status"
    timeout --foreground "${KMEMSHIM_VM_TIMEOUT:-420}" "${qemu[@]}" </dev/null >"$out/console.log" 2>&1 &
    qpid=$!
    # shellcheck disable=SC2064  # expand now: qpid is local
    trap "kill $qpid 2>/dev/null || true; wait $qpid 2>/dev/null || true; exit 130" INT TERM
    tail -n +1 --pid="$qpid" -f "$out/console.log" 2>/dev/null &
    tpid=$!
    qrc=0
    wait "$qpid" || qrc=$?
    wait "$tpid" 2>/dev/null || true
    trap - INT TERM
    elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
}

echo "run.sh: booting the $machine machine for $(basename "$script") (console: $out/console.log)"
boot
# A kernel that died before running /init (seen: an early timer check failing on a heavily loaded
# host) is the machine's fault, not the test's: boot once more. Anything later counts.
if [ ! -s "$out/status" ] && [ "$qrc" != 124 ] && ! grep -q '^kms-init: kernel' "$out/console.log"; then
    mv "$out/console.log" "$out/console.failed-boot.log"
    echo "run.sh: the guest kernel died before /init ran (console.failed-boot.log); booting again"
    [ ${#nvdimm_sizes[@]} -eq 0 ] || nvdimm_images
    boot
fi
rm -f "$out"/nvdimm*.img   # sparse, but up to 512 MiB each; recreated by every run anyway

if [ "$qrc" = 124 ]; then
    die "the VM did not finish within ${KMEMSHIM_VM_TIMEOUT:-420} s ($elapsed s)"
fi
if [ ! -s "$out/status" ]; then
    die "the guest did not report a status (QEMU exit status $qrc after $elapsed s)"
fi
rc=$(cat "$out/status")
echo "run.sh: guest status $rc after $elapsed s"
exit "$rc"
