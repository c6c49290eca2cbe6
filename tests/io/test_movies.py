"""Tests of dnemkit.io.movies: round trips through every format, layouts, atomic writes, error messages."""

import os

import numpy as np
import PIL.Image
import pytest
import tifffile
import xarray as xr

from dnemkit.io import movies as videoio
from dnemkit.errors import DnemkitError
from dnemkit.stimuli import gaussian_noise, natural_movie, sparse_noise
from dnemkit.io.movies import read_movie, side_by_side, write_movie


@pytest.fixture(scope="module")
def movie():
    return natural_movie(seed=5, n_frames=40).values


def corr(a, b):
    return np.corrcoef(np.ravel(a), np.ravel(b))[0, 1]


def test_npy_both_layouts(tmp_path, movie):
    np.save(tmp_path / "t.npy", movie)
    np.testing.assert_array_equal(read_movie(tmp_path / "t.npy"), movie)
    # the Sensorium layout (36, 64, T), NaN-padded at the end
    padded = np.concatenate([movie, np.full((5, 36, 64), np.nan, np.float32)]).transpose(1, 2, 0).astype(np.float64)
    np.save(tmp_path / "s.npy", padded)
    got = read_movie(tmp_path / "s.npy")
    assert got.dtype == np.float32 and got.shape == movie.shape
    np.testing.assert_allclose(got, movie)


def test_tif_round_trip(tmp_path, movie):
    tifffile.imwrite(tmp_path / "m.tif", movie)
    np.testing.assert_array_equal(read_movie(tmp_path / "m.tif"), movie)
    tifffile.imwrite(tmp_path / "one.tiff", movie[0])
    np.testing.assert_array_equal(read_movie(tmp_path / "one.tiff"), movie[:1])


@pytest.mark.parametrize("scale", [1, 4])
def test_gif_round_trip_is_exact_up_to_rounding(tmp_path, movie, scale):
    path = write_movie(tmp_path / "m.gif", movie, scale=scale)
    assert path == tmp_path / "m.gif"
    with PIL.Image.open(path) as image:
        assert image.size == (64 * scale, 36 * scale)
    np.testing.assert_allclose(read_movie(path), movie, atol=0.5 + 1e-4)


def test_gif_keeps_repeated_frames(tmp_path):
    # a flash clip has runs of identical frames, which GIF writers merge into one long frame
    clip = sparse_noise([[4, 9]], polarities="on", pre=3, flash=2, post=4).values[0]
    got = read_movie(write_movie(tmp_path / "flash.gif", clip, scale=1))
    np.testing.assert_array_equal(got, clip.round())


@pytest.mark.parametrize("scale", [1, 4])
def test_mp4_round_trip_is_close(tmp_path, movie, scale):
    path = write_movie(tmp_path / "m.mp4", movie, scale=scale)
    got = read_movie(path)
    assert got.shape == movie.shape and got.dtype == np.float32
    assert corr(got, movie) > 0.95
    assert np.abs(got - movie).mean() < 5


def test_mp4_of_smooth_noise(tmp_path):
    noise = gaussian_noise(2, 1, n_frames=30, seed=0).values
    assert corr(read_movie(write_movie(tmp_path / "n.mp4", noise)), noise) > 0.95


def test_colour_and_foreign_size_become_grey_36x64(tmp_path):
    # one uniform RGB colour at 50 x 50: the luma weights give 0.299 R + 0.587 G + 0.114 B everywhere
    frames = [PIL.Image.fromarray(np.full((50, 50, 3), (200, 100, 50), np.uint8)) for _ in range(3)]
    frames[0].save(tmp_path / "c.gif", save_all=True, append_images=frames[1:], duration=100)
    got = read_movie(tmp_path / "c.gif")
    assert got.shape == (9, 36, 64)  # 3 frames shown for 100 ms each are 9 frames at 30 Hz
    np.testing.assert_allclose(got, 0.299 * 200 + 0.587 * 100 + 0.114 * 50, atol=0.01)


