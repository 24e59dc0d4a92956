#!/usr/bin/env bash
# Boot the appliance under plain QEMU (no SEV): KVM when it works, TCG
# otherwise; serial console on stdout.
#
#   qemu/run.sh [--image FILE] [--mem SIZE] [--smp N] [--accel kvm|tcg]
#               [--selftest WORDS] [--fw-cfg NAME,file=PATH]...
#               [--no-sample-measurement] [-- QEMU ARGS...]
#
# The isa-debug-exit device is always present, so the guest's exit status
# becomes QEMU's: 33 success, 35 failure.
#
# Every boot gets fw_cfg opt/appliance/sample-measurement: the SNP launch
# digest of the booted image under the sample launch configuration (1 vCPU
# of EPYC-v4, guest features 0x1: snp_measure::sample_launch_config(), the
# manifest's first configuration), computed here with `image-builder
# measure`. Without SNP the guest's evidence is unsigned and claims this
# digest: the host's word, as everything in unsigned evidence is. A --fw-cfg
# of that name replaces it and --no-sample-measurement leaves it out (tests
# of a bad claim). The tool is $IMAGE_BUILDER, else target/debug/image-builder,
# else target/release/image-builder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image="$here/../out/appliance.bin"; mem=256M; smp=1; accel=""; selftest=""
fwcfg=(); sample=1
while [ $# -gt 0 ]; do
  case "$1" in
    --image) image=$2; shift 2;;
    --mem) mem=$2; shift 2;;
    --smp) smp=$2; shift 2;;
    --accel) accel=$2; shift 2;;
    --selftest) selftest=$2; shift 2;;
    --fw-cfg) fwcfg+=(-fw_cfg "name=$2")
              case "$2" in opt/appliance/sample-measurement,*) sample=0;; esac
              shift 2;;
    --no-sample-measurement) sample=0; shift;;
    --) shift; break;;
    -h|--help) sed -n '2,20p' "$0"; exit 0;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2;;
  esac
done
[ -f "$image" ] || { echo "run.sh: no image at $image (run image-builder build first)" >&2; exit 2; }
[ -n "$accel" ] || accel=$("$here/accel.sh" "$image")
case "$accel" in
  kvm) cpu=host;;
  tcg) cpu=max; accel=tcg,thread=multi;;   # one host thread per vCPU
  *) echo "run.sh: --accel must be kvm or tcg" >&2; exit 2;;
esac
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if [ -n "$selftest" ]; then
  printf '%s' "$selftest" > "$tmp/selftest"
  fwcfg+=(-fw_cfg "name=opt/appliance/selftest,file=$tmp/selftest")
fi
if [ "$sample" = 1 ]; then
  ib=${IMAGE_BUILDER:-}
  if [ -z "$ib" ]; then
    for ib in "$here/../target/debug/image-builder" "$here/../target/release/image-builder"; do
      [ -x "$ib" ] && break
    done
  fi
  [ -x "$ib" ] || { echo "run.sh: no image-builder (${IMAGE_BUILDER:-target/debug or target/release}) to compute fw_cfg opt/appliance/sample-measurement, the launch digest the guest's sample evidence claims: run \`cargo build -p image-builder\` first" >&2; exit 2; }
  # The same configuration as snp_measure::sample_launch_config().
  measured=$("$ib" measure --vcpus 1 --vcpu-type EPYC-v4 --guest-features 0x1 "$image") \
    || { echo "run.sh: $ib measure $image failed" >&2; exit 2; }
  digest=${measured##*$'\n'}                     # the digest is the last line
  [[ "$digest" =~ ^[0-9a-f]{96}$ ]] || { echo "run.sh: $ib measure printed no digest: $measured" >&2; exit 2; }
  printf '%s\n' "$digest" > "$tmp/sample-measurement"
  fwcfg+=(-fw_cfg "name=opt/appliance/sample-measurement,file=$tmp/sample-measurement")
fi
echo "run.sh: accel=$accel cpu=$cpu mem=$mem smp=$smp" >&2
set +e
qemu-system-x86_64 -machine q35 -accel "$accel" -cpu "$cpu" -m "$mem" -smp "$smp" \
  -bios "$image" -nodefaults -nographic -no-reboot -serial stdio \
  -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
  ${fwcfg[@]+"${fwcfg[@]}"} "$@"
exit $?
