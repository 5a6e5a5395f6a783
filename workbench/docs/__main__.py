"""`python -m workbench.docs PREFIX`: install the man page and completions under PREFIX."""

import sys

from workbench.docs.install import main

sys.exit(main(sys.argv[1:]))
