"""Default grids and budgets of the sweeps: plain constants, importable without torch (the CLI reads them to
build its --help)."""

#: the paper's grids (docs/method.md, "Stimuli")
PAPER_SF_CPD = (0.143, 0.071, 0.036, 0.018)
PAPER_TF_HZ = (15.0, 7.5, 3.75, 1.875, 0.9375, 0.46875, 0.0)
PAPER_DIRECTIONS = (0.0, 90.0, 180.0, 270.0)
PAPER_SIGMAS = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
PAPER_NOISE_REPEATS = 5
#: the paper's 36 x 36 noise patch over the mask region (columns 11..46)
PATCH_COLUMNS = (11, 47)
N_FRAMES = 60

#: `--quick` grids: small, finish in about a minute on a 2-core CPU with the synthetic mouse
QUICK_GRATINGS = dict(sf=(0.143, 0.036), tf=(7.5, 1.875), directions=(0.0,), repeats=1)
QUICK_NOISE = dict(sigma_space=(1.0, 4.0), sigma_time=(1.0, 4.0), repeats=1)

#: default reconstruction iterations of a sweep, per recipe (the paper: 1000). The fast recipe's iterations are
#: each ~3.5x cheaper and converge in tens of steps
DEFAULT_ITERATIONS = {"fast": 60, "paper": 100}
QUICK_ITERATIONS = {"fast": 30, "paper": 15}
DEFAULT_BATCH = 4
