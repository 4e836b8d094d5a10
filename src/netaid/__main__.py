"""`python -m netaid`: the same command line as the `netaid` script."""

import sys

from netaid.cli import main

if __name__ == "__main__":
    sys.exit(main())
