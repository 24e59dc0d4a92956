#!/usr/bin/env bash
# The main job: install what is missing, build the tools, then run
# scripts/demo.py: quantize and seal the model, build the pinned image,
# start the key broker on 127.0.0.1, boot the appliance under QEMU (KVM
# when it works here, TCG otherwise), and watch it attest, receive its key
# and unseal the model, then verify it with appliance-client and send
# example sentences as OHTTP-encrypted embeddings requests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "[run] building image-builder, keybroker and appliance-client (release)"
cargo build --locked --release -q -p image-builder -p keybroker -p appliance-client
exec python3 scripts/demo.py
