"""``python -m include.cli``: run the command line (:mod:`include.cli`)."""

import sys

from include.cli import main

sys.exit(main())
