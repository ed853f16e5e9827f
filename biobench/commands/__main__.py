"""``python -m biobench.commands ...`` does what ``biobench ...`` does."""

import sys

from biobench.commands.main import main

sys.exit(main())
