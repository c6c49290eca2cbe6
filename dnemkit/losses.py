"""The Poisson loss of training and reconstruction (one formula; each reduces it its own way)."""

import torch

#: inside the log, so that a rate of exactly 0 gives a finite loss (the reference's value)
POISSON_EPS = 1e-8


def poisson_nll(rates, target, eps=POISSON_EPS):
    """Elementwise Poisson negative log-likelihood up to a constant: ``rates - target * log(rates + eps)``.

    rates, target: tensors of one shape (counts/frame; target >= 0). Returns that shape. Training sums it over
    neurons and frames and averages over the batch; a reconstruction averages it over neurons and frames of
    each sub-batch.
    """
    return rates - target * torch.log(rates + eps)
