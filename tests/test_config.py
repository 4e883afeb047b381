"""StyleGANConfig: presets as Table 1, JSON round trip, validation and --set parsing."""

import dataclasses
import re

import pytest

from stylegan_tf import PRESETS, SCALES, StyleGANConfig, preset
from stylegan_tf.config import MAPPING_FIELDS, TABLE1_FIELDS, parse_override


def changed_fields(a, b):
    return {f.name for f in dataclasses.fields(a) if getattr(a, f.name) != getattr(b, f.name)}


def test_each_preset_changes_only_its_table1_row():
    names = list(PRESETS)
    for prev, name in zip(names, names[1:]):
        assert changed_fields(PRESETS[prev], PRESETS[name]) == TABLE1_FIELDS[name], name


def test_preset_rows():
    a, b, f = preset("A"), preset("B"), preset("F")
    assert (a.use_pixel_norm, a.blur_filter, a.const_input, a.loss) == (True, (), False, "wgan_gp")
    assert (b.blur_filter, b.loss, b.mapping_layers, b.use_styles) == ((1, 2, 1), "logistic_r1", 0, False)
    assert (preset("C").mapping_layers, preset("C").const_input, preset("D").const_input) == (8, False, True)
    assert (preset("D").use_noise, preset("E").use_noise, preset("E").style_mixing_prob) == (False, True, 0.0)
    assert f == StyleGANConfig() and f.style_mixing_prob == 0.9 and f.num_ws == 18
    assert [f.nf(r - 1) for r in range(2, 11)] == [512, 512, 512, 512, 256, 128, 64, 32, 16]  # official nf()


def test_overrides_keep_the_free_fields_free():
    cfg = preset("F", resolution=32, mapping_layers=2, style_mixing_prob=0.5, fmap_base=128, z_dim=64, w_dim=32)
    assert (cfg.resolution, cfg.num_ws, cfg.mapping_layers, cfg.w_dim) == (32, 8, 2, 32)


def test_frozen_and_json_round_trip():
    cfg = preset("C", resolution=64, lr_dict={64: 0.002}, minibatch_dict={8: 16, 64: 4})
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.resolution = 8
    assert StyleGANConfig.from_json(cfg.to_json()) == cfg


@pytest.mark.parametrize("overrides,match", [
    (dict(resolution=48), "power of two >= 8"),
    (dict(resolution=4), "power of two >= 8"),
    (dict(style_mixing_prob=1.5), r"probability in \[0, 1\]"),
    (dict(loss="hinge"), "logistic_r1"),
    (dict(mapping_layers=0, w_dim=64), "equal to z_dim"),
    (dict(lod_initial_resolution=64, resolution=32), "lod_initial_resolution"),
])
def test_invalid_values_say_what_is_allowed(overrides, match):
    with pytest.raises(ValueError, match=match):
        preset("F", **overrides)


def test_unknown_preset_and_field():
    with pytest.raises(ValueError, match="choose one of A, B, C, D, E, F"):
        preset("G")
    with pytest.raises(ValueError, match="unknown config field.*resolution"):
        preset("F", resolutoin=32)
    with pytest.raises(ValueError, match="unknown config field"):
        StyleGANConfig.from_dict({"colour": "red"})


def test_parse_override():
    cfg = preset("F")
    assert parse_override(cfg, "resolution=32") == {"resolution": 32}
    assert parse_override(cfg, "lr_base=1") == {"lr_base": 1.0}
    assert parse_override(cfg, "loss=wgan_gp") == {"loss": "wgan_gp"}
    assert parse_override(cfg, "blur_filter=[1,3,3,1]") == {"blur_filter": (1, 3, 3, 1)}
    assert parse_override(cfg, "minibatch_dict={8: 16}") == {"minibatch_dict": {8: 16}}
    with pytest.raises(ValueError, match="expected a value of type int"):
        parse_override(cfg, "resolution=big")
    with pytest.raises(ValueError, match="unknown config field"):
        parse_override(cfg, "colour=1")
    with pytest.raises(ValueError, match="key=value"):
        parse_override(cfg, "resolution")


