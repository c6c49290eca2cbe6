"""dnemkit.reference: the reference's summary files (CUDA tensors, numpy 1.x names) read back exactly on a CPU,
assembled into a Dataset, written back in the same form; malicious and damaged files refused in one line."""

import os
import pickle
import pickletools

import numpy as np
import pytest
import torch

from dnemkit.errors import DnemkitError
from dnemkit.reference import FIELDS, read_summaries, read_summary, write_summary
from dnemkit.units import missing_units, stray_units


def _globals(path):
    raw = path.read_bytes()
    body = raw[raw.index(b"\n", 10) + 1:]
    return {arg for op, arg, _ in pickletools.genops(body) if op.name == "GLOBAL"}


def test_fabricated_files_look_like_the_references(reference_set):
    root, _ = reference_set
    path = root / "modelfold[0]_datafold_0_pop100_hpc_round5" / "reconstruction_summary_m0_t0.npy"
    names = _globals(path)
    assert "numpy.core.multiarray _reconstruct" in names and "torch.storage _load_from_bytes" in names
    assert "pathlib PosixPath" in names and "torch device" in names
    with pytest.raises(RuntimeError, match="CUDA"):  # what np.load(allow_pickle=True) meets on a CPU
        np.load(path, allow_pickle=True)


def test_read_summary_gives_back_the_known_arrays(reference_set):
    root, arrays = reference_set
    d = read_summary(root / "modelfold[1]_datafold_0_pop100_hpc_round5" / "reconstruction_summary_m1_t10.npy")
    a = arrays[1, 1, 10]
    assert set(d) == set(FIELDS)
    np.testing.assert_array_equal(d["video_gt"], a["video_gt"])
    np.testing.assert_array_equal(d["video_pred"], a["video_pred"])
    np.testing.assert_array_equal(d["responses"], a["responses"])
    assert isinstance(d["responses"], np.ndarray) and d["responses"].dtype == np.float32
    np.testing.assert_array_equal(d["responses_predicted_gt"][:, :, 0], a["predicted"])
    np.testing.assert_array_equal(d["mask"], a["mask"])
    assert d["device"] == "cuda:0" and d["model_paths"][0].endswith("fold_0/model-017-0.290000.pth")
    assert d["response_loss_gt"] == 0.75 and d["mouse_index"] == 1 and d["trial"] == 10
    assert d["video_itter"].shape == (101,) and d["video_corr"].shape == (101,)


def test_read_summaries_assembles_clips_models_and_units(reference_set):
    root, arrays = reference_set
    ds = read_summaries(root, activity=True)
    assert dict(ds.sizes) == {"model": 2, "clip": 6, "frame": 40, "y": 36, "x": 64, "iteration": 101,
                              "channel": 4, "neuron": 12}
    assert list(ds.mouse.values) == [0, 0, 0, 1, 1, 1] and list(ds.trial.values) == [0, 1, 10, 10, 1, 2]
    clip = 3  # mouse 1, trial 10
    np.testing.assert_array_equal(ds.video_gt.values[clip], arrays[0, 1, 10]["video_gt"])
    np.testing.assert_array_equal(ds.video_pred.sel(model=1).values[clip], arrays[1, 1, 10]["video_pred"])
    np.testing.assert_array_equal(ds.mask_level.values[clip], arrays[0, 1, 10]["mask"][14:50])
    assert ds.n_neurons.values.tolist() == [12, 12, 12, 9, 9, 9]
    assert np.isnan(ds.responses.values[clip, 9:]).all()
    np.testing.assert_array_equal(ds.responses.values[clip, :9], arrays[0, 1, 10]["responses"])
    assert ds.attrs["eval_frame_skip"] == 32
    assert missing_units(ds) == [] and stray_units(ds) == []


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    path = tmp_path / "reconstruction_summary_m0_t0.npy"
    np.save(path, np.asarray({"video_gt": Evil()}, dtype=object), allow_pickle=True)
    with pytest.raises(DnemkitError, match=r"refused: it names (posix|os)\.system") as err:
        read_summary(path)
    assert "\n" not in str(err.value) and not (tmp_path / "pwned").exists()
    bare = tmp_path / "bare.pkl"
    bare.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(DnemkitError, match="refused"):
        read_summary(bare)
    assert not (tmp_path / "pwned").exists()


def test_missing_key_and_wrong_shape_are_one_line(tmp_path, fabricate):
    a = fabricate.clip_arrays(0, 0, 0)
    d = fabricate.reference_dict(0, 0, **a)
    del d["video_pred"]
    fabricate.save(tmp_path / "a.npy", d)
    with pytest.raises(DnemkitError, match=r"a\.npy has no key 'video_pred'"):
        read_summary(tmp_path / "a.npy")
    d = fabricate.reference_dict(0, 0, **a)
    d["video_pred"] = d["video_pred"][:, :30]
    fabricate.save(tmp_path / "b.npy", d)
    with pytest.raises(DnemkitError, match=r"b\.npy: 'video_pred' has shape \(40, 30, 64\); expected \(40, 36, 64\)"):
        read_summary(tmp_path / "b.npy")
    (tmp_path / "c.npy").write_bytes((tmp_path / "b.npy").read_bytes()[:5000])
    with pytest.raises(DnemkitError, match="not a readable pickle"):
        read_summary(tmp_path / "c.npy")


def test_written_summary_has_the_save_calls_keys_types_and_reads_back(tmp_path, fabricate):
    a = fabricate.clip_arrays(1, 2, 0)
    path = write_summary(tmp_path / "reconstruction_summary_m1_t2.npy", video_gt=a["video_gt"],
                         video_pred=a["video_pred"], responses=a["responses"], responses_predicted_gt=a["predicted"],
                         responses_predicted_full=a["predicted"], behavior=a["behavior"],
                         pupil_center=a["pupil_center"], mask=a["mask"], mouse_index=1, trial=2)
    assert "numpy.core.multiarray _reconstruct" in _globals(path)
    assert not any(g.startswith("numpy._core") for g in _globals(path))
    # what the reference's notebooks do: np.load(allow_pickle=True).item() (the file holds CPU tensors)
    raw = np.load(path, allow_pickle=True).item()
    assert list(raw) == list(FIELDS)
    assert isinstance(raw["responses"], torch.Tensor) and isinstance(raw["device"], torch.device)
    assert raw["video_pred"].shape == (40, 36, 64) and raw["responses_predicted_gt"].shape == (9, 40, 1)
    d = read_summary(path)
    np.testing.assert_array_equal(d["video_gt"], a["video_gt"])
    sel = (a["mask"][14:50] >= 1)[None].repeat(40, 0)
    sel[:32] = False
    assert d["video_corr"][-1] == pytest.approx(np.corrcoef(a["video_gt"][sel], a["video_pred"][sel])[0, 1])
    with pytest.raises(DnemkitError, match="'video_pred' has shape"):
        write_summary(tmp_path / "x.npy", video_gt=a["video_gt"], video_pred=a["video_pred"][:5],
                      responses=a["responses"], responses_predicted_gt=a["predicted"],
                      responses_predicted_full=a["predicted"], behavior=a["behavior"],
                      pupil_center=a["pupil_center"], mask=a["mask"], mouse_index=1, trial=2)
    assert not (tmp_path / "x.npy").exists()
