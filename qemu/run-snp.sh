#!/usr/bin/env bash
# Launch the appliance as an AMD SEV-SNP guest on a real SNP host.
# NOT TESTED ON HARDWARE: no SNP host was available where this was written;
# the test suite checks only the --print output.
#
#   qemu/run-snp.sh [--image FILE] [--manifest FILE] [--vcpus N]
#                   [--vcpu-type TYPE] [--mem SIZE] [--cbitpos N] [--print]
#
# -cpu and -smp must be a configuration listed in the manifest: they enter
# the launch digest, and the key broker only knows the listed digests.
# --print shows the command line and the expected launch digest, and exits.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image="$here/../out/appliance.bin"; manifest=""; vcpus=1; vcpu_type=EPYC-v4
mem=512M; cbitpos=51; print=0
while [ $# -gt 0 ]; do
  case "$1" in
    --image) image=$2; shift 2;;
    --manifest) manifest=$2; shift 2;;
    --vcpus) vcpus=$2; shift 2;;
    --vcpu-type) vcpu_type=$2; shift 2;;
    --mem) mem=$2; shift 2;;
    --cbitpos) cbitpos=$2; shift 2;;
    --print) print=1; shift;;
    -h|--help) sed -n '2,12p' "$0"; exit 0;;
    *) echo "run-snp.sh: unknown argument $1" >&2; exit 2;;
  esac
done
[ -n "$manifest" ] || manifest="$(dirname "$image")/manifest.json"
[ -f "$image" ] || { echo "run-snp.sh: no image at $image" >&2; exit 2; }
[ -f "$manifest" ] || { echo "run-snp.sh: no manifest at $manifest" >&2; exit 2; }

# Look the configuration up in the manifest (and check the image hash).
read -r digest policy < <(python3 - "$manifest" "$image" "$vcpus" "$vcpu_type" <<'PY'
import hashlib, json, sys
manifest, image, vcpus, vtype = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
m = json.load(open(manifest))
if hashlib.sha256(open(image, "rb").read()).hexdigest() != m["image"]["sha256"]:
    sys.exit("run-snp.sh: the image does not match the manifest's sha256")
for c in m["launch_configurations"]:
    if c["vcpus"] == vcpus and c["vcpu_type"] == vtype:
        print(c["launch_digest"], m["policy"]["guest_policy"])
        break
else:
    listed = ", ".join(f'{c["vcpus"]}x{c["vcpu_type"]}' for c in m["launch_configurations"])
    sys.exit(f"run-snp.sh: {vcpus} x {vtype} is not a configuration in the manifest ({listed})")
PY
)
cmd=(qemu-system-x86_64
  -enable-kvm -cpu "$vcpu_type" -smp "$vcpus" -m "$mem"
  -machine "q35,confidential-guest-support=sev0,memory-backend=ram1,vmport=off"
  -object "memory-backend-memfd,id=ram1,size=$mem,share=true,prealloc=false,reserve=false"
  -object "sev-snp-guest,id=sev0,cbitpos=$cbitpos,reduced-phys-bits=1,policy=$policy"
  -bios "$image"
  -nodefaults -nographic -no-reboot -serial stdio)
if [ "$print" = 1 ]; then
  printf '%q ' "${cmd[@]}"; echo
  echo "expected launch digest: $digest"
  exit 0
fi
exec "${cmd[@]}"
