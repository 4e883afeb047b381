"""Training: losses (one class per loss family), the schedule, the train step, the Trainer, checkpoints, run logs.

Imports flow one way: losses -> train_step -> trainer; schedule, checkpoint and run_log are leaves.
"""

from stylegan_tf import _quiet  # noqa: F401,E402  (imports TensorFlow without its C++ start-up lines)
