"""Declared adapters (dnemkit.encoders.adapters): foreign models behind the encoder protocol from an encoder.json.

The stand-ins in foreign_models.py reproduce the Sensorium 2023 baseline's and ViV1T's calls. Each is checked
against a hand-written wrapper (the call spelled out here, independently of the adapter), reconstructed from,
run through the CLI, and mis-declared in every way the adapter must catch with one line.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import dnemkit
from dnemkit.encoders import load_encoder
from dnemkit.encoders.adapters import ForeignEncoder
from dnemkit.errors import DnemkitError
from dnemkit.io.results import read_dataset

HERE = Path(__file__).resolve().parent
STANDINS = HERE / "foreign_models.py"
SENSORIUM_KEYS = ["dynamic29515", "dynamic29623"]  # 30 and 20 neurons
SENSORIUM_LAG = 6  # temporal kernels 5 and 3, no temporal padding: the model drops its first 4 + 2 frames
MEAN, STD = 127.5, 60.0  # the stand-ins' video normalisation (grey levels)


def standins():
    spec = importlib.util.spec_from_file_location("foreign_models_for_tests", STANDINS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sensorium_json(**changes):
    meta = {"factory": f"{STANDINS}:make_sensorium_2023", "weights": "weights.pt", "input_layout": "BCTHW",
            "behavior": "channels", "behavior_keywords": {"pupil_center": [2, 3]},
            "readout_key": {"name": "data_key", "values": SENSORIUM_KEYS},
            "scale": {"mean": MEAN, "std": STD}, "output": "BTN", "output_frames": "last"}
    meta.update(changes)
    return {k: v for k, v in meta.items() if v is not None}


def viv1t_json(**changes):
    meta = {"factory": f"{STANDINS}:make_viv1t", "weights": "weights.pt", "input_layout": "BCTHW",
            "behavior": "keywords", "readout_key": {"name": "mouse_id", "values": ["A", "B"]},
            "scale": {"mean": MEAN, "std": STD}, "output": "BNT", "output_index": 0}
    meta.update(changes)
    return {k: v for k, v in meta.items() if v is not None}


def write_folder(folder, model, meta):
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), folder / "weights.pt")
    (folder / "encoder.json").write_text(json.dumps(meta))
    return folder


@pytest.fixture(scope="module")
def models():
    m = standins()
    # seed 3 differs from the factories' default seed 0: the weights must come from weights.pt
    return {"sensorium": m.make_sensorium_2023(seed=3), "viv1t": m.make_viv1t(seed=3)}


def inputs(b=2, t=40, seed=0):
    gen = torch.Generator().manual_seed(seed)
    video = torch.rand((b, t, 36, 64), generator=gen) * 255
    behavior = torch.randn((b, 4, t), generator=gen) + torch.tensor([1.0, 2.0, 0.0, 0.0])[None, :, None]
    return video, behavior


def sensorium_by_hand(model, video, behavior, data_key, size=(36, 64)):
    """The Sensorium 2023 call written out: `lag` grey frames in front (behaviour: the first frame's), resize,
    normalise, behaviour rows 0-3 as constant channels after the video, pupil centre for the shifter; [B, T, N]
    back to [B, N, T]."""
    b, t = video.shape[:2]
    video = torch.cat([torch.full((b, SENSORIUM_LAG, 36, 64), 127.5), video], dim=1)
    behavior = torch.cat([behavior[:, :, :1].repeat(1, 1, SENSORIUM_LAG), behavior], dim=2)
    frames = video if size == (36, 64) else F.interpolate(video, size=size, mode="bilinear", align_corners=False,
                                                          antialias=True)
    frames = (frames - MEAN) / STD
    planes = [behavior[:, k][:, :, None, None].expand(-1, -1, *size) for k in range(4)]
    x = torch.stack([frames] + planes, dim=1)  # (B, 5, T + lag, H, W)
    return model(x, data_key=data_key, pupil_center=behavior[:, 2:4]).transpose(1, 2)


def viv1t_by_hand(model, video, behavior, mouse_id):
    x = ((video - MEAN) / STD)[:, None]  # (B, 1, T, H, W)
    responses, _ = model(x, mouse_id=mouse_id, behaviors=behavior[:, :2], pupil_centers=behavior[:, 2:])
    return responses


@pytest.mark.parametrize("size", [(36, 64), (18, 32)])
def test_sensorium_2023_call_equals_hand_written_wrapper(tmp_path, models, size):
    model = models["sensorium"]
    meta = sensorium_json(frame_size=list(size) if size != (36, 64) else None)
    folder = write_folder(tmp_path / "s", model, meta)
    enc = load_encoder(str(folder), mouse=1)
    assert isinstance(enc, ForeignEncoder)
    assert enc.n_neurons == 20 and enc.first_valid_frame == SENSORIUM_LAG and enc.lag == SENSORIUM_LAG
    video, behavior = inputs()
    with torch.no_grad():
        got = enc(video, behavior)
        expected = sensorium_by_hand(model, video, behavior, SENSORIUM_KEYS[1], size)
        assert got.shape == (2, 20, 40)
        torch.testing.assert_close(got, expected, rtol=0, atol=0)
        # from frame `lag` on the grey padding is out of the model's reach: the model on the bare video, aligned
        frames = video if size == (36, 64) else F.interpolate(video, size=size, mode="bilinear",
                                                              align_corners=False, antialias=True)
        planes = [behavior[:, k][:, :, None, None].expand(-1, -1, *size) for k in range(4)]
        bare = model(torch.stack([(frames - MEAN) / STD] + planes, 1), data_key=SENSORIUM_KEYS[1],
                     pupil_center=behavior[:, 2:4])
        torch.testing.assert_close(got[..., SENSORIUM_LAG:], bare.transpose(1, 2), rtol=1e-6, atol=1e-6)
        # behaviour enters (channels and the shifter), and --mouse picks the readout
        assert not torch.allclose(enc(video, behavior + 1.0), got)
        assert load_encoder(str(folder)).n_neurons == 30
        # the weights file as the spec, beside its encoder.json: the same encoder
        torch.testing.assert_close(load_encoder(str(folder / "weights.pt"), mouse=1)(video, behavior), got)


def test_viv1t_call_equals_hand_written_wrapper(tmp_path, models):
    model = models["viv1t"]
    folder = write_folder(tmp_path / "v", model, viv1t_json(behavior_mean=[1.0, 2.0, 0.5, -0.5]))
    enc = load_encoder(str(folder), mouse=0)
    assert enc.n_neurons == 25 and enc.first_valid_frame == 0 and enc.lag == 0
    video, behavior = inputs(t=33)
    with torch.no_grad():
        torch.testing.assert_close(enc(video, behavior), viv1t_by_hand(model, video, behavior, "A"), rtol=0, atol=0)
        # no behaviour given: the declared behaviour means, every frame
        default = torch.tensor([1.0, 2.0, 0.5, -0.5])[None, :, None].expand(2, 4, 33)
        torch.testing.assert_close(enc(video), viv1t_by_hand(model, video, default, "A"), rtol=0, atol=0)
        assert load_encoder(str(folder), mouse=1)(video).shape == (2, 15, 33)
    info = enc.info()
    assert info["readout"] == "mouse_id='A'" and info["output"] == "BNT, item 0" and info["neurons"] == 25


@pytest.mark.parametrize("kind", ["sensorium", "viv1t"])
def test_reconstruction_through_an_adapter(tmp_path, models, kind):
    """A few fast-recipe iterations on the adapter's predicted activity lower the loss at every iteration and halve
    the misfit of the predicted responses; the movie stays 36 x 64 (for the 18 x 32 model too: the resize is inside
    the encoder, gradients flow back through it)."""
    meta = sensorium_json(frame_size=[18, 32]) if kind == "sensorium" else viv1t_json()
    enc = load_encoder(str(write_folder(tmp_path / kind, models[kind], meta)))
    movie = dnemkit.natural_movie(seed=1, n_frames=64).values
    with torch.no_grad():
        target = enc(torch.from_numpy(movie)[None])[0]
    res = dnemkit.reconstruct(enc, target, recipe=dnemkit.Recipe.named("fast", iterations=6), progress=False)
    loss = res.traces["loss"][:, 0, 0]
    assert res.ensemble.shape == (1, 64, 36, 64)
    misfit = 1 - res.traces["response_correlation"][:, 0, 0]  # 1 - r(predicted from the video, target)
    assert (np.diff(loss) < 0).all(), loss
    assert misfit[-1] < 0.6 * misfit[0], misfit
    assert np.isfinite(res.ensemble).all() and res.ensemble.std() > 0


def test_a_whole_saved_module(tmp_path, models, monkeypatch):
    """"module": a model saved with torch.save(model) (its class importable), no factory."""
    monkeypatch.syspath_prepend(str(HERE))
    import foreign_models

    model = foreign_models.make_viv1t(seed=3)
    folder = tmp_path / "m"
    folder.mkdir()
    torch.save(model, folder / "model.pt")
    meta = {k: v for k, v in viv1t_json().items() if k not in ("factory", "weights")}
    (folder / "encoder.json").write_text(json.dumps(dict(meta, module="model.pt")))
    video, behavior = inputs(t=32)
    with torch.no_grad():
        torch.testing.assert_close(load_encoder(str(folder))(video, behavior),
                                   viv1t_by_hand(models["viv1t"], video, behavior, "A"), rtol=0, atol=0)


# every way to get a declaration wrong that the adapter must catch: (stand-in, encoder.json, fragments of the line)
BAD = [
    ("viv1t", viv1t_json(output="BTN"), ["says output BTN", "the output looks like BNT"]),
    ("sensorium", sensorium_json(output="BNT"), ["says output BNT", "the output looks like BTN"]),
    ("sensorium", sensorium_json(output=None), ["says output BNT (the default)", "looks like BTN"]),
    ("sensorium", sensorium_json(behavior="none", behavior_keywords=None),
     ["first convolution (core.features.0) takes 5 input channels", "gives 1 (1 video + 0 behaviour"]),
    ("sensorium", sensorium_json(behavior_keywords=None), ["pupil_center is not given"]),
    ("sensorium", sensorium_json(behavior_channels=[0, 1]), ["takes 5 input channels", "gives 3"]),
    ("sensorium", sensorium_json(output_frames=None), ["output_frames all (the default)", "drops its first 6",
                                                       "\"output_frames\": \"last\""]),
    ("sensorium", sensorium_json(first_valid_frame=2), ["first_valid_frame 2", "needs 6 frames"]),
    ("sensorium", sensorium_json(readout_key=None), ["readout key missing", "'data_key'",
                                                     "dynamic29515, dynamic29623"]),
    ("viv1t", viv1t_json(readout_key=None), ["readout key missing", "'mouse_id'"]),
    ("viv1t", viv1t_json(readout_key={"name": "mouse_id", "value": "C"}), ["mouse_id='C' is not one of", "(A, B)"]),
    ("viv1t", viv1t_json(readout_key={"name": "data_key", "value": "A"}), ["takes no argument 'data_key'"]),
    ("viv1t", viv1t_json(readout_key={"name": "mouse_id"}), ["readout_key is"]),
    ("viv1t", viv1t_json(behavior="none"), ["requires 'behaviors', 'pupil_centers'", "\"behavior\": \"keywords\""]),
    ("viv1t", viv1t_json(behavior_keywords={"behavior": [0, 1], "pupil_center": [2, 3]}),
     ["behaviour keywords (behavior, pupil_center)", "takes no argument 'behavior'"]),
    ("viv1t", viv1t_json(behavior_keywords={"behaviors": [0, 7]}), ["behavior_keywords.behaviors is [0, 7]"]),
    ("viv1t", viv1t_json(output_index=None), ["returned a tuple", "\"output_index\""]),
    ("viv1t", viv1t_json(output_index=2), ["output_index 2", "tuple of 2"]),
    ("sensorium", sensorium_json(output_index=0), ["output_index 0", "not a tuple"]),
    ("viv1t", viv1t_json(n_neurons=99), ["n_neurons 99", "returned 25 neurons"]),
    ("sensorium", sensorium_json(input_layout="BXTHW"), ["input_layout 'BXTHW' is an unknown layout (axis X)"]),
    ("sensorium", sensorium_json(input_layout="BCTTW"), ["unknown layout"]),
    ("sensorium", sensorium_json(input_layout="BTCHW"),
     ["calling the model as model(x (2, 48, 5, 36, 64) BTCHW", "but got 48 channels"]),
    ("sensorium", sensorium_json(output="BTX"), ["output 'BTX' is an unknown layout"]),
    ("sensorium", sensorium_json(frame_size=[0, 64]), ["frame_size [0, 64] cannot be resized to"]),
    ("sensorium", sensorium_json(frame_size=[36]), ["frame_size [36] cannot be resized to"]),
    ("sensorium", sensorium_json(frame_size=[36, 99999]), ["cannot be resized to", "2 to 2048"]),
    ("sensorium", sensorium_json(scale="0-100"), ["scale is '0-100'"]),
    ("sensorium", sensorium_json(scale={"mean": 1, "std": 0}), ["scale is"]),
    ("sensorium", sensorium_json(behavior="sometimes"), ["behavior is 'sometimes'"]),
    ("sensorium", sensorium_json(output_frames="first"), ["output_frames is 'first'"]),
    ("sensorium", dict(sensorium_json(), input_layot="BCTHW"), ["unknown key 'input_layot'"]),
    ("sensorium", sensorium_json(factory="no_such_package_xyz.models:make"), ["cannot import module"]),
    ("sensorium", sensorium_json(factory=f"{STANDINS}:missing"), ["'missing' is not a callable"]),
    ("sensorium", sensorium_json(kwargs={"hidden": 4}), ["weights", "do not fit"]),
    ("sensorium", sensorium_json(weights="nowhere.pt"), ["weights", "nowhere.pt does not exist"]),
    ("sensorium", dict(sensorium_json(), module="m.pt"), ["both \"factory\" and \"module\""]),
]


@pytest.mark.parametrize("kind, meta, fragments", BAD, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(BAD)])
def test_bad_declarations_are_one_line(tmp_path, models, kind, meta, fragments):
    folder = write_folder(tmp_path / "bad", models[kind], meta)
    with pytest.raises(DnemkitError) as caught:
        load_encoder(str(folder))
    line = str(caught.value)
    assert "\n" not in line
    for fragment in fragments:
        assert fragment in line, line


def test_mouse_index_against_the_readout_keys(tmp_path, models):
    folder = write_folder(tmp_path / "s", models["sensorium"], sensorium_json())
    with pytest.raises(DnemkitError, match=r"mouse index 2 is out of range; .* lists readout keys 0..1"):
        load_encoder(str(folder), mouse=2)
    single = write_folder(tmp_path / "one", models["sensorium"],
                          sensorium_json(readout_key={"name": "data_key", "value": "dynamic29515"}))
    with pytest.raises(DnemkitError, match="mouse index 1 is out of range; .* gives one readout key"):
        load_encoder(str(single), mouse=1)


def test_cli_info_and_one_line_errors(tmp_path, models, run_cli, assert_one_line_error):
    good = write_folder(tmp_path / "good", models["viv1t"], viv1t_json())
    result = run_cli("encoders", "info", good, "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["class"] == "ForeignEncoder" and info["neurons"] == 25 and info["behavior"] == "keywords"
    transposed = write_folder(tmp_path / "t", models["viv1t"], viv1t_json(output="BTN"))
    assert_one_line_error(run_cli("encoders", "info", transposed), "the output looks like BNT")
    no_channels = write_folder(tmp_path / "n", models["sensorium"], sensorium_json(behavior="none",
                                                                                   behavior_keywords=None))
    assert_one_line_error(run_cli("natural", "--encoder", no_channels, "--predicted", "--out", tmp_path / "o"),
                          "takes 5 input channels")


@pytest.mark.slow
def test_sensorium_style_model_through_the_cli(tmp_path, models, run_cli):
    """`characterize natural --predicted` and a small `characterize gratings` on an encoder.json folder."""
    folder = write_folder(tmp_path / "s", models["sensorium"], sensorium_json(frame_size=[18, 32]))
    out = tmp_path / "n"
    natural = run_cli("natural", "--encoder", folder, "--mouse", "1", "--predicted", "--iterations", "2",
                      "--no-video", "--quiet", "--out", out)
    assert natural.exit_code == 0, natural.output
    ds = read_dataset(out / "natural.nc")
    assert ds.sizes["y"] == 36 and ds.sizes["x"] == 64
    gratings = run_cli("gratings", "--encoder", folder, "--sf", "0.036", "--tf", "1.875", "--directions", "0",
                       "--frames", "40", "--iterations", "2", "--quiet", "--out", tmp_path / "g")
    assert gratings.exit_code == 0, gratings.output
    assert (tmp_path / "g" / "gratings.nc").exists()
