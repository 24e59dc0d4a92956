#!/usr/bin/env bash
# Prints the accelerator to use: "kvm" when /dev/kvm exists AND actually
# boots this appliance image to its ready line, otherwise "tcg".
# Some hosts offer a /dev/kvm that cannot run it (e.g. a software KVM whose
# instruction emulator lacks SSE), so opening the device is not enough.
# APPLIANCE_ACCEL=kvm|tcg overrides the probe.
set -euo pipefail
image=${1:?usage: accel.sh IMAGE}
if [ -n "${APPLIANCE_ACCEL:-}" ]; then echo "$APPLIANCE_ACCEL"; exit 0; fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
  echo "accel: /dev/kvm not usable, using TCG" >&2; echo tcg; exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf exit > "$tmp/selftest"
set +e
# In a subshell so that QEMU aborting (as it does on some hosts) is not
# reported by this shell as a crash of its own.
bash -c 'timeout 15 "$@" >"$0" 2>&1' "$tmp/qemu.log" qemu-system-x86_64 -machine q35 -accel kvm -cpu host -m 128M -smp 1 \
  -bios "$image" -nodefaults -nographic -no-reboot -serial "file:$tmp/serial" \
  -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
  -fw_cfg "name=opt/appliance/selftest,file=$tmp/selftest" 2>/dev/null
rc=$?
set -e
# 33: a test image powered off as asked; 124: a production image (it has no
# self-tests and never powers off on request) reached ready and waited.
if { [ "$rc" = 33 ] || [ "$rc" = 124 ]; } && grep -q "appliance ready" "$tmp/serial"; then
  echo kvm
else
  echo "accel: KVM present but the probe boot failed (exit $rc: $(head -c 200 "$tmp/qemu.log" | tr '\n' ' ')), using TCG" >&2
  echo tcg
fi
