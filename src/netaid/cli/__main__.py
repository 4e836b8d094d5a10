import sys

from netaid.cli import main

sys.exit(main())
