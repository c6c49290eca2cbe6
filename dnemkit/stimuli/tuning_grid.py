"""The standard drifting-grating grid of tuning measurements: what `characterize tuning` shows an encoder by
default and what `characterize mei` compares its MEIs with. Plain constants (no numpy): the CLI's --help reads
them."""

#: octave-spaced, the paper's spatial frequencies (0.143 cpd = 0.5 cyc/px, the pixel Nyquist limit)
DEFAULT_SF = (0.018, 0.036, 0.071, 0.143)
#: octave-spaced; each makes a whole number of cycles in the 1 s analysed by default (frames 30-59), so the mean
#: and F1 are exact
DEFAULT_TF = (1.0, 2.0, 4.0, 8.0)
#: 8 directions, 45 deg apart, as the Allen Brain Observatory
DEFAULT_DIRECTIONS = tuple(float(d) for d in range(0, 360, 45))
