"""openretina (the pip package, not a stand-in) through a declared adapter, end to end.

A ``UnifiedCoreReadout`` is built with random weights through openretina's own API (Hydra configs of its
``SimpleCoreWrapper`` core and ``MultiGaussianMaskReadout`` readout, two sessions, two colour channels at
18 x 32), saved as a Lightning checkpoint, and loaded by openretina's ``load_core_readout_model`` as the
encoder.json's factory: predictions equal a hand-written call, the declaration is checked against the model's
``stimulus_shape``, and `characterize natural --predicted` and `characterize gratings` run on the folder.

openretina's own requirements pull a CUDA torch and torchvision; the adapter needs neither, so it is installed
as ``pip install -e ".[openretina]" && pip install --no-deps openretina`` (README, "Foreign encoders").
"""

import json
import warnings

import pytest
import torch
import torch.nn.functional as F

from dnemkit.encoders import load_encoder
from dnemkit.errors import DnemkitError
from dnemkit.io.results import read_dataset

core_readout = pytest.importorskip(
    "openretina.models.core_readout", exc_type=ImportError,
    reason="openretina is not installed (pip install -e \".[openretina]\" && pip install --no-deps openretina)")

SESSIONS = {"session_a": 40, "session_b": 25}
LAG = 10  # the first layer's temporal kernel (11) is unpadded: the model drops 10 frames; the second is padded


def declaration(**changes):
    meta = {"description": "openretina UnifiedCoreReadout, random weights",
            "factory": "openretina.models.core_readout:load_core_readout_model",
            "kwargs": {"model_path_or_name": {"path": "model.ckpt"}, "device": "cpu"},
            "input_layout": "BCTHW", "video_channels": 2, "frame_size": [18, 32],
            "scale": {"mean": 127.5, "std": 127.5},
            "readout_key": {"name": "data_key", "values": list(SESSIONS)},
            "output": "BTN", "output_frames": "last"}
    meta.update(changes)
    return {k: v for k, v in meta.items() if v is not None}


@pytest.fixture(scope="module")
def openretina_folder(tmp_path_factory):
    """A folder with model.ckpt (openretina, random weights) and its encoder.json; returns (folder, model)."""
    import lightning
    from omegaconf import OmegaConf

    torch.manual_seed(0)
    core = OmegaConf.create({
        "_target_": "openretina.modules.core.base_core.SimpleCoreWrapper", "channels": [2, 8, 8],
        "temporal_kernel_sizes": [LAG + 1, 5], "spatial_kernel_sizes": [7, 5], "gamma_input": 0.0,
        "gamma_temporal": 0.0, "gamma_in_sparse": 0.0, "gamma_hidden": 0.0, "cut_first_n_frames": 0})
    readout = OmegaConf.create({
        "_target_": "openretina.modules.readout.multi_readout.MultiGaussianMaskReadout", "scale": True,
        "bias": True, "gaussian_mean_scale": 6.0, "gaussian_var_scale": 4.0, "positive": True})
    model = core_readout.UnifiedCoreReadout(in_shape=(2, 50, 18, 32), n_neurons_dict=SESSIONS, core=core,
                                            readout=readout, data_info={"input_shape": (2, 18, 32)})
    with torch.no_grad():
        # openretina initialises its core near 0 (rates vary by ~1e-7 over a natural movie) and centres every
        # readout mask: draw weights that respond, and neurons that look at different places
        gen = torch.Generator().manual_seed(0)
        for name, p in model.core.named_parameters():
            if ".conv." in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
        for session in model.readout.values():
            session.mask_mean.copy_(torch.rand(session.mask_mean.shape, generator=gen) * 1.2 - 0.6)
    folder = tmp_path_factory.mktemp("openretina")
    trainer = lightning.Trainer(logger=False, enable_checkpointing=False, accelerator="cpu",
                                enable_progress_bar=False, enable_model_summary=False)
    trainer.strategy.connect(model)
    trainer.save_checkpoint(folder / "model.ckpt")
    (folder / "encoder.json").write_text(json.dumps(declaration()))
    return folder, model.eval()


