#!/usr/bin/env bash
# N appliances, one key broker and HAProxy in front: see scripts/fleet.py.
exec python3 "$(dirname "$0")/../scripts/fleet.py" "$@"
