"""Reading and writing movies: .npy, .mp4/.avi/.gif, .tif/.tiff and .nc in; .mp4 and .gif out.

Everything read comes back as the video contract, float32 (T, 36, 64) grey levels 0..255, validated by
:func:`dnemkit.video.check_video`. Colour frames become grey with the ITU-R 601 luma weights (0.299, 0.587,
0.114, what ffmpeg and Pillow use for grey). Frames of another size are scaled to 36 x 64: by block averaging
when the size is an exact integer multiple (so :func:`write_movie`'s nearest-neighbour upscaling reads back
exactly), otherwise with ``skimage.transform.resize`` and anti-aliasing (the aspect ratio is not preserved).
"""

from pathlib import Path

import numpy as np
import PIL.Image
import PIL.ImageSequence
import skimage.transform
import tifffile
import xarray as xr

from .atomic import atomic_path
from ..errors import DnemkitError, check_int
from ..stimuli.geometry import FPS, GREY, HEIGHT, WIDTH
from ..video import check_grey_range, check_video

READ_SUFFIXES = (".npy", ".mp4", ".avi", ".gif", ".tif", ".tiff", ".nc")
WRITE_SUFFIXES = (".mp4", ".gif")
NC_VARIABLES = ("reconstruction", "ground_truth", "video")  #: tried in this order when ``variable`` is None
LUMA = np.array([0.299, 0.587, 0.114])


