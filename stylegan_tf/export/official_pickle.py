"""Reads NVIDIA's StyleGAN v1 network pickles without running anything they contain.

The official files (`karras2019stylegan-ffhq-1024x1024.pkl`, ...) are a pickled tuple `(G, D, Gs)` of
`dnnlib.tflib.network.Network` objects. Unpickling one with the official code calls
`Network.__setstate__`, which `exec`s the network's embedded source code (`build_module_src`) and builds a
TF1 graph. Here a restricted unpickler (`pickle.Unpickler.find_class`) resolves only the names such a file
needs, each to a harmless stand-in:

    dnnlib.tflib.network.Network                 -> `_NetworkState`, which keeps the state dict and runs nothing
    numpy.core.multiarray._reconstruct, .scalar  -> NumPy's array and scalar rebuilders (the 2019 files use the
    numpy._core.multiarray._reconstruct, .scalar    NumPy 1.x module name; NumPy 2 moved it to numpy._core)
    numpy.ndarray, numpy.dtype

Any other name (`os.system`, `builtins.eval`, a PyTorch class, ...) stops the load at once, before the object
that names it is built, with an `UnsupportedPickleError` naming it; so does anything in the state that a v1
network never holds. No `dnnlib` package is needed. The state dict (official `Network.__getstate__`, version 3;
version 2 is the same for our purposes) is

    {"version", "name", "static_kwargs", "components": {name: Network}, "build_module_src",
     "build_func_name", "variables": [(local name, array), ...]}

and `load_official_pickle` returns it as `OfficialNetwork`s whose `variables` are named as the official
`Network.vars` names them: own variables by their local name (`lod`, `dlatent_avg`), component variables
prefixed by the component's name (`G_synthesis/4x4/Const/const`, `G_mapping/Dense0/weight`). The build
function's keyword defaults (e.g. `G_style`'s `truncation_psi=0.7`) are read from `build_module_src` with
`ast.parse` / `ast.literal_eval`, which parse text and never run it.
"""

import ast
import dataclasses
import os
import pickle

import numpy as np

__all__ = ["OfficialNetwork", "UnsupportedPickleError", "load_official_pickle"]

V1_VERSIONS = (2, 3)  # official Network.__setstate__ accepts these; StyleGAN2's dnnlib writes version 4
V1_BUILD_FUNCS = {"G": "G_style", "D": "D_basic", "Gs": "G_style"}
V1_COMPONENTS = {"G_style": {"synthesis": "G_synthesis", "mapping": "G_mapping"}, "D_basic": {},
                 "G_synthesis": {}, "G_mapping": {}}
OTHER_BUILD_FUNCS = {  # build functions of the other NVlabs GANs that share the pickle format
    "G_main": "a StyleGAN2 (NVlabs/stylegan2 or stylegan2-ada TF) network", "D_stylegan2": "a StyleGAN2 network",
    "G_synthesis_stylegan2": "a StyleGAN2 network", "G_synthesis_stylegan_revised": "a StyleGAN2 network",
    "G_paper": "a Progressive GAN network (networks_progan)", "D_paper": "a Progressive GAN network (networks_progan)",
}
FOREIGN_MODULES = {  # first module name -> what a file naming it probably is
    "torch": "a PyTorch pickle (StyleGAN2-ADA PyTorch, StyleGAN3 or a PyTorch port)",
    "torch_utils": "a StyleGAN2-ADA PyTorch / StyleGAN3 pickle", "tfutil": "a Progressive GAN (2018) pickle",
}


class UnsupportedPickleError(ValueError):
    """The file is not a StyleGAN v1 network pickle, or holds something that such a pickle never holds."""


class _NetworkState:
    """Stands in for `dnnlib.tflib.network.Network` while unpickling: keeps the state, runs nothing."""

    def __setstate__(self, state):
        self.state = state


