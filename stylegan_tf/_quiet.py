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


_import_quietly()
