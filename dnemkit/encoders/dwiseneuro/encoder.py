"""DwiseNeuro behind the encoder protocol: padding, channel stacking, windowing, trial blending.

Trial inference equals the reference Predictor: for every frame i >= 30 the 16-frame window
[i-30, i-28, ..., i] is predicted, each window's 16 predictions are added into their frames, and every frame is
divided by the number of windows that covered it (clipped at 1). Here all windows are gathered with one index
tensor and run in a few large batched passes, which is exact because BatchNorm runs in eval mode.
"""

import torch

from ...errors import DnemkitError
from ...stimuli.geometry import HEIGHT
from ..base import Encoder

WINDOW = 16  #: frames per window
STEP = 2  #: every 2nd frame
SPAN = (WINDOW - 1) * STEP  #: 30: a window ending at frame i starts at i - 30
INPUT_SIZE = 64
ROW_OFFSET = (INPUT_SIZE - HEIGHT) // 2  #: the 36 rows sit at rows 14..49 of the 64 x 64 input
CPU_WINDOW_BATCH = 8  #: windows per pass on a CPU (measured fastest on 2 cores: 1.75 s vs 3.1 s for 90 windows)


def window_index(n_frames, device=None):
    """(n_windows, 16) frame indices of the windows ending at 30, 31, ..., n_frames - 1."""
    ends = torch.arange(SPAN, n_frames, device=device)
    return ends[:, None] - SPAN + STEP * torch.arange(WINDOW, device=device)[None, :]


class DwiseNeuroEncoder(Encoder):
    """One DwiseNeuro readout (one mouse) as an encoder.

    model: a DwiseNeuro in eval mode; mouse: readout index; fill: the padding value of rows outside the movie
    (0, as DwiseNeuro was trained); behavior_mean: (4,) default behaviour; window_batch: most windows per
    forward pass (None: 8 on a CPU, all at once on a GPU).
    """

    first_valid_frame = SPAN

    def __init__(self, model, mouse=0, fill=0.0, behavior_mean=None, window_batch=None, description=""):
        super().__init__()
        n_mice = len(model.readouts)
        if not 0 <= mouse < n_mice:
            raise DnemkitError(f"mouse index {mouse} is out of range; this checkpoint has mice 0..{n_mice - 1}")
        self.model = model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)  # the encoder is frozen: only input gradients are ever needed
        self.mouse = mouse
        self.fill = float(fill)
        self.n_neurons = model.readout_outputs[mouse]
        self.window_batch = window_batch
        self.register_buffer("_behavior_mean", torch.as_tensor(
            behavior_mean if behavior_mean is not None else torch.zeros(4), dtype=torch.float32))
        self.description = description or f"DwiseNeuro mouse {mouse}"

    def train(self, mode=True):
        # the encoder only ever runs frozen in eval mode; training goes through the bare DwiseNeuro
        return super().train(False)

    def default_behavior(self):
        return self._behavior_mean

    def stack_inputs(self, video, behavior=None):
        """(B, T, 36, 64) + (B, 4, T) -> (B, 5, T, 64, 64): padded video and broadcast behaviour planes."""
        b, t = video.shape[:2]
        behavior = self.expand_behavior(behavior, b, t, video.device)
        x = video.new_full((b, 5, t, INPUT_SIZE, INPUT_SIZE), self.fill)
        x[:, 1:] = behavior[:, :, :, None, None]
        x[:, 0, :, ROW_OFFSET:ROW_OFFSET + HEIGHT, :] = video
        return x

    def video_grad(self, stacked_grad):
        return stacked_grad[:, 0, :, ROW_OFFSET:ROW_OFFSET + HEIGHT, :]

    def forward_stacked(self, x, behavior=None):
        b, _, t = x.shape[:3]
        if t <= SPAN:
            raise DnemkitError(f"DwiseNeuro needs at least {SPAN + 1} frames per video; got {t}")
        index = window_index(t, x.device)  # (W, 16)
        n_win = index.shape[0]
        # CPUs run small passes fastest (cache); GPUs take every window at once unless told otherwise
        window_batch = self.window_batch or (CPU_WINDOW_BATCH if x.device.type == "cpu" else None)
        chunk = n_win if not window_batch else max(1, window_batch // b)
        rates = x.new_zeros((b, self.n_neurons, t))
        for start in range(0, n_win, chunk):
            idx = index[start:start + chunk]
            windows = x[:, :, idx]  # (B, 5, w, 16, 64, 64)
            w = idx.shape[0]
            windows = windows.permute(0, 2, 1, 3, 4, 5).reshape(b * w, 5, WINDOW, INPUT_SIZE, INPUT_SIZE)
            pred = self.model(windows, self.mouse).reshape(b, w, self.n_neurons, WINDOW)
            # scatter every window's 16 predictions into their frames
            contrib = pred.permute(0, 2, 1, 3).reshape(b, self.n_neurons, w * WINDOW).to(rates.dtype)  # autocast
            rates = rates.index_add(2, idx.reshape(-1), contrib)
        counts = torch.bincount(index.reshape(-1), minlength=t).clamp(min=1).to(x.dtype)
        return rates / counts

    def forward(self, video, behavior=None):
        return self.forward_stacked(self.stack_inputs(video, behavior))

    def with_batchnorm_folded(self):
        """A copy whose DwiseNeuro has its BatchNorms folded into the convolutions
        (:func:`dnemkit.encoders.dwiseneuro.fold_batchnorm`): the same rates up to float round-off, faster."""
        import copy

        from .network import fold_batchnorm

        folded = copy.deepcopy(self)
        fold_batchnorm(folded.model)
        return folded

    def info(self):
        out = super().info()
        out.update(mouse=self.mouse, mice=len(self.model.readouts),
                   neurons_per_mouse=list(self.model.readout_outputs), padding_fill=self.fill,
                   window=f"{WINDOW} frames, step {STEP}, first prediction at frame {SPAN}")
        out["parameters_all_readouts"] = out.pop("parameters")
        return out
