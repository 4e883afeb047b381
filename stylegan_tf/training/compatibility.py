"""What a checkpoint must match to be restored: the model's variables, by name and shape, and the config.

Variables are saved under their names (`named_variables`: the Keras variable paths, e.g.
`G/synthesis/b8_layer0/conv/kernel`); `check_variables` compares a checkpoint's names and shapes with
the model's before anything is read, so a checkpoint of a differently built model is an error naming
the mismatched variables, never a silent restore into the wrong ones. `check_resumable` compares the
stored config with the current one: only the fields in `RESUMABLE_FIELDS` may differ.
"""

import json
import os

import tensorflow as tf

# Fields that may differ between a checkpoint and the run resuming from it: they change how long the
# run is and how often it reports or saves, or only how the step is compiled, never the model or the maths.
RESUMABLE_FIELDS = ("total_kimg", "tick_kimg", "checkpoint_kimg", "keep_checkpoints", "xla",
                    "metrics", "metrics_kimg", "metrics_num_images")  # what is measured never changes training


def named_variables(obj) -> dict:
    """{path: variable} for every variable of a Keras model or optimizer (or a dict of them, passed through).

    Raises:
        ValueError: two variables share a path (the checkpoint could not tell them apart).
    """
    if isinstance(obj, dict):
        return dict(obj)
    out = {}
    for v in obj.variables:
        name = getattr(v, "path", None) or v.name
        if name in out:
            raise ValueError(f"two variables of {getattr(obj, 'name', obj)} are both named {name!r}; "
                             f"give their layers distinct names so checkpoints can tell them apart")
        out[name] = v
    return out


def flatten_objects(objects: dict) -> dict:
    """{"G": {"G/x/kernel": v}, "step": v} -> {"G/G/x/kernel": v, "step": v} (the names a checkpoint stores)."""
    flat = {}
    for group, item in objects.items():
        if isinstance(item, dict):
            flat.update({f"{group}/{name}": v for name, v in item.items()})
        else:
            flat[group] = item
    return flat


def _stored_shapes(prefix: str) -> dict:
    """{name: shape} of the variables in checkpoint `prefix`, under the names `flatten_objects` gives."""
    suffix = "/.ATTRIBUTES/VARIABLE_VALUE"
    shapes = {}
    for key, shape in tf.train.list_variables(prefix):
        if key.endswith(suffix) and not key.startswith("_CHECKPOINTABLE_OBJECT_GRAPH"):
            shapes[key[: -len(suffix)].replace(".S", "/").replace("..", ".")] = tuple(shape)
    return shapes


def check_variables(prefix: str, objects: dict, where: str):
    """Raises ValueError naming every variable whose name or shape differs between checkpoint and `objects`."""
    stored = _stored_shapes(prefix)
    current = {name: tuple(v.shape) for name, v in flatten_objects(objects).items()}
    missing = sorted(set(current) - set(stored))
    unexpected = sorted(set(stored) - set(current))
    wrong = sorted(n for n in set(current) & set(stored) if current[n] != stored[n])
    problems = []
    if wrong:
        problems.append("shape differs: " + ", ".join(f"{n} (checkpoint {stored[n]}, model {current[n]})"
                                                      for n in wrong[:5]) + (" ..." if len(wrong) > 5 else ""))
    if missing:
        problems.append("not in the checkpoint: " + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""))
    if unexpected:
        problems.append("not in the model: " + ", ".join(unexpected[:5]) + (" ..." if len(unexpected) > 5 else ""))
    if problems:
        raise ValueError(f"checkpoint {where} does not match the model being restored ({'; '.join(problems)}); "
                         f"it was written by a differently built model: resume with the checkpoint's config, "
                         f"or start a new run in another --out folder")


def read_config(path: str) -> dict:
    """The config dict stored in checkpoint folder `path`."""
    with open(os.path.join(path, "config.json")) as f:
        return json.load(f)


def config_diff(stored: dict, current: dict, ignore=RESUMABLE_FIELDS) -> list:
    """Names of the config fields whose values differ (JSON-normalised), except those in `ignore`."""
    norm = lambda d: json.loads(json.dumps(d, sort_keys=True))  # noqa: E731 - dict keys/tuples as in JSON
    a, b = norm(stored), norm(current)
    return sorted(k for k in set(a) | set(b) if k not in ignore and a.get(k, "<missing>") != b.get(k, "<missing>"))


def check_resumable(stored: dict, cfg, where: str):
    """Raises ValueError naming the fields in which `cfg` contradicts the `stored` config of checkpoint `where`.

    A field the checkpoint does not name was added to the config after it was written; it is taken at its
    default, which keeps the behaviour the checkpoint was trained with (e.g. `mapping_fmaps=None` = w_dim).
    """
    stored = {**type(cfg)().to_dict(), **stored}
    differ = config_diff(stored, cfg.to_dict())
    if differ:
        current = json.loads(cfg.to_json())
        detail = "; ".join(f"{k}: checkpoint {stored.get(k)!r}, now {current.get(k)!r}" for k in differ)
        raise ValueError(
            f"the config contradicts the checkpoint {where} in {len(differ)} field(s): {detail}. "
            f"Resume with the checkpoint's values (only {', '.join(RESUMABLE_FIELDS)} may change), "
            f"or start a new run in another --out folder"
        )