def _to_grey_36x64(frames, path):
    """(T, H, W) or (T, H, W, C) -> float32 (T, 36, 64)."""
    frames = np.asarray(frames)
    if frames.ndim == 4 and frames.shape[-1] in (3, 4):  # RGB or RGBA: alpha is ignored
        frames = frames[..., :3] @ LUMA
    if frames.ndim != 3:
        raise DnemkitError(f"{path} holds frames of shape {frames.shape}; expected (T, H, W) grey or (T, H, W, 3) RGB")
    frames = frames.astype(np.float32)
    t, h, w = frames.shape
    if (h, w) == (HEIGHT, WIDTH):
        return frames
    if h % HEIGHT == 0 and w % WIDTH == 0 and h // HEIGHT == w // WIDTH:
        return skimage.transform.downscale_local_mean(frames, (1, h // HEIGHT, w // WIDTH)).astype(np.float32)
    resized = skimage.transform.resize(frames, (t, HEIGHT, WIDTH), anti_aliasing=True, preserve_range=True)
    return resized.astype(np.float32)


def _npy_layout(array, path):
    """(T, 36, 64) as is; the Sensorium layout (36, 64, T) transposed; trailing all-NaN frames cut."""
    if array.ndim == 3 and array.shape[1:] == (HEIGHT, WIDTH):
        video = array
    elif array.ndim == 3 and array.shape[:2] == (HEIGHT, WIDTH):
        video = np.moveaxis(array, -1, 0)
    else:
        raise DnemkitError(
            f"{path} holds an array of shape {array.shape}; expected (T, 36, 64) or the Sensorium layout (36, 64, T)"
        )
    if video.dtype.kind in "bcOSUV":
        raise DnemkitError(f"{path} holds an array of dtype {video.dtype}; expected real grey levels 0..255 "
                           "(float or integer)")
    video = np.asarray(video, dtype=np.float32)
    empty = np.flatnonzero(np.isnan(video).all(axis=(1, 2)))
    if empty.size and empty[0] == 0 and video.shape[0] > 0:
        raise DnemkitError(f"{path} holds only NaN from its first frame on (NaN padding with no frames before "
                           "it); expected grey levels 0..255")
    return video[: empty[0]] if empty.size else video  # Sensorium pads trials to a common length with NaN


def _read_npy(path):
    return _npy_layout(np.load(path, allow_pickle=False), path)


def _read_ffmpeg(path):
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    try:
        w, h = next(reader)["size"]
        frames = [np.frombuffer(frame, dtype=np.uint8).reshape(h, w, 3) for frame in reader]
    finally:
        reader.close()  # stops the ffmpeg subprocess even when decoding fails half-way
    if not frames:
        raise DnemkitError(f"{path} has no video frames; expected a movie with at least one frame")
    return _to_grey_36x64(np.stack(frames), path)


def _read_gif(path):
    # Pillow merges identical consecutive frames into one longer frame when it writes a GIF, so each frame is
    # repeated for its display time at 30 Hz (a frame without a duration counts once).
    frames, repeats = [], []
    with PIL.Image.open(path) as image:
        for frame in PIL.ImageSequence.Iterator(image):
            frames.append(np.asarray(frame.convert("RGB")))
            repeats.append(max(1, round(frame.info.get("duration", 0) * FPS / 1000.0)))
    return _to_grey_36x64(np.repeat(np.stack(frames), repeats, axis=0), path)


def _read_tif(path):
    frames = tifffile.imread(path)
    return _to_grey_36x64(frames[None] if frames.ndim == 2 else frames, path)


def _read_nc(path, variable):
    with xr.open_dataset(path) as ds:  # xarray picks the backend (h5netcdf, netCDF4 or scipy for netCDF3)
        names = list(ds.data_vars)
        if variable is None:
            variable = next((n for n in NC_VARIABLES if n in names), names[0] if len(names) == 1 else None)
        if variable not in names:
            raise DnemkitError(
                f"{path} has variables {names}; expected variable= one of them (default: first of {NC_VARIABLES})"
            )
        data = ds[variable]
        if {"frame", "y", "x"} <= set(data.dims) and data.ndim == 3:
            data = data.transpose("frame", "y", "x")
        return _npy_layout(data.values, f"{path} variable {variable!r}")


def read_movie(path, variable=None, min_frames=1):
    """Read a movie file as float32 (T, 36, 64) grey levels 0..255.

    path: .npy ((T, 36, 64), or the Sensorium (36, 64, T); the axes of size 36 and 64 decide; frames from the
        first all-NaN one on are dropped), .mp4 / .avi / .gif (colour becomes grey; any size is scaled to
        36 x 64; mp4/avi frames are taken as stored, GIF frames are held for their display time at 30 Hz,
        because GIF writers merge identical consecutive frames), .tif / .tiff ((T, H, W) or (H, W)), or .nc
        (netCDF written by xarray: a DataArray file, or a Dataset whose variable ``variable`` is read, by
        default the first of 'reconstruction', 'ground_truth', 'video'; dims (frame, y, x) are put in that
        order).
    min_frames: the fewest frames the caller can use (the error says so). A movie whose values are all within
    0..1, or outside 0..255, is read with a one-line 'Warning:' on stderr.
    Raises DnemkitError naming the path when the file is missing, a folder, unreadable, of an unsupported type,
    of dtype bool or complex, or does not hold a valid video.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_dir():
        raise DnemkitError(f"{path} is a folder; expected a movie file ({', '.join(READ_SUFFIXES)})")
    if suffix not in READ_SUFFIXES:
        expected = ", ".join(READ_SUFFIXES)
        raise DnemkitError(f"{path} has an unsupported file type {suffix!r}; expected one of {expected}")
    if not path.is_file():
        raise DnemkitError(f"{path} does not exist or is not a file; expected a movie file ({suffix})")
    try:
        if suffix == ".npy":
            video = _read_npy(path)
        elif suffix in (".mp4", ".avi"):
            video = _read_ffmpeg(path)
        elif suffix == ".gif":
            video = _read_gif(path)
        elif suffix in (".tif", ".tiff"):
            video = _read_tif(path)
        else:
            video = _read_nc(path, variable)
    except DnemkitError:
        raise
    except Exception as exc:  # noqa: BLE001 -- any decoder failure is a bad file from the user's point of view
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        message = f"{path} could not be read as a {suffix} movie ({reason}); expected a valid {suffix} file"
        raise DnemkitError(message) from None
    check_video(video, name=str(path), batched=False, min_frames=min_frames)
    return check_grey_range(video, name=str(path))


def _frames_uint8(video, scale):
    video = np.asarray(video, dtype=np.float32)
    rgb = video.ndim == 4 and video.shape[-1] == 3
    if not (video.ndim == 3 or rgb) or min(video.shape) < 1:
        raise DnemkitError(f"video has shape {video.shape}; expected (T, H, W) grey levels, e.g. (T, 36, 64), "
                           "or (T, H, W, 3) RGB")
    if not np.isfinite(video).all():
        raise DnemkitError("video contains non-finite pixels (NaN or inf); expected grey levels 0..255")
    scale = check_int(scale, "scale", 1, "nearest-neighbour upscaling factor")
    frames = np.clip(np.rint(video), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(frames.repeat(scale, axis=1).repeat(scale, axis=2))


def _write_mp4(path, frames, fps):
    import imageio_ffmpeg  # the ffmpeg binary is looked up only when a movie is read or written

    h, w = frames.shape[1:3]
    if h % 2 or w % 2:  # yuv420p stores chroma at half resolution: odd sizes are padded with grey
        pad = ((0, 0), (0, h % 2), (0, w % 2)) + ((0, 0),) * (frames.ndim - 3)
        frames = np.pad(frames, pad, constant_values=round(GREY))
        h, w = frames.shape[1:3]
    writer = imageio_ffmpeg.write_frames(
        str(path), (w, h), pix_fmt_in="rgb24" if frames.ndim == 4 else "gray", fps=fps, codec="libx264",
        quality=8, macro_block_size=1, output_params=["-loglevel", "error"],
    )
    writer.send(None)
    for frame in frames:
        writer.send(frame)
    writer.close()


def write_movie(path, video, fps=FPS, scale=4):
    """Write a grey or RGB movie as .mp4 (H.264, yuv420p) or .gif, atomically.

    path: destination ending in .mp4 or .gif; the file is written under a temporary name in the same folder and
        renamed, so an interrupted write never leaves a half-written movie.
    video: (T, H, W) grey levels or (T, H, W, 3) RGB (values are rounded and clipped to 0..255 uint8); any H, W,
        e.g. the output of :func:`side_by_side`.
    fps: frames per second (30 for the movies here).
    scale: integer nearest-neighbour upscaling factor, so 36 x 64 pixels are watchable (4 -> 144 x 256).
    Returns the path written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        expected = ", ".join(WRITE_SUFFIXES)
        raise DnemkitError(f"{path} has an unsupported file type {suffix!r}; expected one of {expected}")
    if not (isinstance(fps, (int, float, np.integer, np.floating)) and 0 < fps < 1000):
        raise DnemkitError(f"fps is {fps!r}; expected a frame rate > 0")
    frames = _frames_uint8(video, scale)
    if not path.parent.is_dir():
        raise DnemkitError(f"{path.parent} does not exist; expected an existing folder for {path.name}")
    with atomic_path(path) as tmp:
        if suffix == ".mp4":
            _write_mp4(tmp, frames, fps)
        else:
            images = [PIL.Image.fromarray(frame) for frame in frames]
            images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=1000.0 / fps, loop=0)
    return path


def side_by_side(*videos, gap=2):
    """Place (T, 36, 64) videos next to each other, separated by ``gap`` grey (127.5) columns.

    videos: two or more arrays/DataArrays of the same number of frames, e.g. ground truth and reconstruction.
    Returns float32 (T, 36, n * 64 + (n - 1) * gap).
    """
    if not videos:
        raise DnemkitError("videos is empty; expected at least one (T, 36, 64) video")
    gap = check_int(gap, "gap", 0, "columns")
    arrays = [
        check_video(np.asarray(v, dtype=np.float32), name=f"videos[{i}]", batched=False) for i, v in enumerate(videos)
    ]
    lengths = {a.shape[0] for a in arrays}
    if len(lengths) > 1:
        raise DnemkitError(f"videos have {sorted(lengths)} frames; expected the same number of frames in every video")
    spacer = np.full((arrays[0].shape[0], HEIGHT, gap), GREY, dtype=np.float32)
    parts = [arrays[0]]
    for a in arrays[1:]:
        parts += [spacer, a]
    return np.concatenate(parts, axis=2)
