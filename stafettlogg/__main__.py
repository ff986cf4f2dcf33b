"""`python -m stafettlogg` is the `stafettlogg` command."""

import sys

from stafettlogg.cli import main

sys.exit(main())