def test_float_fields_accept_integers():
    cfg = preset("F", total_kimg=60)
    assert isinstance(cfg.total_kimg, float) and isinstance(preset("F").lod_training_kimg, float)
    assert parse_override(cfg, "lod_training_kimg=0.5") == {"lod_training_kimg": 0.5}
    assert parse_override(cfg, "truncation_psi=None") == {"truncation_psi": None}
    with pytest.raises(ValueError, match="type bool"):
        parse_override(cfg, "use_noise=3")


def test_every_named_config_is_a_row_at_a_scale(capsys):
    from stylegan_tf import SCALES, cli
    from stylegan_tf.config import LOSSES
    from stylegan_tf.training.losses import LOSSES as LOSS_CLASSES

    assert set(LOSSES) == set(LOSS_CLASSES)  # the config validates exactly the loss families that exist
    for row in PRESETS:
        for scale, fields in SCALES.items():
            cfg = preset(row, scale)
            sized = {k: v for k, v in fields.items() if not (k in MAPPING_FIELDS and row in "AB")}
            assert all(getattr(cfg, k) == v for k, v in sized.items())
            table1 = {f: getattr(PRESETS[row], f) for f in ("use_styles", "const_input", "use_noise", "loss")
                      + (MAPPING_FIELDS if row in "AB" else ())}  # A and B keep no mapping network, official lrmul
            assert all(getattr(cfg, k) == v for k, v in table1.items())  # a scale never changes the row
    assert preset("F", "demo", resolution=64).resolution == 64  # overrides win over the scale
    with pytest.raises(ValueError, match="unknown scale 'huge'; choose one of official, demo, smoke, tiny"):
        preset("F", "huge")
    assert cli.main(["configs"]) == 0
    out = capsys.readouterr().out
    assert all(f"  {row}  " in out for row in PRESETS) and all(f"  {s}" in out for s in SCALES)
    assert cli.main(["configs", "C", "demo"]) == 0
    assert StyleGANConfig.from_json(capsys.readouterr().out) == preset("C", "demo")


def test_only_the_demo_scale_departs_from_the_official_mapping_rate():
    # appendix C: the mapping network learns at 0.01 x lr; the short CPU demo lets it learn at the full rate
    assert preset("F").mapping_lrmul == preset("C", "smoke").mapping_lrmul == 0.01
    assert [preset(row, "demo").mapping_lrmul for row in PRESETS] == [0.01, 0.01, 1.0, 1.0, 1.0, 1.0]  # A, B: unused


def test_geometry_is_computed_in_one_place():
    from stylegan_tf import geometry

    assert [geometry.num_ws(r) for r in (8, 32, 1024)] == [4, 8, 18]
    assert [geometry.layer_resolution(i) for i in range(6)] == [4, 4, 8, 8, 16, 16]
    assert [geometry.use_fused(r, "auto") for r in (64, 128)] == [False, True]
    assert geometry.use_fused(8, True) and not geometry.use_fused(1024, False)
    with pytest.raises(ValueError, match="power of two"):
        geometry.resolution_log2(48)
    assert preset("F").num_ws == 18 and preset("F", "demo").num_ws == 8


def test_config_diff_lists_what_a_row_changes():
    from stylegan_tf.config import TABLE1_FIELDS, config_diff

    for row, fields in TABLE1_FIELDS.items():
        previous = "ABCDEF"["ABCDEF".index(row) - 1]
        lines = config_diff(previous, row).splitlines()
        assert sorted(line.split(":")[0] for line in lines) == sorted(fields)
    assert config_diff("E", "F") == "style_mixing_prob: 0.0 -> 0.9"
    assert config_diff(preset("F", "demo"), preset("F", "demo")) == "(no difference)"


