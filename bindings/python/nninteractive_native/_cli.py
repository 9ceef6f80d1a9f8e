"""The ``nni`` console script of the wheel: runs the bundled command-line tool (``bin/nni``, the
Rust binary) with the same arguments, in place of this process."""

import os
import sys


def main():
    binary = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "nni")
    if not os.access(binary, os.X_OK):
        sys.exit(f"nni: the bundled binary {binary} is missing; reinstall nninteractive-native")
    os.execv(binary, [binary] + sys.argv[1:])


if __name__ == "__main__":
    main()