def _numpy_multiarray():
    try:
        from numpy._core import multiarray  # NumPy 2
    except ImportError:  # NumPy 1.x
        from numpy.core import multiarray
    return multiarray


_MULTIARRAY = _numpy_multiarray()
ALLOWED_NAMES = {
    ("dnnlib.tflib.network", "Network"): _NetworkState,
    ("numpy.core.multiarray", "_reconstruct"): _MULTIARRAY._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _MULTIARRAY._reconstruct,
    ("numpy.core.multiarray", "scalar"): _MULTIARRAY.scalar,
    ("numpy._core.multiarray", "scalar"): _MULTIARRAY.scalar,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, path):
        super().__init__(file)
        self.path = path

    def find_class(self, module, name):
        found = ALLOWED_NAMES.get((module, name))
        if found is not None:
            return found
        what = FOREIGN_MODULES.get(module.split(".")[0], "not a StyleGAN v1 network pickle")
        raise UnsupportedPickleError(
            f"{self.path}: refused: the pickle refers to {module}.{name}, and a StyleGAN v1 network pickle refers "
            f"only to dnnlib.tflib.network.Network and NumPy arrays ({what}); nothing in it was run")

    def persistent_load(self, pid):
        raise UnsupportedPickleError(f"{self.path}: refused: the pickle uses persistent ids (a PyTorch checkpoint?), "
                                     f"which a StyleGAN v1 network pickle never does")


@dataclasses.dataclass
class OfficialNetwork:
    """One network of an official pickle, as data: its name, build function, kwargs and variables."""

    name: str  # e.g. "G", "D", "Gs"; components are "G_synthesis", "G_mapping"
    build_func_name: str  # "G_style", "D_basic", "G_synthesis" or "G_mapping"
    static_kwargs: dict  # the keyword arguments the network was built with (official `static_kwargs`)
    variables: dict  # official `Network.vars` name -> float32 array (components' names prefixed)
    components: dict  # component key ("synthesis", "mapping") -> OfficialNetwork
    source_defaults: dict = dataclasses.field(default_factory=dict)  # literal defaults of the build function

    @property
    def kwargs(self):
        """The keyword arguments the build function ran with, as far as literals tell: static_kwargs over the
        defaults in its embedded source."""
        return {**self.source_defaults, **self.static_kwargs}


