"""Interactive explorers for notebooks: truncation, style mixing and noise, as ipywidgets.

Each explorer is a few sliders or toggles over an `ipywidgets.Image` showing a labelled PNG. Every
picture comes from a pure rendering function of this module (`truncation_image`, `mixing_image`,
`noise_image`), built on `figures` (the arrays) and `viz` (the labelled layout), so tests and scripts
call them without a display and the widgets only wire controls to them:

    from stylegan_tf.generation import widgets
    display(widgets.truncation_explorer(G, seeds=[1, 2, 3, 4]))   # psi and cutoff sliders (Fig. 8)
    display(widgets.mixing_explorer(G, src_seed=1, dst_seed=2))    # crossover slider (Fig. 3)
    display(widgets.noise_explorer(G, seed=1))                     # per-layer noise toggles (Figs. 4, 5)

An explorer is a `VBox` whose children are `(controls, image)`. Needs the `notebooks` extra for
ipywidgets (`pip install -e ".[notebooks]"`). See notebooks/05, 06 and 07.

Paper: Fig. 3 (style mixing, Sec. 3.1), Figs. 4-5 (noise, Sec. 3.2), Fig. 8 (truncation, appendix B).
"""

import io

import numpy as np

from stylegan_tf.generation import figures, viz
from stylegan_tf.geometry import layer_resolution

__all__ = ["png_bytes", "truncation_images", "truncation_image", "truncation_explorer", "mixing_images",
           "mixing_image", "mixing_explorer", "noise_variation", "noise_image", "noise_explorer"]


def _ipywidgets():
    try:
        import ipywidgets
    except ImportError:
        raise ImportError('the explorers need ipywidgets: pip install -e ".[notebooks]"') from None
    return ipywidgets


def png_bytes(image):
    """PNG file bytes of one uint8 image `[H, W, C]` (the value an `ipywidgets.Image` shows)."""
    from PIL import Image

    image = np.asarray(image)
    buffer = io.BytesIO()
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buffer, format="PNG")
    return buffer.getvalue()


def _explorer(controls, render, header=()):
    """A VBox (controls, image) whose image shows `render()` now and after every control change.

    Returns the box and its `redraw(hold=None)`: `redraw(hold=True)` stops the redraws (while several
    controls are set at once), `redraw(hold=False)` resumes them and redraws once.
    """
    w = _ipywidgets()
    image = w.Image(value=png_bytes(render()), format="png")
    held = [False]

    def redraw(change=None, hold=None):
        held[0] = held[0] if hold is None else hold
        if not held[0]:
            image.value = png_bytes(render())

    for control in controls:
        control.observe(redraw, names="value")
    row = w.HBox(list(controls), layout=w.Layout(flex_flow="row wrap"))
    return w.VBox([w.VBox([*header, row]) if header else row, image]), redraw


def _spans(layers):
    """Layer indices as short text: [0, 1, 2, 5] -> "0-2, 5"."""
    runs = []
    for i in sorted(layers):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs) or "none"


# Truncation trick (Fig. 8): w' = w_avg + psi (w - w_avg) on the layers below the cutoff.

def truncation_images(G, seeds, psi=0.7, cutoff=None):
    """The seeds' images `[len(seeds), R, R, C]` in [-1, 1] at one psi (`figures.truncation_sweep`).

    `cutoff` None is the model's default (`G.truncation_cutoff`; None there: every layer); 0 truncates
    nothing, so the images equal psi = 1.
    """
    return figures.truncation_sweep(G, seeds, psis=(psi,), cutoff=cutoff)[:, 0]


def truncation_image(G, seeds, psi=0.7, cutoff=None):
    """`truncation_images` as one labelled uint8 picture: a row of seeds, labelled with psi and the truncated layers."""
    cutoff = G.truncation_cutoff if cutoff is None else cutoff
    cutoff = G.num_ws if cutoff is None else int(cutoff)
    images = truncation_images(G, seeds, psi, cutoff)
    label = f"psi = {psi:.2f}\ntruncated layers:\n{_spans(range(min(cutoff, G.num_ws)))} of 0-{G.num_ws - 1}"
    return viz.annotated_figure(images[None], row_labels=[label], col_labels=[f"seed {s}" for s in seeds])


def truncation_explorer(G, seeds, psi=0.7, cutoff=None):
    """A psi slider (-1 to 1) and a cutoff slider (0 to num_ws) over the seeds' images (Fig. 8).

    `cutoff` None starts at the model's default (every layer where the model has none).
    """
    w = _ipywidgets()
    seeds = [int(s) for s in seeds]
    start = G.truncation_cutoff if cutoff is None else cutoff
    psi_slider = w.FloatSlider(value=psi, min=-1.0, max=1.0, step=0.05, description="psi",
                               continuous_update=False)
    cutoff_slider = w.IntSlider(value=G.num_ws if start is None else min(int(start), G.num_ws), min=0, max=G.num_ws,
                                description="cutoff", continuous_update=False)
    return _explorer([psi_slider, cutoff_slider],
                     lambda: truncation_image(G, seeds, psi_slider.value, cutoff_slider.value))[0]


