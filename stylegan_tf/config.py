"""StyleGANConfig: every knob of one experiment, and the one table of named configs.

Defaults are the official FFHQ settings of NVlabs/stylegan (`train.py`, config F at 1024x1024,
trained on 8 GPUs). Flag names follow the official code so a reader can line them up with
`train.py`. Derived values (`num_ws`, channel counts) are properties computed by
`stylegan_tf.geometry`, never stored twice.

Named configs = a Table 1 row (`PRESETS`: A-F, each naming only what its row changes) at a scale
(`SCALES`: official, demo, smoke, tiny). `preset("C", "demo")` is row C at the CPU-demo scale;
`python -m stylegan_tf configs` prints the table.
"""

import ast
import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field, replace

from stylegan_tf import geometry
from stylegan_tf.config_checks import FUSED_SCALE, LOSSES, check_mbstd_groups, validate  # noqa: F401


def _official_minibatch():
    # train.py:L49, the active 8-GPU line (global batch); resolutions not listed use minibatch_base
    return {4: 512, 8: 256, 16: 128, 32: 64, 64: 32}


def _official_lr():
    # train.py:L54-55; resolutions not listed use lr_base
    return {128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003}


@dataclass(frozen=True)
class StyleGANConfig:
    """Every knob of one experiment. Defaults are row F of Table 1, FFHQ 1024x1024, official widths."""

    # -- data ---------------------------------------------------------------------------------
    resolution: int = 1024  # final output resolution (power of two, >= 8)
    num_channels: int = 3  # image channels (RGB)
    data: str = "synthetic-faces"  # dataset: "synthetic-faces", a prepared TFRecord folder, or "tfds:NAME"
    mirror_augment: bool = True  # random horizontal flips of the reals, p = 0.5
    # -- network widths (free, so Tables 2 and 4 and small CPU models can be built) -------------
    fmap_base: int = 8192  # channels at stage s: min(fmap_base / 2^(s * fmap_decay), fmap_max)
    fmap_decay: float = 1.0
    fmap_max: int = 512
    z_dim: int = 512  # latent z (official latent_size)
    w_dim: int = 512  # intermediate latent w (official dlatent_size)
    mapping_fmaps: typing.Optional[int] = None  # width of the hidden mapping layers (official mapping_fmaps); None = w_dim
    # -- generator architecture: the Table 1 switches (official names) -------------------------
    mapping_layers: int = 8  # C: 0 = no mapping network, w = pixel-normalised z
    mapping_lrmul: float = 0.01  # learning-rate multiplier of the mapping network
    use_styles: bool = True  # C: AdaIN styles from w (else: traditional generator)
    use_pixel_norm: bool = False  # A/B: pixel norm after each conv
    use_instance_norm: bool = True  # C+: the normalisation half of AdaIN
    const_input: bool = True  # D: learned 4x4 constant instead of the dense input from w[:, 0]
    use_noise: bool = True  # E: per-layer noise inputs
    style_mixing_prob: float = 0.9  # F: mixing regularisation (0 disables)
    blur_filter: tuple[int, ...] = (1, 2, 1)  # B: low-pass filter around up/down sampling; () = none
    fused_scale: typing.Union[str, bool] = "auto"  # fused up/down convs: "auto" = from 128 px up
    truncation_psi: typing.Optional[float] = 0.7  # default truncation at inference (None = off)
    truncation_cutoff: typing.Optional[int] = 8  # truncate layers [0, cutoff) (None = all; official G_style: off)
    w_avg_beta: float = 0.995  # decay of the tracked mean of W
    # -- discriminator -------------------------------------------------------------------------
    mbstd_group_size: int = 4  # minibatch stddev group size
    mbstd_num_features: int = 1  # minibatch stddev features added
    # -- loss and optimisation -----------------------------------------------------------------
    loss: str = "logistic_r1"  # A: "wgan_gp"
    r1_gamma: float = 10.0  # R1 weight (applied as gamma / 2)
    wgan_lambda: float = 10.0  # WGAN-GP gradient penalty weight
    wgan_target: float = 1.0  # WGAN-GP target gradient norm
    wgan_epsilon: float = 0.001  # WGAN-GP drift penalty on real logits
    lr_base: float = 0.001  # learning rate at resolutions not in lr_dict (G and D)
    lr_dict: dict = field(default_factory=_official_lr)  # resolution -> learning rate
    adam_beta1: float = 0.0
    adam_beta2: float = 0.99
    adam_epsilon: float = 1e-8
    reset_opt_for_new_lod: bool = True  # reset Adam state at every lod boundary
    ema_kimg: float = 10.0  # half-life of the generator EMA (G_ema), in kimg
    # -- schedule (progressive growing) --------------------------------------------------------
    total_kimg: float = 25000.0  # length of training in thousands of real images shown
    lod_initial_resolution: int = 8  # training starts at this resolution
    lod_training_kimg: float = 600.0  # kimg of stable training per resolution
    lod_transition_kimg: float = 600.0  # kimg of fade-in per resolution
    minibatch_base: int = 32  # global minibatch at resolutions not in minibatch_dict
    minibatch_dict: dict = field(default_factory=_official_minibatch)  # resolution -> global batch
    # -- run bookkeeping -----------------------------------------------------------------------
    seed: int = 0  # seeds every random choice of a run
    tick_kimg: float = 4.0  # progress line, TensorBoard scalars and sample grid every tick
    checkpoint_kimg: float = 20.0  # checkpoint interval
    keep_checkpoints: int = 3  # number of checkpoints kept
    metrics: tuple[str, ...] = ()  # metrics of G_ema while training, e.g. ("swd", "fd_probe") (stylegan_tf.metrics)
    metrics_kimg: float = 10.0  # interval of those evaluations (at the first tick past each multiple, and at the end)
    metrics_num_images: int = 0  # images per metric evaluation; 0 = each metric's own default
    mixed_precision: bool = False  # mixed_float16 compute (GPU)
    xla: bool = False  # jit_compile the train step

    def __post_init__(self):
        for f in dataclasses.fields(self):  # 600 -> 600.0 for float fields, so JSON and --set agree
            value = getattr(self, f.name)
            if f.type is float and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, f.name, float(value))
        validate(self)

    # -- derived values ------------------------------------------------------------------------
    @property
    def resolution_log2(self) -> int:
        return geometry.resolution_log2(self.resolution)

    @property
    def num_ws(self) -> int:
        """Number of style inputs (two per resolution from 4x4): 18 at 1024, 8 at 32."""
        return geometry.num_ws(self.resolution)

    def nf(self, stage: int) -> int:
        """Feature maps at `stage`; a block at resolution 2^r uses nf(r - 1)."""
        return geometry.feature_maps(stage, self.fmap_base, self.fmap_decay, self.fmap_max)

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "StyleGANConfig":
        unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown config field(s) {unknown}; allowed: {', '.join(field_names())}")
        d = dict(d)
        for key in ("lr_dict", "minibatch_dict"):  # JSON keys are strings
            if key in d:
                d[key] = {int(k): v for k, v in d[key].items()}
        for key in ("blur_filter", "metrics"):  # JSON lists
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)

    @classmethod
    def from_json(cls, text: str) -> "StyleGANConfig":
        return cls.from_dict(json.loads(text))


