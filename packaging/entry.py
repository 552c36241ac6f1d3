"""Entry point of the single-file executable: the same as `python -m host` (= the `waypost` script)."""

from __future__ import annotations

import multiprocessing
import sys

from host.cli import main

if __name__ == "__main__":
    # a worker that uses multiprocessing re-executes this binary for its children; this hands
    # such a child to multiprocessing instead of parsing its arguments as a waypost command
    multiprocessing.freeze_support()
    sys.exit(main())