# Style mixing (Fig. 3): styles below the crossover from the destination, from the crossover up from the source.

def mixing_images(G, src_seed, dst_seed, crossover, psi=None):
    """Source, destination and their mix `[3, R, R, C]`: the mix takes layers >= crossover from the source.

    crossover = 0 gives the source, crossover = num_ws the destination (`figures.style_mixing`; the
    generator's `style_mix(dst_ws, src_ws, crossover)`).
    """
    if not 0 <= int(crossover) <= G.num_ws:
        raise ValueError(f"crossover must be in [0, {G.num_ws}] for this {G.num_ws}-layer model, got {crossover}")
    grid = figures.style_mixing(G, [src_seed], [dst_seed], styles=range(int(crossover), G.num_ws), psi=psi)
    return np.stack([grid.src_images[0], grid.dst_images[0], grid.images[0, 0]])


def mixing_image(G, src_seed, dst_seed, crossover, psi=None):
    """`mixing_images` as one labelled uint8 picture; the row label says which layers come from the source."""
    images = mixing_images(G, src_seed, dst_seed, crossover, psi)
    c = int(crossover)
    label = (f"crossover {c}:\nlayers {_spans(range(c, G.num_ws))}\n({layer_resolution(c)} px and up)\nfrom the source"
             if c < G.num_ws else f"crossover {c}:\nevery layer from\nthe destination")
    return viz.annotated_figure(images[None], row_labels=[label], col_labels=[
        f"source\nseed {src_seed}", f"destination\nseed {dst_seed}", "mixed"])


def mixing_explorer(G, src_seed, dst_seed):
    """A crossover slider (0 to num_ws) over source, destination and mix: layers >= crossover from the source."""
    w = _ipywidgets()
    slider = w.IntSlider(value=G.num_ws // 2, min=0, max=G.num_ws, description="crossover", continuous_update=False)
    return _explorer([slider], lambda: mixing_image(G, int(src_seed), int(dst_seed), slider.value))[0]


# Noise inputs (Figs. 4 and 5): noise on the chosen layers only, and the per-pixel std over noise draws.

def _noise_layers(G):
    layers = [i for i, layer in enumerate(G.synthesis.synthesis_layers) if layer.noise is not None]
    if not layers:
        raise ValueError("this generator has no noise inputs (use_noise=False, Table 1 rows A-D): "
                         "use a row E or F model")
    return layers


def noise_variation(G, seed, layers, num_draws=16, noise_seed=0):
    """`figures.stochastic_variation` with noise on `layers` only (zeros elsewhere), one image shown.

    With no layers the std map is 0 and the image is the noise-free synthesis.
    """
    return figures.stochastic_variation(G, seed, num_draws=num_draws, num_show=1, layers=list(layers),
                                        noise_seed=noise_seed)


def noise_image(G, seed, layers, num_draws=16, noise_seed=0):
    """The image under one noise draw beside the std map over `num_draws` draws, as a labelled uint8 picture."""
    layers = sorted(int(i) for i in layers)
    variation = noise_variation(G, seed, layers, num_draws, noise_seed)
    image = viz.to_uint8(variation.images[0])  # [R, R, C]
    std = np.repeat(viz.std_to_uint8(variation.std), image.shape[-1], axis=-1)  # [R, R, 1] -> [R, R, C]
    label = f"noise on layers:\n{_spans(layers)}"
    return viz.annotated_figure(np.stack([image, std])[None], row_labels=[label], col_labels=[
        f"seed {seed}, one draw", f"std over {num_draws} draws\n(white = {variation.std.max():.3f})"])


def noise_explorer(G, seed, num_draws=16):
    """One toggle per noise layer over the image and its std map, plus Fig. 5's presets (all, coarse, fine, none)."""
    w = _ipywidgets()
    layers = _noise_layers(G)
    toggles = {i: w.ToggleButton(value=True, description=f"{i}: {layer_resolution(i)} px",
                                 layout=w.Layout(width="auto")) for i in layers}
    ranges = figures.noise_ranges(G.num_ws)
    preset = w.Dropdown(options=list(ranges), value="all", description="noise on", layout=w.Layout(width="auto"))

    explorer, redraw = _explorer(list(toggles.values()), header=[preset], render=lambda: noise_image(
        G, seed, [i for i, t in toggles.items() if t.value], num_draws))

    def apply_preset(change):  # sets every toggle, then draws once
        redraw(hold=True)
        for i, toggle in toggles.items():
            toggle.value = i in ranges[change["new"]]
        redraw(hold=False)

    preset.observe(apply_preset, names="value")
    return explorer