def by_hand(model, video, data_key):
    """openretina's call written out: LAG grey frames in front, resize to 18 x 32, (v - 127.5) / 127.5, the grey
    movie in both colour channels, x [B, 2, T, 18, 32] -> model(x, data_key=...) [B, T, N] -> [B, N, T]."""
    b = video.shape[0]
    video = torch.cat([torch.full((b, LAG, 36, 64), 127.5), video], dim=1)
    frames = F.interpolate(video, size=(18, 32), mode="bilinear", align_corners=False, antialias=True)
    x = ((frames - 127.5) / 127.5)[:, None].repeat(1, 2, 1, 1, 1)
    assert x.shape[1:] == model.stimulus_shape(time_steps=x.shape[2], num_batches=b)[1:]
    return model(x, data_key=data_key).transpose(1, 2)


def test_openretina_model_equals_its_own_call(openretina_folder):
    folder, model = openretina_folder
    enc = load_encoder(str(folder), mouse=1)
    assert enc.n_neurons == SESSIONS["session_b"] and enc.lag == LAG and enc.first_valid_frame == LAG
    video = torch.rand((2, 40, 36, 64), generator=torch.Generator().manual_seed(0)) * 255
    with torch.no_grad():
        expected = by_hand(model, video, "session_b")
        torch.testing.assert_close(enc(video), expected, rtol=1e-6, atol=1e-6)
        # the checkpoint as the spec: it takes the place of the factory's {"path": ...} argument
        torch.testing.assert_close(load_encoder(str(folder / "model.ckpt"), mouse=1)(video), expected,
                                   rtol=1e-6, atol=1e-6)
    assert load_encoder(str(folder)).n_neurons == SESSIONS["session_a"]


def test_openretina_reconstruction(openretina_folder):
    """The fast recipe on the model's predicted activity for a natural movie: the loss falls at every iteration,
    the misfit of the predicted responses halves, and the reconstruction is a 36 x 64 movie."""
    import numpy as np

    import dnemkit

    folder, _ = openretina_folder
    enc = load_encoder(str(folder))
    movie = dnemkit.natural_movie(seed=1, n_frames=64).values
    with torch.no_grad():
        target = enc(torch.from_numpy(movie)[None])[0]
    assert float(target.std(-1).mean()) > 0.1  # the drawn weights respond to the movie
    res = dnemkit.reconstruct(enc, target, recipe=dnemkit.Recipe.named("fast", iterations=10), progress=False)
    loss = res.traces["loss"][:, 0, 0]
    assert (np.diff(loss) < 0).all(), loss
    misfit = 1 - res.traces["response_correlation"][:, 0, 0]
    assert misfit[-1] < 0.5 * misfit[0], misfit
    assert res.ensemble.shape == (1, 64, 36, 64)


@pytest.mark.parametrize("changes, fragments", [
    ({"frame_size": None}, ["stimulus_shape(time_steps=7, num_batches=3) is (3, 2, 7, 18, 32)",
                            "gives (3, 2, 7, 36, 64)"]),
    ({"video_channels": None}, ["is (3, 2, 7, 18, 32)", "1 video + 0 behaviour channels"]),
    ({"readout_key": None}, ["readout key missing", "'data_key'", "session_a, session_b"]),
    ({"readout_key": {"name": "data_key", "value": "session_c"}}, ["data_key='session_c' is not one of"]),
    ({"output": "BNT"}, ["says output BNT", "looks like BTN"]),
])
def test_openretina_declaration_errors(openretina_folder, tmp_path, changes, fragments):
    folder, _ = openretina_folder
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.ckpt").symlink_to(folder / "model.ckpt")
    (bad / "encoder.json").write_text(json.dumps(declaration(**changes)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openretina's own warning when it is called without a data_key
        with pytest.raises(DnemkitError) as caught:
            load_encoder(str(bad))
    line = str(caught.value)
    assert "\n" not in line
    for fragment in fragments:
        assert fragment in line, line


@pytest.mark.slow
def test_openretina_natural_and_gratings_cli(openretina_folder, tmp_path, run_cli):
    folder, _ = openretina_folder
    natural = run_cli("natural", "--encoder", folder, "--mouse", "1", "--predicted", "--iterations", "3",
                      "--no-video", "--quiet", "--out", tmp_path / "n")
    assert natural.exit_code == 0, natural.output
    ds = read_dataset(tmp_path / "n" / "natural.nc")
    assert ds.sizes["y"] == 36 and ds.sizes["x"] == 64
    gratings = run_cli("gratings", "--encoder", folder, "--sf", "0.036", "--tf", "1.875", "--directions", "0",
                       "--frames", "40", "--iterations", "2", "--quiet", "--out", tmp_path / "g")
    assert gratings.exit_code == 0, gratings.output
    assert read_dataset(tmp_path / "g" / "gratings.nc").sizes["sf"] == 1