@pytest.mark.parametrize("scale", ["official", "demo", "smoke", "tiny"])
def test_every_scale_keeps_table_1_switches(scale):
    """A scale sizes the networks; it never turns on a part that a row of Table 1 leaves out (regression:
    the demo scale's 4-layer mapping network was given to rows A and B)."""
    switches = ("mapping_layers", "use_styles", "use_pixel_norm", "use_instance_norm", "const_input", "use_noise",
                "style_mixing_prob", "blur_filter", "loss")
    for row in "AB":
        cfg = preset(row, scale)
        assert cfg.mapping_layers == 0 and not cfg.use_styles
        assert {k: getattr(cfg, k) for k in switches if k != "mapping_layers"} == {
            k: getattr(PRESETS[row], k) for k in switches if k != "mapping_layers"}
    assert preset("A", scale, mapping_layers=2).mapping_layers == 2  # an explicit override still wins
    assert preset("F", scale).mapping_layers == (SCALES[scale].get("mapping_layers") or PRESETS["F"].mapping_layers)


@pytest.mark.parametrize("text", ["lr_base=inf", "lr_base=-inf", "lr_base=nan", "lr_base=1e999", "r1_gamma=NaN",
                                  "truncation_psi=inf"])
def test_set_non_finite_numbers_say_they_must_be_finite(text):
    with pytest.raises(ValueError, match=rf"^--set {re.escape(text)}: the value must be finite; give a number such as"):
        parse_override(preset("F"), text)


def test_set_optional_and_union_fields_are_type_checked():
    cfg = preset("F")
    assert parse_override(cfg, "mapping_fmaps=None") == {"mapping_fmaps": None}
    assert parse_override(cfg, "truncation_cutoff=4") == {"truncation_cutoff": 4}
    assert parse_override(cfg, "fused_scale=False") == {"fused_scale": False}
    with pytest.raises(ValueError, match=r"mapping_fmaps=3\.5: expected a value of type int or None"):
        parse_override(cfg, "mapping_fmaps=3.5")
    with pytest.raises(ValueError, match=r"fused_scale=3: expected a value of type str or bool"):
        parse_override(cfg, "fused_scale=3")
    with pytest.raises(ValueError, match="expected a value of type int, got True"):
        parse_override(cfg, "resolution=True")


@pytest.mark.parametrize("overrides, match", [
    (dict(truncation_cutoff=-1), r"truncation_cutoff=-1 is not allowed: an integer >= 0 or None"),
    (dict(mbstd_num_features=0), r"mbstd_num_features=0 is not allowed: a positive integer"),
    (dict(mbstd_num_features=3), r"mbstd_num_features=3 is not allowed: a divisor of D's feature maps at 4x4 \(512\)"),
    (dict(wgan_target=0.0), r"wgan_target=0\.0 is not allowed: a finite number > 0"),
    (dict(fmap_decay=float("nan")), r"fmap_decay=nan is not allowed: a finite number"),
    (dict(metrics_kimg=float("inf")), r"metrics_kimg=inf is not allowed: a finite positive number"),
    (dict(minibatch_dict={6: 4}), r"minibatch_dict=\{6: 4\} is not allowed: .*powers of two >= 4"),
    (dict(lr_dict={"8": 0.1}), r"lr_dict=\{'8': 0\.1\} is not allowed: .*powers of two >= 4"),
    (dict(blur_filter=(1, -1)), r"blur_filter=\(1, -1\) is not allowed: .*non-zero sum"),
    (dict(mapping_layers=True), r"mapping_layers=True is not allowed: an integer >= 0"),
])
def test_numeric_fields_refuse_values_the_networks_cannot_use(overrides, match):
    with pytest.raises(ValueError, match=match):
        preset("F", **overrides)
    assert preset("F", truncation_cutoff=None, mbstd_num_features=2, fmap_decay=0.5, blur_filter=()).mbstd_num_features == 2
