"""`python -m maixnn ...` is the `maixnn` command."""
import sys

from .cli import main

sys.exit(main())