def test_netcdf_dataarray_and_dataset(tmp_path, movie):
    da = xr.DataArray(movie, dims=("frame", "y", "x"), name="anything")
    da.to_netcdf(tmp_path / "a.nc", engine="h5netcdf")
    np.testing.assert_array_equal(read_movie(tmp_path / "a.nc"), movie)
    ds = xr.Dataset(
        {
            "ground_truth": (("frame", "y", "x"), movie),
            "reconstruction": (("frame", "x", "y"), 255 - movie.transpose(0, 2, 1)),  # dims out of order
        }
    )
    ds.to_netcdf(tmp_path / "d.nc", engine="h5netcdf")
    np.testing.assert_allclose(read_movie(tmp_path / "d.nc"), 255 - movie)
    np.testing.assert_array_equal(read_movie(tmp_path / "d.nc", variable="ground_truth"), movie)
    with pytest.raises(DnemkitError) as err:
        read_movie(tmp_path / "d.nc", variable="recon")
    assert "d.nc has variables ['ground_truth', 'reconstruction']; expected variable=" in str(err.value)


def test_side_by_side(movie):
    both = side_by_side(movie, 255 - movie, gap=3)
    assert both.shape == (40, 36, 131) and both.dtype == np.float32
    np.testing.assert_array_equal(both[:, :, :64], movie)
    assert (both[:, :, 64:67] == 127.5).all()
    np.testing.assert_array_equal(both[:, :, 67:], 255 - movie)
    with pytest.raises(DnemkitError, match=r"videos have \[10, 40\] frames; expected the same number"):
        side_by_side(movie, movie[:10])
    with pytest.raises(DnemkitError, match=r"videos\[1\] has shape \(40, 64, 36\)"):
        side_by_side(movie, movie.transpose(0, 2, 1))


def test_write_of_side_by_side_and_atomicity(tmp_path, movie, monkeypatch):
    write_movie(tmp_path / "pair.mp4", side_by_side(movie, movie), scale=2)
    assert os.listdir(tmp_path) == ["pair.mp4"]  # no temporary file left behind

    def broken(path, frames, fps):
        with open(path, "wb") as f:
            f.write(b"half a movie")
        raise RuntimeError("disk full")

    monkeypatch.setattr(videoio, "_write_mp4", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_movie(tmp_path / "new.mp4", movie)
    assert os.listdir(tmp_path) == ["pair.mp4"]


@pytest.mark.parametrize(
    "args, kwargs, words",
    [
        (("m.avi",), {}, ["m.avi has an unsupported file type '.avi'; expected one of .mp4, .gif"]),
        (("m.gif",), dict(scale=0), ["scale is 0; expected an integer >= 1"]),
        (("m.gif",), dict(fps=0), ["fps is 0; expected a frame rate > 0"]),
        (("nofolder/m.gif",), {}, ["nofolder does not exist; expected an existing folder"]),
    ],
)
def test_write_errors(tmp_path, movie, args, kwargs, words):
    with pytest.raises(DnemkitError) as err:
        write_movie(tmp_path / args[0], movie, **kwargs)
    assert all(w in str(err.value) for w in words), str(err.value)
    with pytest.raises(DnemkitError, match="video contains non-finite pixels"):
        write_movie(tmp_path / "m.gif", np.full((2, 36, 64), np.nan))


def test_read_errors(tmp_path):
    missing = tmp_path / "missing.mp4"
    with pytest.raises(DnemkitError) as err:
        read_movie(missing)
    assert str(err.value) == f"{missing} does not exist or is not a file; expected a movie file (.mp4)"

    text = tmp_path / "notes.mp4"
    text.write_text("not a movie")
    with pytest.raises(DnemkitError) as err:
        read_movie(text)
    message = str(err.value)
    assert message.startswith(f"{text} could not be read as a .mp4 movie (") and "\n" not in message
    assert message.endswith("expected a valid .mp4 file")

    for name in ("fake.gif", "fake.tif", "fake.nc"):
        (tmp_path / name).write_text("not a movie")
        with pytest.raises(DnemkitError, match="could not be read as a"):
            read_movie(tmp_path / name)

    np.save(tmp_path / "wrong.npy", np.zeros((10, 36, 65), np.float32))
    with pytest.raises(DnemkitError) as err:
        read_movie(tmp_path / "wrong.npy")
    assert "wrong.npy holds an array of shape (10, 36, 65); expected (T, 36, 64) or the Sensorium layout" in str(
        err.value
    )

    partial = np.zeros((3, 36, 64), np.float32)
    partial[1, 2, 3] = np.nan
    np.save(tmp_path / "nan.npy", partial)
    with pytest.raises(DnemkitError, match="nan.npy contains non-finite pixels"):
        read_movie(tmp_path / "nan.npy")

    with pytest.raises(DnemkitError, match=r"movie.png has an unsupported file type '.png'; expected one of .npy"):
        read_movie(tmp_path / "movie.png")
