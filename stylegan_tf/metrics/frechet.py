"""The Fréchet distance between two Gaussians fitted to feature sets (the formula behind FID and FD_probe).

    d^2 = ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2))

Paper: Heusel et al. 2017, Eq. 6; official `metrics/frechet_inception_distance.py` (`scipy.linalg.sqrtm`,
real part of the square root).
"""

import numpy as np
import scipy.linalg

__all__ = ["feature_statistics", "frechet_distance"]


def feature_statistics(features):
    """(mean [D], covariance [D, D]) of features [N, D], in float64; N >= 2."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"features must be [N, D] with N >= 2, got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """d^2 between N(mu1, sigma1) and N(mu2, sigma2) (the squared distance, as FID reports it)."""
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    covmean = scipy.linalg.sqrtm(sigma1.dot(sigma2))  # (`disp=False` is deprecated and returns no tuple for 1x1)
    if not np.isfinite(covmean).all():  # singular product: regularise, as the common FID code does
        offset = np.eye(sigma1.shape[0]) * 1e-6
        covmean = scipy.linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))
