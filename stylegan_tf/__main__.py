"""`python -m stylegan_tf ...` entry point (TensorFlow is imported only once a command has checked its arguments)."""

import sys

from stylegan_tf.cli import main

sys.exit(main())
