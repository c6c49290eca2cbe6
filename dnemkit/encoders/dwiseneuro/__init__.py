"""DwiseNeuro, the Sensorium 2023 winner, in three rooms:

- :mod:`.network`: the network exactly as the reference defines it (:class:`DwiseNeuro`, ``MAIN_CONFIG``);
- :mod:`.encoder`: the network behind the encoder protocol (:class:`DwiseNeuroEncoder`: padding, channels,
  windowing, trial blending);
- :mod:`.checkpoint`: argus checkpoints read and written in the reference's format.
"""

from .checkpoint import read_checkpoint, save_checkpoint
from .encoder import DwiseNeuroEncoder
from .network import MAIN_CONFIG, DwiseNeuro

__all__ = ["DwiseNeuro", "DwiseNeuroEncoder", "MAIN_CONFIG", "read_checkpoint", "save_checkpoint"]