def field_names():
    return [f.name for f in dataclasses.fields(StyleGANConfig)]


# -- presets: the rows of Table 1, each naming only what its row changes ----------------------
F_OFFICIAL = StyleGANConfig()
A = replace(  # A: baseline Progressive GAN (nearest resampling, pixel norm, dense input, WGAN-GP)
    F_OFFICIAL,
    mapping_layers=0, use_styles=False, use_pixel_norm=True, use_instance_norm=False,
    const_input=False, use_noise=False, style_mixing_prob=0.0, truncation_psi=None,
    blur_filter=(), loss="wgan_gp",
)
B = replace(A, blur_filter=(1, 2, 1), loss="logistic_r1")  # B: + tuning (bilinear resampling, NS + R1)
C = replace(  # C: + mapping network and AdaIN styles (truncation now meaningful in W)
    B, mapping_layers=8, use_styles=True, use_pixel_norm=False, use_instance_norm=True, truncation_psi=0.7,
)
D = replace(C, const_input=True)  # D: + remove traditional input (learned constant)
E = replace(D, use_noise=True)  # E: + noise inputs
F = replace(E, style_mixing_prob=0.9)  # F: + mixing regularisation
PRESETS = {"A": A, "B": B, "C": C, "D": D, "E": E, "F": F}

