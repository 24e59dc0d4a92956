#!/usr/bin/env bash
# Launch the whole appliance as an AMD SEV-SNP guest on a real SNP host.
# NOT TESTED ON HARDWARE: no SNP host was available where this was written;
# the test suite checks the --print output (every device, every fw_cfg file,
# HOST_DATA and the expected digest), not a launch.
#
#   qemu/run-snp.sh --config FILE --sealed-model FILE --kbs-port PORT
#                   [--vcek FILE] [--api-port PORT] [--image FILE]
#                   [--manifest FILE] [--vcpus N] [--vcpu-type TYPE]
#                   [--mem SIZE] [--cbitpos N] [--print]
#
# --config        the runtime configuration (JSON); its SHA-256 becomes
#                 HOST_DATA, which the guest checks against the file it reads
# --sealed-model  image-builder seal's model.sealed
# --kbs-port      the key broker's port on 127.0.0.1 (the guest reaches it at
#                 the config's kbs.host:kbs.port, relayed to 127.0.0.1 only)
# --vcek          the host's VCEK (DER), served with the evidence (optional)
# --api-port      127.0.0.1 port forwarded to the guest's listen_port
#                 (default: the config's listen_port)
# -cpu and -smp must be a configuration listed in the manifest: they enter
# the launch digest, and the verifiers only know the listed digests.
# --print shows the command line and the expected launch digest, and exits.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image="$here/../out/appliance.bin"; manifest=""; vcpus=1; vcpu_type=EPYC-v4
mem=512M; cbitpos=51; print=0; config=""; sealed=""; vcek=""; kbs_port=""; api_port=""
die() { echo "run-snp.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --image|--manifest|--vcpus|--vcpu-type|--mem|--cbitpos|--config|--sealed-model|--vcek|--kbs-port|--api-port)
      [ $# -ge 2 ] || die "$1 needs a value";;
  esac
  case "$1" in
    --image) image=$2; shift 2;;
    --manifest) manifest=$2; shift 2;;
    --vcpus) vcpus=$2; shift 2;;
    --vcpu-type) vcpu_type=$2; shift 2;;
    --mem) mem=$2; shift 2;;
    --cbitpos) cbitpos=$2; shift 2;;
    --config) config=$2; shift 2;;
    --sealed-model) sealed=$2; shift 2;;
    --vcek) vcek=$2; shift 2;;
    --kbs-port) kbs_port=$2; shift 2;;
    --api-port) api_port=$2; shift 2;;
    --print) print=1; shift;;
    -h|--help) sed -n '2,22p' "$0"; exit 0;;
    *) die "unknown argument $1 (see --help)";;
  esac
done
[ -n "$manifest" ] || manifest="$(dirname "$image")/manifest.json"
[ -f "$image" ] || die "no image at $image (run: target/debug/image-builder build --out out)"
[ -f "$manifest" ] || die "no manifest at $manifest (image-builder build writes it next to the image)"
[ -n "$config" ] || die "--config FILE is required (the runtime configuration JSON; see README 'Deploying on an SNP host')"
[ -f "$config" ] || die "no configuration file at $config"
[ -n "$sealed" ] || die "--sealed-model FILE is required (image-builder seal --model BLOB --out DIR writes DIR/model.sealed)"
[ -f "$sealed" ] || die "no sealed model at $sealed"
[ -z "$vcek" ] || [ -f "$vcek" ] || die "no VCEK at $vcek"
[ -n "$kbs_port" ] || die "--kbs-port PORT is required (the key broker's port on 127.0.0.1)"
[[ "$kbs_port" =~ ^[0-9]+$ ]] && [ "$kbs_port" -ge 1 ] && [ "$kbs_port" -le 65535 ] || die "--kbs-port must be a port number, not $kbs_port"
[ -z "$api_port" ] || { [[ "$api_port" =~ ^[0-9]+$ ]] && [ "$api_port" -ge 1 ] && [ "$api_port" -le 65535 ]; } || die "--api-port must be a port number, not $api_port"
[[ "$vcpus" =~ ^[0-9]+$ ]] || die "--vcpus must be a number, not $vcpus"
[[ "$cbitpos" =~ ^[0-9]+$ ]] || die "--cbitpos must be a number, not $cbitpos"

