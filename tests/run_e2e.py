"""Runs every end-to-end test module with one closing summary line.
Usage: tests/run_e2e.py [TEST_NAME...]"""

import sys

import e2e_boot  # noqa: F401  (registers its tests)
import e2e_binary_check  # noqa: F401
import e2e_engine  # noqa: F401
import e2e_net  # noqa: F401
import e2e_http  # noqa: F401
import e2e_keyrelease  # noqa: F401
import e2e_trustee  # noqa: F401
import e2e_serving  # noqa: F401
import e2e_fleet  # noqa: F401
from harness import main

if __name__ == "__main__":
    main(sys.argv[1:] or None)
