"""`python -m fakelens ...`: the same command line as the installed `fakelens`."""

import sys

from .cli import main

sys.exit(main())
