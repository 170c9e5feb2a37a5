import sys

from optimlab.cli import main

sys.exit(main())
