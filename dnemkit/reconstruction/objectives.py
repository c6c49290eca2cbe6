"""What a reconstruction minimises per sub-batch: ``OBJECTIVES``.

``"poisson"`` (the paper's, the default of every reconstruction) and ``"activation"`` (minus the weighted mean
rate: most exciting inputs, :mod:`dnemkit.experiments.mei`). An objective is ``loss(rates (M, S, N, F), target
(S, N, F), recipe) -> (M, S)`` for M models and S sub-batches of F frames.
"""

from ..errors import DnemkitError
from ..losses import poisson_nll


def poisson_loss(rates, target, recipe):
    """The paper's loss per sub-batch: the mean over neurons x frames of :func:`dnemkit.losses.poisson_nll`.

    rates (M, S, N, F) counts/frame (M models, S sub-batches), target (S, N, F) relu'd. Returns (M, S)."""
    return poisson_nll(rates, target, recipe.loss_eps).mean(dim=(2, 3))


def negative_activation(rates, weights, recipe):
    """Minus the weighted mean rate per sub-batch: ``-sum(w * rates) / sum(w)`` over neurons x frames.

    rates (M, S, N, F) counts/frame; weights (S, N, F) >= 0 (the loop's "target": which neuron, at which frames,
    counts for each input; a sub-batch without weight gets loss 0 and no gradient). Returns (M, S)."""
    total = weights.sum(dim=(1, 2)).clamp(min=1e-12)
    return -(rates * weights).sum(dim=(2, 3)) / total


#: objective name -> loss(rates (M, S, N, F), target (S, N, F), recipe) -> (M, S), minimised by the loop
OBJECTIVES = {"poisson": poisson_loss, "activation": negative_activation}


def make_objective(objective=None):
    """The loss function of ``objective``: None = "poisson" (the paper's), a name in OBJECTIVES, or a callable
    with the same signature."""
    if objective is None:
        return poisson_loss
    if callable(objective):
        return objective
    if objective not in OBJECTIVES:
        raise DnemkitError(f"objective is {objective!r}; expected one of {', '.join(OBJECTIVES)} or a callable")
    return OBJECTIVES[objective]
