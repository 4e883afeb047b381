"""Imports TensorFlow once, without the C++ start-up lines it prints before its logging is set up.

TensorFlow writes lines such as "oneDNN custom operations are on", "Could not find cuda drivers"
and "failed call to cuInit: ... UNKNOWN ERROR (303)" straight to the process's stderr (file
descriptor 2) while it loads, before TF_CPP_MIN_LOG_LEVEL takes effect for some of them; a newcomer
cannot tell them from real errors. Every subpackage that uses TensorFlow imports this module first,
which:

- sets TF_CPP_MIN_LOG_LEVEL=3 (C++ logs: fatal only) unless the user set it;
- points descriptor 2 at a temporary file while `import tensorflow` runs, then restores it; if the
  import fails, the captured lines are printed before the exception, so nothing real is lost.

Set STYLEGAN_TF_VERBOSE=1 (what `python -m stylegan_tf --verbose` does) or TF_CPP_MIN_LOG_LEVEL
yourself to see TensorFlow's own output.
"""

import os
import sys
import tempfile

_VERBOSE = os.environ.get("STYLEGAN_TF_VERBOSE") == "1" or "TF_CPP_MIN_LOG_LEVEL" in os.environ


def _import_quietly():
    if "tensorflow" in sys.modules or _VERBOSE:
        import tensorflow  # noqa: F401
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _no_thread_spinning():
    """Idle TensorFlow pool threads sleep instead of spinning (ConfigProto.experimental.disable_thread_spinning).

    On 2 cores the step's thousands of small kernels leave the pools' threads idle for short moments
    many times a step, and a spinning thread burns CPU the step then lacks (docs/performance.md). Only
    before TensorFlow's runtime starts (its first op), and only if the context has no config yet;
    STYLEGAN_TF_THREAD_SPINNING=1 keeps TensorFlow's default.
    """
    if os.environ.get("STYLEGAN_TF_THREAD_SPINNING") == "1":
        return
    try:
        from tensorflow.core.protobuf import config_pb2
        from tensorflow.python.eager import context

        ctx = context.context()
        if ctx._context_handle is None and ctx._config is None:
            config = config_pb2.ConfigProto()
            config.experimental.disable_thread_spinning = True
            ctx._config = config
    except (ImportError, AttributeError):  # another TensorFlow's internals: keep its default
        pass


_import_quietly()
_no_thread_spinning()
