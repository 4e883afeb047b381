"""Chapter 07: wrong answers that pass each exercise's visible check; the hidden tests must fail every one. Instructor material."""

_TRUNCATE = '''def truncate(ws, w_avg, psi, cutoff=None):
    ws = np.asarray(ws, np.float64)
    truncated = w_avg + psi * (ws - w_avg)
{body}'''

_SPREAD = '''from stylegan_tf.metrics.factor_control import spread
from stylegan_tf.metrics.probe import PROBE_FACTORS, predict_factors
from stylegan_tf.metrics.sampling import latents


def spread_ratio(G, psi, seed, num_images=N_ABL):
    z = latents(num_images, G.z_dim, seed)
    ws = np.asarray(G.mapping(z))
{body}'''

_SEPARABILITY = '''def separability_score(predicted, labels):
    predicted, labels = np.asarray(predicted, bool), np.asarray(labels, bool)
    entropies = []
    for x, y in zip(predicted.T, labels.T):
        joint = np.array([[np.mean(~x & ~y), np.mean(~x & y)], [np.mean(x & ~y), np.mean(x & y)]])
        h_xy = -sum(p * {log}(p) for p in joint.ravel() if p > 0)
        h_x = -sum(p * {log}(p) for p in joint.sum(axis={axis}) if p > 0)
        entropies.append(max(0.0, h_xy - h_x))
    return float(2.0 ** {total})'''

MUTATIONS = {
    "ex1_truncate": [
        ("the cutoff's own style input truncated too (<= instead of <)", _TRUNCATE.format(body='''\
    if cutoff is None:
        return truncated
    layer = np.arange(ws.shape[1])[None, :, None]
    return np.where(layer <= cutoff, truncated, ws)''')),
        ("cutoff=0 taken for 'no cutoff' (if not cutoff)", _TRUNCATE.format(body='''\
    if not cutoff:
        return truncated
    layer = np.arange(ws.shape[1])[None, :, None]
    return np.where(layer < cutoff, truncated, ws)''')),
        ("the cutoff ignored: every style input truncated", _TRUNCATE.format(body="    return truncated")),
    ],
    "ex2_spread_ratio": [
        ("the baseline rendered with G(z), whose default psi is 0.7, not 1", _SPREAD.format(body='''\
    base = spread(predict_factors(np.asarray(G(z))))
    trunc = spread(predict_factors(figures.synthesize(G, np.asarray(G.truncate(ws, psi, None)))))
    return {f: trunc[f] / base[f] for f in PROBE_FACTORS}''')),
        ("only the style inputs below 4 truncated (a cutoff, not every input)", _SPREAD.format(body='''\
    base = spread(predict_factors(figures.synthesize(G, ws)))
    trunc = spread(predict_factors(figures.synthesize(G, np.asarray(G.truncate(ws, psi, 4)))))
    return {f: trunc[f] / base[f] for f in PROBE_FACTORS}''')),
        ("psi applied to z instead of w", _SPREAD.format(body='''\
    base = spread(predict_factors(figures.synthesize(G, ws)))
    trunc = spread(predict_factors(figures.synthesize(G, np.asarray(G.mapping(psi * z)))))
    return {f: trunc[f] / base[f] for f in PROBE_FACTORS}''')),
        ("the ratio upside down (spread at psi = 1 over spread at psi)", _SPREAD.format(body='''\
    base = spread(predict_factors(figures.synthesize(G, ws)))
    trunc = spread(predict_factors(figures.synthesize(G, np.asarray(G.truncate(ws, psi, None)))))
    return {f: base[f] / max(trunc[f], 1e-12) for f in PROBE_FACTORS}''')),
    ],
    "ex3_paths": [
        ('"full" sampling instead of "end"', '''paths = {}
for space in ("z", "w"):
    paths[space] = calc_metric(f"ppl_{space}_full", G_F, None, num_images=N_PPL, seed=0)[f"ppl_{space}_full"]'''),
        ("measured on the traditional generator B instead of F", '''paths = {}
for space in ("z", "w"):
    paths[space] = calc_metric(f"ppl_{space}_end", G_B, None, num_images=N_PPL, seed=0)[f"ppl_{space}_end"]'''),
        ("the two spaces swapped", '''paths = {}
for space, other in (("z", "w"), ("w", "z")):
    paths[space] = calc_metric(f"ppl_{other}_end", G_F, None, num_images=N_PPL, seed=0)[f"ppl_{other}_end"]'''),
    ],
    "ex4_separability": [
        ("entropies in nats (natural log) instead of bits",
         _SEPARABILITY.format(log="np.log", axis=1, total="sum(entropies)")),
        ("H(X|Y) instead of H(Y|X) (the wrong marginal)",
         _SEPARABILITY.format(log="np.log2", axis=0, total="sum(entropies)")),
        ("the mean of the entropies instead of their sum",
         _SEPARABILITY.format(log="np.log2", axis=1, total="np.mean(entropies)")),
    ],
    "ex5_read_matrix": [
        ("the other 32 px style for the background", 'answers = {"background_hue": 6, "head_shape": 0}'),
        ("an 8 px style for the head shape", 'answers = {"background_hue": 7, "head_shape": 3}'),
        ("the two rows swapped", 'answers = {"background_hue": 0, "head_shape": 7}'),
    ],
}
