import sys

from processors.cli import main

sys.exit(main())
