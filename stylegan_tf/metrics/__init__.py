"""Metrics: one module per metric, registered by name; `calc_metric(name, G, data, num_images)` runs one.

A metric is a function `fn(G, data, num_images, **options) -> dict` decorated with
`@register_metric("name")` in a module of this package; every module here is imported on the first
lookup, so a new metric is one new file. `G` is a trained `stylegan_tf.networks.Generator` (metrics
that only need images call it through `sampling.generated_images`); `data` names the reals as the
config's `data` field does ("synthetic-faces", a prepared folder, "tfds:NAME").

The dict a metric returns holds its numbers (e.g. {"swd": 12.3, "swd_16": ...}) and the run's
facts: "num_images", "seconds", and where it matters the distance or network used.
"""

from stylegan_tf import _quiet  # noqa: F401,E402  (imports TensorFlow without its C++ start-up lines)

import importlib
import inspect
import pkgutil
import time

__all__ = ["register_metric", "calc_metric", "list_metrics"]

_REGISTRY = {}  # name -> function
SOFT_OPTIONS = ("progress",)  # offered to every metric by callers, passed only where the signature names it
_LOADED = False


def register_metric(name):
    """Decorator: registers `fn(G, data, num_images, **options) -> dict` under `name`."""
    def decorator(fn):
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            raise ValueError(f"metric {name!r} is registered twice ({_REGISTRY[name].__module__}, {fn.__module__})")
        _REGISTRY[name] = fn
        return fn
    return decorator


def _load_all():
    global _LOADED
    if not _LOADED:
        for module in pkgutil.iter_modules(__path__):
            if not module.name.startswith("_"):
                importlib.import_module(f"{__name__}.{module.name}")
        _LOADED = True


def list_metrics() -> list:
    """Names of every registered metric, sorted."""
    _load_all()
    return sorted(_REGISTRY)


def calc_metric(name, G, data, num_images=None, **options) -> dict:
    """Runs metric `name` on generator `G` against the reals of `data`; returns its dict (with "seconds").

    `num_images=None` uses the metric's own default. Unknown names are a ValueError listing the known ones.
    Options in `SOFT_OPTIONS` (e.g. the CLI's `progress=True`) reach only metrics whose signature names them.
    """
    _load_all()
    if name not in _REGISTRY:
        raise ValueError(f"unknown metric {name!r}; choose from {', '.join(sorted(_REGISTRY))}")
    params = inspect.signature(_REGISTRY[name]).parameters
    kwargs = {k: v for k, v in options.items() if k not in SOFT_OPTIONS or k in params}
    if num_images is not None:
        kwargs["num_images"] = int(num_images)
    start = time.perf_counter()
    result = dict(_REGISTRY[name](G, data, **kwargs))
    result.setdefault("seconds", time.perf_counter() - start)
    return result
