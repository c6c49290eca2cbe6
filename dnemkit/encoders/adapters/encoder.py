"""A declared foreign model behind dnemkit's protocol: :class:`ForeignEncoder` maps dnemkit's video and behaviour
to the model's input layout, frame size, scale and arguments, and its output to rates (B, N, T), as its
:class:`~dnemkit.encoders.adapters.declaration.Declaration` says (docs/method.md, "Foreign encoders")."""

import inspect

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import DnemkitError, say
from ...stimuli.geometry import GREY, HEIGHT, WIDTH
from ..base import Encoder, check_rates
from .declaration import READOUT_ARGUMENTS


def _text(exc, limit=300):
    return (" ".join(str(exc).split()) or type(exc).__name__)[:limit]


def _signature(model):
    """(named parameters of model.forward, whether it takes **kwargs), or None when it cannot be inspected."""
    try:
        params = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return None
    return params, any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _readout_keys(model):
    """The readout keys a model holds (``readout``/``readouts`` dict-like with string keys), or None."""
    for attr in ("readout", "readouts"):
        holder = getattr(model, attr, None)
        keys = getattr(holder, "keys", None)
        if callable(keys):
            try:
                found = list(keys())
            except Exception:  # noqa: BLE001 -- a .keys() that is not a mapping's: nothing to compare with
                continue
            if found and all(isinstance(k, str) for k in found):
                return found
    return None


def _first_conv(model):
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            return name, module.in_channels
    return None


