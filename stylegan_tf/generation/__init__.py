"""Generation: the paper's figures as arrays (`figures`) and their conversion to pictures (`viz`)."""

from stylegan_tf import _quiet  # noqa: F401  (imports TensorFlow without its C++ start-up lines)
