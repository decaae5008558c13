import sys

from kcanary.cli import main

sys.exit(main())
