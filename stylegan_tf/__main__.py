"""`python -m stylegan_tf ...` entry point."""

import os
import sys

# keep TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notes) out of the command's output;
# set TF_CPP_MIN_LOG_LEVEL=0 to see it
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from stylegan_tf.cli import main  # noqa: E402

sys.exit(main())