# The configuration in the manifest (and the image hash), HOST_DATA from the
# runtime config, and the addresses the config names.
read -r digest policy host_data kbs_host kbs_guest_port listen_port < <(python3 - "$manifest" "$image" "$vcpus" "$vcpu_type" "$config" <<'PY'
import base64, hashlib, json, sys
manifest, image, vcpus, vtype, config = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
m = json.load(open(manifest))
if hashlib.sha256(open(image, "rb").read()).hexdigest() != m["image"]["sha256"]:
    sys.exit("run-snp.sh: the image does not match the manifest's sha256")
for c in m["launch_configurations"]:
    if c["vcpus"] == vcpus and c["vcpu_type"] == vtype:
        digest = c["launch_digest"]
        break
else:
    listed = ", ".join(f'{c["vcpus"]}x{c["vcpu_type"]}' for c in m["launch_configurations"])
    sys.exit(f"run-snp.sh: {vcpus} x {vtype} is not a configuration in the manifest ({listed})")
raw = open(config, "rb").read()
try:
    cfg = json.loads(raw)
    kbs_host, kbs_port, listen = cfg["kbs"]["host"], int(cfg["kbs"]["port"]), int(cfg["listen_port"])
except (ValueError, KeyError, TypeError) as e:
    sys.exit(f"run-snp.sh: {config} is not an appliance configuration ({e}); the guest would refuse it too")
# QEMU user networking (libslirp check_guestfwd) forwards only addresses in
# its own 10.0.2.0/24 that are not the gateway (.2), DNS (.3), the guest's
# DHCP address (.15) or the network/broadcast addresses.
parts = str(kbs_host).split(".")
if (len(parts) != 4 or not all(p.isdigit() for p in parts) or parts[:3] != ["10", "0", "2"]
        or int(parts[3]) in (0, 2, 3, 15) or int(parts[3]) > 254):
    sys.exit(f"run-snp.sh: kbs.host {kbs_host!r} in {config} must be an address in QEMU's user network "
             "10.0.2.0/24 other than .0, .2, .3, .15 and .255 (e.g. 10.0.2.100): the broker is reached "
             "through a guestfwd there")
# HOST_DATA is the SHA-256 of the exact file bytes the guest reads (base64 for QEMU).
host_data = base64.b64encode(hashlib.sha256(raw).digest()).decode()
print(digest, m["policy"]["guest_policy"], host_data, kbs_host, kbs_port, listen)
PY
)
[ -n "$api_port" ] || api_port=$listen_port
relay="$here/../tests/tcp_relay.py"
relay=${relay//,/,,}                 # QEMU option syntax: a comma is doubled
# User networking restricted to two forwards, both ends on 127.0.0.1 only:
# the guest's API to 127.0.0.1:api_port, and the config's broker address to
# the broker on 127.0.0.1:kbs_port (through a per-connection relay).
netdev="user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$api_port-:$listen_port"
netdev+=",guestfwd=tcp:$kbs_host:$kbs_guest_port-cmd:python3 $relay $kbs_port"
cmd=(qemu-system-x86_64
  -enable-kvm -cpu "$vcpu_type" -smp "$vcpus" -m "$mem"
  -machine "q35,confidential-guest-support=sev0,memory-backend=ram1,vmport=off"
  -object "memory-backend-memfd,id=ram1,size=$mem,share=true,prealloc=false,reserve=false"
  -object "sev-snp-guest,id=sev0,cbitpos=$cbitpos,reduced-phys-bits=1,policy=$policy,host-data=$host_data"
  -bios "$image"
  -nodefaults -nographic -no-reboot -serial stdio
  -netdev "$netdev"
  # SNP guests can only DMA through shared pages: the device must use the
  # platform's DMA API (iommu_platform), modern virtio only, no option ROM.
  -device "virtio-net-pci,netdev=n0,disable-legacy=on,iommu_platform=on,romfile="
  -fw_cfg "name=opt/appliance/config,file=$config"
  -fw_cfg "name=opt/appliance/model.sealed,file=$sealed")
[ -z "$vcek" ] || cmd+=(-fw_cfg "name=opt/appliance/vcek,file=$vcek")
if [ "$print" = 1 ]; then
  printf '%q ' "${cmd[@]}"; echo
  echo "expected launch digest: $digest"
  echo "host data (sha256 of $config, base64): $host_data"
  exit 0
fi
exec "${cmd[@]}"
