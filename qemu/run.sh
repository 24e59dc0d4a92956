#!/usr/bin/env bash
# Boot the appliance under plain QEMU (no SEV): KVM when it works, TCG
# otherwise; serial console on stdout.
#
#   qemu/run.sh [--image FILE] [--mem SIZE] [--smp N] [--accel kvm|tcg]
#               [--selftest WORDS] [--fw-cfg NAME,file=PATH]... [-- QEMU ARGS...]
#
# The isa-debug-exit device is always present, so the guest's exit status
# becomes QEMU's: 33 success, 35 failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image="$here/../out/appliance.bin"; mem=256M; smp=1; accel=""; selftest=""
fwcfg=()
while [ $# -gt 0 ]; do
  case "$1" in
    --image) image=$2; shift 2;;
    --mem) mem=$2; shift 2;;
    --smp) smp=$2; shift 2;;
    --accel) accel=$2; shift 2;;
    --selftest) selftest=$2; shift 2;;
    --fw-cfg) fwcfg+=(-fw_cfg "name=$2"); shift 2;;
    --) shift; break;;
    -h|--help) sed -n '2,10p' "$0"; exit 0;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2;;
  esac
done
[ -f "$image" ] || { echo "run.sh: no image at $image (run image-builder build first)" >&2; exit 2; }
[ -n "$accel" ] || accel=$("$here/accel.sh" "$image")
case "$accel" in
  kvm) cpu=host;;
  tcg) cpu=max;;
  *) echo "run.sh: --accel must be kvm or tcg" >&2; exit 2;;
esac
if [ -n "$selftest" ]; then
  st=$(mktemp); trap 'rm -f "$st"' EXIT
  printf '%s' "$selftest" > "$st"
  fwcfg+=(-fw_cfg "name=opt/appliance/selftest,file=$st")
fi
echo "run.sh: accel=$accel cpu=$cpu mem=$mem smp=$smp" >&2
set +e
qemu-system-x86_64 -machine q35 -accel "$accel" -cpu "$cpu" -m "$mem" -smp "$smp" \
  -bios "$image" -nodefaults -nographic -no-reboot -serial stdio \
  -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
  ${fwcfg[@]+"${fwcfg[@]}"} "$@"
exit $?