class ForeignEncoder(Encoder):
    """A foreign model behind the encoder protocol, as its :class:`Declaration` says.

    Parameters
    ----------
    model : torch.nn.Module
        The foreign model; it is put in eval mode and its parameters frozen (dnemkit only needs input gradients).
    declaration : Declaration
        How to call it (:func:`parse_declaration`).
    mouse : int, optional
        Index into readout_key "values" (None: the first).

    ``forward(video (B, T, 36, 64) 0..255, behavior (B, 4, T) or None) -> rates (B, N, T)``: the video is resized to
    the model's frame (bilinear, ``align_corners=False``, antialiased when shrinking), scaled, copied into
    ``video_channels`` channels, behaviour appended or passed by keyword, axes permuted to ``input_layout``, the
    readout key passed by keyword; the rates are taken from the returned tuple and permuted to (B, N, T). A
    model that drops its first ``lag`` frames ("output_frames": "last") gets ``lag`` grey frames (behaviour: the
    first frame's) in front, so every frame is predicted; ``first_valid_frame`` is then at least ``lag``.
    Building it checks the declaration against the model (one DnemkitError line on any disagreement).
    """

    def __init__(self, model, declaration, mouse=None, description=""):
        super().__init__()
        decl = declaration
        self.declaration = decl
        self.config = decl  # hashed by fingerprint_encoder: the layout and keys change the predictions
        self.model = model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)  # frozen: reconstruction needs input gradients only
        self.description = description or decl.description or f"foreign encoder {type(model).__name__}"
        if mouse is not None and (isinstance(mouse, bool) or not isinstance(mouse, int) or mouse < 0):
            raise DnemkitError(f"mouse is {mouse!r}; expected a readout index 0, 1, 2, ...")
        self.mouse = 0 if mouse is None else mouse
        values = decl.readout_values
        if values is None or not decl.readout_list:
            if mouse not in (None, 0):
                raise DnemkitError(f"mouse index {mouse} is out of range; {decl.source} gives "
                                   f"{'one readout key' if values else 'no readout_key'} (list several as "
                                   "\"readout_key\": {\"name\": ..., \"values\": [...]} to pick one with --mouse)")
        elif self.mouse >= len(values):
            raise DnemkitError(f"mouse index {mouse} is out of range; {decl.source} lists readout keys "
                               f"0..{len(values) - 1} ({', '.join(map(str, values))})")
        self.readout_value = None if values is None else values[self.mouse]
        self.register_buffer("_behavior_mean", torch.tensor(
            decl.behavior_mean if decl.behavior_mean is not None else (0.0,) * 4, dtype=torch.float32))
        self.lag = 0
        self._check_signature()
        self._check_stimulus_shape()
        self._probe()

    def train(self, mode=True):
        # always eval: dropout or BatchNorm updates would make the predictions wander during a reconstruction
        return super().train(False)

    def default_behavior(self):
        return self._behavior_mean

    # --- the call ------------------------------------------------------------------------------------------
    def model_inputs(self, video, behavior=None):
        """The model's positional input and keyword arguments for ``video`` (B, T, 36, 64) grey levels and
        ``behavior`` (B, 4, T) or None: (x in ``input_layout``, {readout name: key, keyword: (B, k, T), ...})."""
        decl = self.declaration
        b, t = video.shape[:2]
        h, w = decl.size
        x = video
        if (h, w) != (HEIGHT, WIDTH):
            # frames as channels: one 2-D resize of every frame; differentiable, so gradients reach the 36 x 64
            # movie (masks and reconstructions stay on dnemkit's grid)
            x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False,
                              antialias=h < HEIGHT or w < WIDTH)
        if decl.mean != 0.0 or decl.std != 1.0:
            x = (x - decl.mean) / decl.std
        x = x[:, None].expand(b, decl.video_channels, t, h, w)  # (B, C, T, H, W); colour models see grey
        kwargs = {}
        if decl.behavior != "none":
            beh = self.expand_behavior(behavior, b, t, video.device).to(x.dtype)
            if decl.behavior_scale is not None:
                mean, std = (torch.tensor(v, dtype=x.dtype, device=x.device)[None, :, None]
                             for v in decl.behavior_scale)
                beh = (beh - mean) / std
            if decl.behavior == "channels":
                rows = list(decl.behavior_channels)
                planes = beh[:, rows, :, None, None].expand(b, len(rows), t, h, w)
                x = torch.cat([x, planes], dim=1)
            # keywords: ViV1T's behaviors=, pupil_centers=; with channels, e.g. a shifter's pupil_center=
            kwargs = {name: beh[:, list(rows)] for name, rows in decl.behavior_keywords}
        layout = decl.input_layout
        if "C" not in layout:
            x = x[:, 0]
            canonical = "BTHW"
        else:
            canonical = "BCTHW"
        x = x.permute([canonical.index(a) for a in layout]).contiguous()
        if decl.readout_name is not None:
            kwargs[decl.readout_name] = self.readout_value
        return x, kwargs

    def _pick(self, out):
        """The rates tensor from what the model returned (``output_index`` of a tuple/list/dict)."""
        decl = self.declaration
        index = decl.output_index
        if isinstance(out, (tuple, list, dict)):
            kind = type(out).__name__
            if index is None:
                parts = out.items() if isinstance(out, dict) else enumerate(out)
                shown = ", ".join(f"{k}: {tuple(v.shape) if torch.is_tensor(v) else type(v).__name__}"
                                  for k, v in parts)
                raise DnemkitError(f"{decl.source}: the model returned a {kind} ({shown}); expected "
                                   f"\"output_index\" to say where the rates are")
            try:
                out = out[index]
            except (IndexError, KeyError, TypeError):
                raise DnemkitError(f"{decl.source} says output_index {index!r}, but the model returned a {kind} "
                                   f"of {len(out)}") from None
        elif index is not None:
            raise DnemkitError(f"{decl.source} says output_index {index!r}, but the model returned a "
                               f"{type(out).__name__}, not a tuple")
        if not torch.is_tensor(out):
            raise DnemkitError(f"{decl.source}: the model's rates are a {type(out).__name__}; expected a tensor")
        return out

    def _call(self, video, behavior):
        """The model's rates, in the model's own output layout and frames (no permutation, no padding)."""
        x, kwargs = self.model_inputs(video, behavior)
        try:
            out = self.model(x, **kwargs)
        except DnemkitError:
            raise
        except Exception as exc:  # noqa: BLE001 -- a declaration the model disagrees with: say both in one line
            raise DnemkitError(self._call_failed(x, kwargs, exc)) from None
        return self._pick(out)

    def _call_failed(self, x, kwargs, exc):
        decl = self.declaration
        shown = ", ".join([f"x {tuple(x.shape)} {decl.input_layout}"] + [
            f"{k}={tuple(v.shape) if torch.is_tensor(v) else repr(v)}" for k, v in kwargs.items()])
        line = f"{decl.source}: calling the model as model({shown}) failed ({type(exc).__name__}: {_text(exc)})"
        conv = _first_conv(self.model)
        if conv is not None and "C" in decl.input_layout and conv[1] != decl.n_channels:
            line += (f"; its first convolution ({conv[0]}) takes {conv[1]} input channels, the declaration gives "
                     f"{decl.n_channels} ({decl.channels_text()}, behavior {decl.behavior!r})")
        else:
            line += "; check input_layout, frame_size, behavior and readout_key"
        return line

    def forward(self, video, behavior=None):
        b, t = video.shape[:2]
        if self.lag:
            # a causal model that drops its first `lag` frames: put `lag` grey frames (the behaviour of the first
            # frame) in front, so its output covers frames 0..T-1 of this video
            behavior = self.expand_behavior(behavior, b, t, video.device)
            video = torch.cat([video.new_full((b, self.lag) + tuple(video.shape[2:]), GREY), video], dim=1)
            behavior = torch.cat([behavior[:, :, :1].expand(b, 4, self.lag), behavior], dim=2)
        rates = self._call(video, behavior)
        layout = self.declaration.output
        rates = rates.permute([layout.index(a) for a in "BNT"])
        if tuple(rates.shape) != (b, self.n_neurons, t):
            raise DnemkitError(f"{self.description} returned rates {tuple(rates.shape)} (as BNT) for {b} video(s) "
                               f"x {t} frames; expected ({b}, {self.n_neurons}, {t}) as on its probe pass")
        return rates.to(video.dtype)

    # --- the checks ------------------------------------------------------------------------------------------
    def _check_signature(self):
        """Static checks of the declaration against the model's forward(...) signature and readouts."""
        decl = self.declaration
        sig = _signature(self.model)
        if sig is not None:
            params, any_keyword = sig
            named = {p.name: p for p in params if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                             inspect.Parameter.KEYWORD_ONLY)}
            listing = ", ".join(p.name for p in params if p.kind is not inspect.Parameter.VAR_POSITIONAL
                                and p.kind is not inspect.Parameter.VAR_KEYWORD)
            given = {}
            if decl.readout_name is not None:
                given[decl.readout_name] = "readout_key"
            given.update({name: "behavior_keywords" for name, _ in decl.behavior_keywords})
            for name, key in given.items():
                if name not in named and not any_keyword:
                    what = (f"readout_key {name!r}" if key == "readout_key" else
                            f"behaviour keywords ({', '.join(n for n, _ in decl.behavior_keywords)})")
                    raise DnemkitError(f"{decl.source} gives {what}, but the model's forward({listing}) takes no "
                                       f"argument {name!r}")
            if decl.readout_name is None:
                keys = _readout_keys(self.model)
                for name in READOUT_ARGUMENTS:
                    p = named.get(name)
                    # data_key=None is fine for a model with one readout; with several it picks none (openretina
                    # then concatenates every session's neurons, neuralpredictors fails)
                    if p is not None and (p.default is inspect.Parameter.empty or
                                          (p.default is None and (keys is None or len(keys) > 1))):
                        raise DnemkitError(
                            f"{decl.source}: readout key missing: the model's forward({listing}) takes {name!r}, "
                            f"but the declaration gives no readout_key; add \"readout_key\": {{\"name\": "
                            f"\"{name}\", \"value\": ...}}" + (f" (its readouts: {', '.join(keys)})" if keys else ""))
            positional = [p for p in params if p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                          inspect.Parameter.POSITIONAL_OR_KEYWORD)]
            required = [p.name for p in params[1:] if p.default is inspect.Parameter.empty and p.kind in (
                inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY) and p.name not in given]
            if positional and positional[0].name in given:
                raise DnemkitError(f"{decl.source}: the model's first argument {positional[0].name!r} is its input, "
                                   "not a readout key or behaviour keyword")
            if required:
                hint = ("declare \"behavior\": \"keywords\" with \"behavior_keywords\" naming them"
                        if not decl.behavior_keywords else "name them in behavior_keywords or readout_key")
                raise DnemkitError(f"{decl.source}: the model's forward({listing}) requires "
                                   f"{', '.join(map(repr, required))}, which the declaration does not give "
                                   f"(behavior {decl.behavior!r}); {hint}")
        keys = _readout_keys(self.model)
        if keys is not None and decl.readout_values is not None:
            for value in decl.readout_values:
                if value not in keys:
                    raise DnemkitError(f"{decl.source}: readout_key {decl.readout_name}={value!r} is not one of "
                                       f"the model's readouts ({', '.join(keys)})")

    def _declared_shape(self, b, t):
        decl = self.declaration
        h, w = decl.size
        sizes = {"B": b, "C": decl.n_channels, "T": t, "H": h, "W": w}
        return tuple(sizes[a] for a in decl.input_layout)

    def _check_stimulus_shape(self):
        """openretina's ``model.stimulus_shape(time_steps, num_batches)`` (B, C, T, H, W) against the
        declaration: channels and frame size."""
        decl = self.declaration
        shape_of = getattr(self.model, "stimulus_shape", None)
        if not callable(shape_of):
            return
        try:
            expected = tuple(int(s) for s in shape_of(time_steps=7, num_batches=3))
        except Exception:  # noqa: BLE001 -- a stimulus_shape of another meaning: nothing to compare
            return
        ours = self._declared_shape(3, 7)
        if decl.input_layout != "BCTHW" or expected != ours:
            raise DnemkitError(
                f"{decl.source}: the model's stimulus_shape(time_steps=7, num_batches=3) is {expected} (B, C, T, H, "
                f"W), but the declaration gives {ours} (input_layout {decl.input_layout}, {decl.channels_text()} "
                f"channels, frame_size {list(decl.size)})")

    def _probe(self, seed=0):
        """Two calls (2 videos x T1 frames, 1 x T1 + 5) find the model's rates axes, dropped frames and neuron
        count; one more, through forward, checks the rates (finite, >= 0) and their gradient w.r.t. the video."""
        decl = self.declaration
        gen = torch.Generator().manual_seed(seed)
        t1 = (decl.first_valid_frame or 0) + 48
        cases = [(2, t1), (1, t1 + 5)]
        shapes = []
        with torch.no_grad():
            for b, t in cases:
                video = torch.rand((b, t, HEIGHT, WIDTH), generator=gen) * 255
                shapes.append(tuple(self._call(video, None).shape))
        (b1, t1), (b2, t2) = cases
        s1, s2 = shapes
        seen = f"{s1} for {b1} videos x {t1} frames and {s2} for {b2} x {t2}"
        if len(s1) != 3 or len(s2) != 3:
            raise DnemkitError(f"{decl.source}: the model returned rates {seen}; expected 3 axes (batch, neurons, "
                               "frames)")
        batch = [k for k in range(3) if s1[k] == b1 and s2[k] == b2]
        time = [k for k in range(3) if s2[k] - s1[k] == t2 - t1 and 0 < s1[k] <= t1 and k not in batch]
        neurons = [k for k in range(3) if s1[k] == s2[k] and k not in batch and k not in time]
        if len(batch) != 1 or len(time) != 1 or len(neurons) != 1:
            said = decl.says("output", decl.output)
            raise DnemkitError(f"{decl.source}: the model returned rates {seen}; no axis follows the frames (or the "
                               f"videos) one to one; expected batch, neurons and frames ({said}; a model that needs "
                               "more history than that: declare first_valid_frame)")
        found = "".join(sorted("BTN", key=lambda a: {"B": batch[0], "T": time[0], "N": neurons[0]}[a]))
        n = s1[neurons[0]]
        frames_out = s1[time[0]]
        if found != decl.output:
            raise DnemkitError(f"{decl.source} says {decl.says('output', decl.output)}, but the model returned {s1} "
                               f"for {n} neurons x {b1} videos x {t1} frames: the output looks like {found}")
        lag = t1 - frames_out
        if lag and decl.output_frames == "all":
            raise DnemkitError(f"{decl.source} says {decl.says('output_frames', 'all')}, but the model returned "
                               f"{frames_out} frames for {t1}: it drops its first {lag} frames (a valid temporal "
                               "convolution?); declare \"output_frames\": \"last\"")
        if decl.first_valid_frame is not None and decl.first_valid_frame < lag:
            raise DnemkitError(f"{decl.source} says first_valid_frame {decl.first_valid_frame}, but the model "
                               f"needs {lag} frames before its first prediction (it returned {frames_out} frames "
                               f"for {t1}); expected first_valid_frame >= {lag}")
        if decl.n_neurons is not None and decl.n_neurons != n:
            raise DnemkitError(f"{decl.source} says n_neurons {decl.n_neurons}, but the model returned {n} neurons "
                               f"(rates {s1}, output {decl.output})")
        self.lag = lag
        self.n_neurons = n
        self.first_valid_frame = decl.first_valid_frame if decl.first_valid_frame is not None else lag
        # the full path once, at the length of a reconstruction's sub-batch: finite, >= 0, differentiable
        video = (torch.rand((1, 32, HEIGHT, WIDTH), generator=gen) * 255).requires_grad_(True)
        with torch.enable_grad():  # also when the encoder is loaded inside a caller's torch.no_grad()
            rates = self(video)
            check_rates(rates, self, video, need_grad=True)
            (grad,) = torch.autograd.grad(rates.sum(), video, allow_unused=True)
        if grad is None or not bool(torch.isfinite(grad).all()):
            raise DnemkitError(f"{self.description}: the gradient of its rates w.r.t. the video is "
                               f"{'missing' if grad is None else 'not finite'}; expected rates computed from the "
                               "video with differentiable torch operations")

    def info(self):
        out = super().info()
        decl = self.declaration
        h, w = decl.size
        out.update(
            model=type(self.model).__name__,
            declaration=decl.source,
            model_input=f"{decl.input_layout} {self._declared_shape(1, 32)} for 32 frames ({decl.channels_text()} "
                        f"channels)",
            frame_size=f"{h} x {w}" + ("" if (h, w) == (HEIGHT, WIDTH) else
                                       f" (resized from {HEIGHT} x {WIDTH}, bilinear)"),
            scale=f"(video - {decl.mean:g}) / {decl.std:g}",
            behavior=decl.behavior,
            readout=None if decl.readout_name is None else f"{decl.readout_name}={self.readout_value!r}",
            output=f"{decl.output}" + ("" if decl.output_index is None else f", item {decl.output_index!r}"),
            dropped_frames=self.lag,
        )
        return out
