"""`python -m stylegan_tf ...` entry point."""

import sys

from stylegan_tf.cli import main

sys.exit(main())
