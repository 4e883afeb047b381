"""Training: losses (one class per loss family), the schedule, the train step, the Trainer, checkpoints, run logs.

Imports flow one way: losses -> train_step -> trainer; schedule, checkpoint and run_log are leaves.
"""
