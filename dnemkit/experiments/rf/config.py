"""The options of one receptive-field mapping, checked once: :class:`RFConfig` (no torch import)."""

from dataclasses import dataclass


from ...errors import check_int
from ...stimuli.geometry import HEIGHT, WIDTH
from ..contract import DEFAULT_ENCODER, ExperimentConfig


@dataclass(frozen=True)
class RFConfig(ExperimentConfig):
    """Options of one receptive-field mapping (`characterize rf`), checked once here.

    encoder: an EncoderRef (spec, mouse, models; a spec string is wrapped); every model's responses are kept.
    chunk, lead_in, fit, fit_max: as :func:`map_receptive_fields`. step: flash every step-th row and column
    (>= 1). ground_truth: 'auto', 'none' or 'synthetic[:seed]' (:func:`truth_for`). mask: the mask drawn over the
    population RF: 'auto', 'alpha', 'sensitivity', 'none' or a mask file (dnemkit.masks). device: 'auto', 'cpu',
    'cuda[:k]'.
    """

    encoder: object = DEFAULT_ENCODER
    chunk: int | None = None
    lead_in: int | None = None
    fit: bool = True
    fit_max: int | None = None
    step: int = 1
    ground_truth: str = "auto"
    mask: object = "auto"
    device: str = "auto"

    def __post_init__(self):
        self._check_common()
        object.__setattr__(self, "step", check_int(self.step, "step", 1))

    def positions(self):
        """(K, 2) (row, col) pixels flashed, or None for every pixel."""
        if self.step == 1:
            return None
        import numpy as np  # here, not at import: the config is read by `characterize --help`

        return np.array([[r, c] for r in range(self.step // 2, HEIGHT, self.step)
                         for c in range(self.step // 2, WIDTH, self.step)])
