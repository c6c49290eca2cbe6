"""Summary files as the reference wrote them: a transcription of the save call at the end of its natural-movie
script (its keys in its order, its types), pickled as a numpy 1.x np.save on a CUDA machine would: protocol 3,
numpy under ``numpy.core.multiarray``, tensors whose storages are tagged ``cuda:0``."""

import pathlib

import numpy as np
import pytest
import torch
import torch.serialization

from dnemkit.reference.pickles import dump_pickle

_ON_GPU = {"on": False}


def _tag_as_cuda(storage):
    """torch.save asks every registered tagger where a storage lives; while a fabricated file is written, CPU
    storages say 'cuda:0', as the reference's did (torch offers no way to unregister, so the tagger is gated)."""
    if _ON_GPU["on"] and storage.device.type == "cpu":
        return "cuda:0"
    return None


torch.serialization.register_package(1, _tag_as_cuda, lambda storage, location: None)

MODEL_PATHS = [pathlib.PosixPath(f"data/experiments/true_batch_002/fold_{k}/model-017-0.29{k}000.pth") for k in range(7)]


def reference_dict(mouse_index, trial, video_gt, video_pred, responses, predicted, mask, behavior, pupil_center,
                   model=0):
    """The dict the reference saves (same keys, order and types). video_*: (T, 36, 64); responses (N, T);
    predicted (N, T) for the true movie; mask (64, 64)."""
    T = video_gt.shape[0]
    eval_frame_skip = 32
    device = torch.device("cuda:0")
    video_itter = list(range(0, 1000, 10)) + [999]
    mask_cropped = (mask[14:50] >= 1).astype(np.float32)
    idx = mask_cropped.flatten() == 1
    flat = lambda v: v.reshape(v.shape[0], -1)[:, idx]
    return {'epochs': np.int64(1000),
            'strides': np.array([8]),
            'strides_switch': np.array([1000]),
            'track_itter': 10,
            'plot_itter': 10,
            'lr': 1000,
            'loss_func': 'poisson',
            'response_dropout_rate': 0,
            'mouse_index': np.int64(mouse_index),
            'trial': trial,
            'load_skip_frames': 0,
            'eval_frame_skip': eval_frame_skip,
            'video_length': T,
            'subbatch_size': 32,
            'subbatch_shift': np.int64(8),
            'model_paths': MODEL_PATHS,
            'model_list': np.array([model]),
            'data_fold': 'fold_0',
            'save_path': f'reconstructions/modelfold[{model}]_datafold_0_pop100_hpc_round5/',
            'population_reduction': 0.0,
            'population_mask': None,
            'vid_init': 'gray',
            'lr_warmup_epochs': 10,
            'use_adam': True,
            'adam_beta1': 0.9,
            'adam_beta2': 0.999,
            'adam_eps': 1e-08,
            'mask': mask.astype(np.float32),
            'mask_update_th': 0.5,
            'mask_eval_th': 1,
            'with_gradnorm': True,
            'clip_grad': 1,
            'device': device,
            'video_gt': np.moveaxis(np.moveaxis(video_gt, 0, 2), [2], [0]),  # a view of (36, 64, T), as saved
            'video_pred': video_pred.astype(np.float32),
            'behavior': behavior.astype(np.float32),
            'pupil_center': pupil_center.astype(np.float32),
            'responses': torch.from_numpy(responses.astype(np.float32)),
            'responses_predicted_gt': predicted.astype(np.float64)[:, :, None],
            'responses_predicted_full': predicted.astype(np.float64) * 0.9,
            'video_itter': video_itter,
            'response_loss_gt': torch.tensor(0.75, dtype=torch.float64),
            'response_loss_full': [0.8 - 0.0001 * i for i in video_itter],
            'response_corr_gt': np.corrcoef(responses.ravel(), predicted.ravel())[0, 1],
            'response_corr_full': [np.float64(0.001 * i) for i in range(len(video_itter))],
            'video_corr': [np.float64(0.005 * i) for i in range(len(video_itter))],
            'video_RMSE': [np.float64(50 - 0.1 * i) for i in range(len(video_itter))],
            'motion_energy_gt': np.mean(np.abs(np.diff(flat(video_gt[eval_frame_skip:]), axis=0)), axis=1),
            'motion_energy_recon': np.mean(np.abs(np.diff(flat(video_pred[eval_frame_skip:]), axis=0)), axis=1),
            'training_time': 3600.5}


def save_as_reference(path, recon_dict):
    """np.save(path, recon_dict) as the reference ran it: on a CUDA machine, with numpy 1.x."""
    _ON_GPU["on"] = True
    try:
        dump_pickle(recon_dict, path)
    finally:
        _ON_GPU["on"] = False
    return path


def clip_arrays(mouse, trial, model, T=40, N=(12, 9)):
    """Known arrays of one clip: the ground truth depends on (mouse, trial), the reconstruction also on model."""
    rng = np.random.default_rng(1000 * mouse + trial)
    gt = rng.uniform(0, 255, (T, 36, 64)).astype(np.float32)
    # each model its own error, so that ensembles of 1..K models differ (the ensemble-size statistics)
    error = np.random.default_rng(7 + 1000 * mouse + 10 * trial + model).normal(0, 40, gt.shape)
    pred = np.clip(gt * 0.5 + 60 + model + error, 0, 255).astype(np.float32)
    n = N[mouse % len(N)]
    responses = rng.poisson(2.0, (n, T)).astype(np.float32)
    predicted = rng.uniform(0.5, 3, (n, T))
    mask = np.zeros((64, 64), np.float32)
    mask[20:44, 10:50] = 1.2
    mask[16:48, 6:54] = np.maximum(mask[16:48, 6:54], 0.6)
    mask += 0.01 * mouse
    behavior = rng.normal(size=(2, T))
    pupil = rng.normal(size=(2, T))
    return dict(video_gt=gt, video_pred=pred, responses=responses, predicted=predicted, mask=mask, behavior=behavior,
                pupil_center=pupil)


@pytest.fixture
def reference_set(tmp_path):
    """A 2-mouse x 3-trial x 2-model set of summary files in the reference's folders; returns (root, arrays)
    with arrays[(model, mouse, trial)] the known clip arrays."""
    root = tmp_path / "paper-reconstructions"
    arrays = {}
    trials = {0: (0, 1, 10), 1: (10, 1, 2)}  # a replaced duplicate (t10) in each mouse, as the paper's set has
    for model in (0, 1):
        folder = root / f"modelfold[{model}]_datafold_0_pop100_hpc_round5"
        folder.mkdir(parents=True)
        for mouse, ts in trials.items():
            for t in ts:
                a = clip_arrays(mouse, t, model)
                arrays[model, mouse, t] = a
                save_as_reference(folder / f"reconstruction_summary_m{mouse}_t{t}.npy",
                                  reference_dict(mouse, t, model=model, **a))
    return root, arrays


@pytest.fixture(scope="session")
def fabricate():
    """The helpers above, for the tests (test modules import nothing from conftest under importlib mode)."""
    from types import SimpleNamespace

    return SimpleNamespace(clip_arrays=clip_arrays, reference_dict=reference_dict, save=save_as_reference)