# Fields each row changes relative to the previous one (tests check the chain against this).
TABLE1_FIELDS = {
    "B": {"blur_filter", "loss"},
    "C": {"mapping_layers", "use_styles", "use_pixel_norm", "use_instance_norm", "truncation_psi"},
    "D": {"const_input"},
    "E": {"use_noise"},
    "F": {"style_mixing_prob"},
}


# -- scales: the same row at the size of a machine ----------------------------------------------
# Every named config of the project is a row above at one of these scales; nothing else defines one.
SCALES = {
    # the NVlabs FFHQ values: 1024 px, 512 channels, 600 + 600 kimg per resolution, 25,000 kimg (8 GPUs)
    "official": {},
    # the bare `python -m stylegan_tf train` on a 2-core CPU (time measured in README.md, "What the bare command gives")
    "demo": dict(
        resolution=32,
        fmap_base=256, fmap_max=64,  # channels 64 / 64 / 32 / 16 at 4 / 8 / 16 / 32 px
        z_dim=64, w_dim=64, mapping_layers=4,  # the mapping network of rows C-F (A and B have none)
        # the mapping network learns at the full rate: the official lrmul 0.01 is tuned for 25,000 kimg; over
        # 60 kimg it leaves the mapping weights within 1% of their initial values (docs/training.md, "What limits
        # the bare command"), and SWD falls by 40-55% at 1.0 (measured on two seeds)
        mapping_lrmul=1.0,
        # 10 + 10 kimg per resolution from 8 px, then 32 px up to 120 kimg: the styles separate as in Fig. 3 only
        # after about 100 kimg (docs/training.md, "Length"; the shipped Table 1 models run all 120)
        lod_initial_resolution=8, lod_training_kimg=10.0, lod_transition_kimg=10.0, total_kimg=120.0,
        # minibatch 16 at lr 0.002: twice the updates of minibatch 32 for the same images (the official
        # 256 -> 32 minibatches are for 8 GPUs); measured better FD_probe and SWD than 32 at lr 0.001
        minibatch_base=16, minibatch_dict={}, lr_base=0.002, lr_dict={},
        ema_kimg=2.0,  # G_ema half-life; the official 10 kimg is long for a run this short
        tick_kimg=2.0, checkpoint_kimg=10.0,
    ),
    # notebooks in fast mode (STYLEGAN_TF_SMOKE=1): 16 px, 16-32 channels, 20 steps of 16 images, seconds on a CPU
    "smoke": dict(
        resolution=16, fmap_base=64, fmap_max=32, z_dim=16, w_dim=16, mapping_layers=2,
        data="synthetic-faces:256", lod_initial_resolution=16, minibatch_base=16, minibatch_dict={},
        total_kimg=0.32, tick_kimg=0.16, checkpoint_kimg=0.16,
    ),
    # unit tests: 8 px grown from 4 px, 8 images per phase, minibatch 4; one compiled step costs seconds
    "tiny": dict(
        resolution=8, fmap_base=32, fmap_max=16, z_dim=16, w_dim=16, mapping_layers=2,
        lod_initial_resolution=4, lod_training_kimg=0.008, lod_transition_kimg=0.008,
        minibatch_base=4, minibatch_dict={}, total_kimg=0.032, tick_kimg=0.004, checkpoint_kimg=0.016,
        ema_kimg=0.004,  # G_ema beta = 0.5 at batch 4
    ),
}


# Fields of a scale that only rows with a mapping network (C-F) take.
MAPPING_FIELDS = ("mapping_layers", "mapping_lrmul")


