"""What the synthetic mouse should resolve, computed analytically from its true tuning.

Spatial frequency
-----------------
Each synthetic neuron's spatial filter is a unit-norm Gabor: an isotropic Gaussian envelope of sigma_n pixels times
a cosine carrier of f0_n cycles/pixel (``SyntheticMouse.properties()``: ``sigma_px``, ``sf_cyc_per_px``). Its
Fourier amplitude at the frequency vector k is (up to the common factor 2 pi sigma_n^2 / norm_n, with
norm_n ~ sigma_n sqrt(pi) for a unit L2 norm, hence proportional to sigma_n)

    |G_n(k)| ~ sigma_n [exp(-2 pi^2 sigma_n^2 |k - k0|^2) + exp(-2 pi^2 sigma_n^2 |k + k0|^2)] / 2.

A full-field grating of spatial frequency f drives the neuron through |G_n| at |k| = f. Gratings come at every
orientation relative to the cell (the sweep's directions; the population's orientations are uniform), so the
drive is averaged over the angle phi between k and k0, |k - k0|^2 = f^2 + f0^2 - 2 f f0 cos phi:

    A_n(f) = sigma_n exp(-2 pi^2 sigma_n^2 (f^2 + f0_n^2)) I0(4 pi^2 sigma_n^2 f f0_n)
           = sigma_n exp(-2 pi^2 sigma_n^2 (f - f0_n)^2) i0e(4 pi^2 sigma_n^2 f f0_n)

(I0 the modified Bessel function, i0e(x) = exp(-x) I0(x); the mirror term gives the same average). The
population's expected sensitivity is S(f) = mean_n A_n(f). With the default tuning (f0 log-uniform on 0.02-0.1
cpd, sigma = 0.25 / f0 clipped to 1-3 px, i.e. broadband, low-pass filters) S is flat below ~0.02 cpd and falls
steeply above ~0.04 cpd: on the paper's grid 0.018, 0.036, 0.071, 0.143 cpd it is about 0.52, 0.41, 0.16, 0.02.
The stimulus-driven part of the activity, and with it the information a reconstruction can recover, scales with
S(f), so the reconstruction correlation should fall with sf in the same rank order (the output nonlinearity and
the temporal kernels are the same at every sf, so they change the shape of the fall, not its order).
"""

import numpy as np
from scipy.special import i0e

from ...stimuli.geometry import cpd_to_cyc_per_px


def synthetic_sf_sensitivity(mouse, sf_cpd):
    """Analytic population sensitivity S(f) of a :class:`SyntheticMouse` (see the module docstring).

    mouse: a SyntheticMouse or its ``properties()`` Dataset. sf_cpd: spatial frequencies in cycles/degree.
    Returns float64 array, the shape of ``sf_cpd`` (arbitrary units; only ratios and order matter).
    """
    props = mouse.properties() if hasattr(mouse, "properties") else mouse
    sigma = np.asarray(props["sigma_px"], np.float64)[:, None]
    f0 = np.asarray(props["sf_cyc_per_px"], np.float64)[:, None]
    f = cpd_to_cyc_per_px(np.atleast_1d(np.asarray(sf_cpd, np.float64)))[None, :]
    amp = sigma * np.exp(-2 * np.pi ** 2 * sigma ** 2 * (f - f0) ** 2) * i0e(4 * np.pi ** 2 * sigma ** 2 * f * f0)
    return amp.mean(axis=0).reshape(np.shape(sf_cpd))