def load_official_pickle(path):
    """Reads an official StyleGAN v1 pickle into {"G", "D", "Gs"} -> OfficialNetwork, executing nothing.

    Raises FileNotFoundError for a missing file and UnsupportedPickleError (a ValueError) with a one-line
    message for anything that is not an intact StyleGAN v1 `(G, D, Gs)` pickle.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} is not a file: pass the path of a downloaded official network pickle "
                                f"such as karras2019stylegan-ffhq-1024x1024.pkl")
    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(0)
        if head.startswith(b"PK\x03\x04"):
            raise UnsupportedPickleError(f"{path} is a zip archive (a PyTorch checkpoint saved by torch.save?), not "
                                         f"a StyleGAN v1 network pickle")
        try:
            obj = _RestrictedUnpickler(f, path).load()
        except UnsupportedPickleError:
            raise
        except (EOFError, pickle.UnpicklingError) as e:
            raise UnsupportedPickleError(f"{path} is truncated or not a pickle ({type(e).__name__}: {e}); "
                                         f"download it again") from None
        except Exception as e:  # a malformed pickle can fail inside NumPy or pickle in many ways
            raise UnsupportedPickleError(f"{path} is not a valid StyleGAN v1 network pickle "
                                         f"({type(e).__name__}: {e})") from None
    if not (isinstance(obj, tuple) and len(obj) == 3 and all(isinstance(n, _NetworkState) for n in obj)):
        raise UnsupportedPickleError(f"{path} holds {_describe(obj)}, not the tuple (G, D, Gs) of three networks "
                                     f"that every official StyleGAN v1 network pickle holds")
    return {role: _network(net.state, V1_BUILD_FUNCS[role], f"{path}: {role}")
            for role, net in zip(("G", "D", "Gs"), obj)}


def _describe(obj):
    if isinstance(obj, (tuple, list)):
        return f"a {type(obj).__name__} of {len(obj)} items ({', '.join(_describe(o) for o in obj[:4])})"
    return "a network" if isinstance(obj, _NetworkState) else f"a {type(obj).__name__}"


def _network(state, expected_func, where):
    """Checks one network state (recursively) and returns it as an OfficialNetwork."""
    def fail(problem):
        raise UnsupportedPickleError(f"{where}: {problem}")

    if not isinstance(state, dict):
        fail(f"the network state is {_describe(state)}, not a dict")
    func = state.get("build_func_name")
    if func in OTHER_BUILD_FUNCS or state.get("version", 0) not in V1_VERSIONS:
        what = OTHER_BUILD_FUNCS.get(func, f"a network state of version {state.get('version')!r}")
        fail(f"this is {what} (build function {func!r}), not StyleGAN v1 (NVlabs/stylegan: G_style, D_basic, "
             f"state version 2 or 3); only StyleGAN v1 pickles can be converted")
    missing = sorted({"name", "static_kwargs", "build_func_name", "variables"} - set(state))
    if missing:
        fail(f"the network state lacks {missing}")
    if func != expected_func:
        fail(f"build function {func!r}, expected {expected_func!r}")
    if not isinstance(state["name"], str) or not isinstance(state["static_kwargs"], dict):
        fail("the network name or static_kwargs have the wrong type")
    if any(not isinstance(k, str) for k in state["static_kwargs"]):
        fail("static_kwargs has a key that is not a string")
    variables = {}
    if not isinstance(state["variables"], (list, tuple)):
        fail(f"variables is {_describe(state['variables'])}, not a list of (name, array) pairs")
    for item in state["variables"]:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
            fail(f"variables holds {_describe(item)}, not a (name, array) pair")
        name, value = item
        if not isinstance(value, (np.ndarray, np.generic)) or np.asarray(value).dtype.kind != "f":
            fail(f"variable {name!r} is {_describe(value)}"
                 f"{' of dtype ' + str(np.asarray(value).dtype) if isinstance(value, (np.ndarray, np.generic)) else ''}"
                 f", not a float array")
        if name in variables:
            fail(f"variable {name!r} appears twice")
        variables[name] = np.asarray(value, np.float32)
    components = {}
    given = state.get("components") or {}
    if not isinstance(given, dict) or set(given) != set(V1_COMPONENTS[func]):
        fail(f"components {sorted(given) if isinstance(given, dict) else _describe(given)}, expected "
             f"{sorted(V1_COMPONENTS[func])}")
    for key, comp in given.items():
        if not isinstance(comp, _NetworkState):
            fail(f"component {key!r} is {_describe(comp)}, not a network")
        components[key] = sub = _network(comp.state, V1_COMPONENTS[func][key], f"{where}/{key}")
        variables.update((f"{sub.name}/{name}", value) for name, value in sub.variables.items())
    defaults = _literal_defaults(state.get("build_module_src"), func)
    return OfficialNetwork(state["name"], func, dict(state["static_kwargs"]), variables, components, defaults)


def _literal_defaults(source, func_name):
    """{argument: default} for the literal defaults of top-level `func_name` in `source`; parsed, never run."""
    if not isinstance(source, str):
        return {}
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == func_name:
            a = node.args
            pairs = list(zip(a.args[len(a.args) - len(a.defaults):], a.defaults))
            pairs += [(arg, d) for arg, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
            defaults = {}
            for arg, default in pairs:
                try:
                    defaults[arg.arg] = ast.literal_eval(default)
                except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
                    pass  # not a literal (e.g. np.sqrt(2)): the converter's fallback applies
            return defaults
    return {}