def preset(name: str, scale: str = "official", **overrides) -> StyleGANConfig:
    """Returns the config of Table 1 row `name` ("A"-"F") at `scale` (see `SCALES`), with keyword overrides.

    Example: `preset("F", "demo")`, or `preset("C", resolution=32, fmap_base=256, fmap_max=64)`.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)} (rows of Table 1)")
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    unknown = sorted(set(overrides) - set(field_names()))
    if unknown:
        raise ValueError(f"unknown config field(s) {unknown}; allowed: {', '.join(field_names())}")
    fields = dict(SCALES[scale])
    if PRESETS[name].mapping_layers == 0:  # rows A and B have no mapping network at any scale (Table 1):
        for key in MAPPING_FIELDS:  # a scale sizes and tunes the network of C-F, it does not add one
            fields.pop(key, None)
    return replace(PRESETS[name], **{**fields, **overrides})


def config_table() -> str:
    """The named configs as text: each row's Table 1 switches, then each scale's fields."""
    switches = ("mapping_layers", "use_styles", "use_pixel_norm", "use_instance_norm", "const_input", "use_noise",
                "style_mixing_prob", "blur_filter", "loss", "truncation_psi")
    widths = [max(len(k), *(len(str(getattr(c, k))) for c in PRESETS.values())) for k in switches]
    lines = ["rows of Table 1 (preset NAME):", "  row  " + "  ".join(k.ljust(w) for k, w in zip(switches, widths))]
    for name, cfg in PRESETS.items():
        lines.append(f"  {name}    " + "  ".join(str(getattr(cfg, k)).ljust(w) for k, w in zip(switches, widths)))
    lines.append("scales (preset NAME SCALE), fields changed from the official values:")
    for name, fields in SCALES.items():
        lines.append(f"  {name:9s}" + (", ".join(f"{k}={v}" for k, v in fields.items()) or "(none)"))
    return "\n".join(lines)


def config_diff(old, new) -> str:
    """The fields that differ between two configs (or preset names such as "A", "B"), one `field: old -> new` per line.

    The chapters print `config_diff("D", "E")` to show what one row of Table 1 changes.
    """
    old = PRESETS[old] if isinstance(old, str) else old
    new = PRESETS[new] if isinstance(new, str) else new
    changed = [k for k in field_names() if getattr(old, k) != getattr(new, k)]
    return "\n".join(f"{k}: {getattr(old, k)!r} -> {getattr(new, k)!r}" for k in changed) or "(no difference)"


def _example(f) -> str:
    """A value of field `f` for messages: its default, or 1.0 where the default is None."""
    default = f.default if f.default is not dataclasses.MISSING else None
    return repr(default if default is not None else 1.0)


def parse_override(cfg: StyleGANConfig, text: str) -> dict:
    """Parses one `--set key=value` into {key: value}, type-checked against the field.

    Values are Python literals (`ast.literal_eval`); bare words are taken as strings.
    """
    if "=" not in text:
        raise ValueError(f"--set {text!r}: expected key=value, e.g. --set resolution=32")
    key, raw = (s.strip() for s in text.split("=", 1))
    fields = {f.name: f for f in dataclasses.fields(StyleGANConfig)}
    if key not in fields:
        raise ValueError(f"--set {key}: unknown config field; allowed: {', '.join(fields)}")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw  # a bare word such as wgan_gp
    expected = fields[key].type  # the declared type: int, float, bool, str, dict, tuple or an Optional/Union
    types = typing.get_args(expected) if typing.get_origin(expected) is typing.Union else (expected,)
    if float in types:
        if isinstance(value, str):  # inf, nan: not Python literals, so they arrive as words
            try:
                value = float(value)
            except ValueError:
                pass
        elif isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, float) and not math.isfinite(value):  # also 1e999, which Python reads as inf
            raise ValueError(f"--set {key}={raw}: the value must be finite; give a number such as "
                             f"{_example(fields[key])}")
    if expected is tuple or typing.get_origin(expected) is tuple:
        if isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, str):  # a bare comma-separated list: --set metrics=swd,fd_probe
            value = tuple(v.strip() for v in value.split(",") if v.strip())
        types = (tuple,)
    allowed = tuple(t for t in types if isinstance(t, type))
    if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
        names = " or ".join("None" if t is type(None) else t.__name__ for t in allowed)
        raise ValueError(f"--set {key}={raw}: expected a value of type {names}, got {value!r}")
    return {key: value}
