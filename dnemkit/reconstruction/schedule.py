"""Which 32-frame sub-batches an iteration uses (docs/method.md, "Recipe").

``SCHEDULES``: ``"dense"`` (the paper's: starts 0, 8, 16, ... plus one ending at T, every frame in four
sub-batches) and ``"tiled"`` (non-overlapping sub-batches at a random offset drawn each iteration, every frame in
exactly one: 3.5x fewer encoder windows per iteration)."""

from ..errors import DnemkitError, check_generator


def subbatch_starts(n_frames, size=32, stride=8):
    """First frames of the sub-batches: 0, stride, 2*stride, ... and a last one ending at n_frames.

    300 frames -> 35 sub-batches (0, 8, ..., 264, 268).
    """
    if n_frames < size:
        raise DnemkitError(f"the movie has {n_frames} frames; the reconstruction needs at least {size}")
    starts = list(range(0, n_frames - size + 1, stride))
    if starts[-1] + size < n_frames:
        starts.append(n_frames - size)
    return starts


def dense_schedule(n_frames, size, stride, rng):
    """The paper's sub-batches: every ``stride`` frames plus one ending at the last frame (rng unused)."""
    return subbatch_starts(n_frames, size, stride)


def tiled_schedule(n_frames, size, stride, rng):
    """Non-overlapping sub-batches at a random offset o (drawn each iteration): o - size, o, o + size, ... clipped
    into the movie, and a tile dropped where its neighbours already cover it; every frame is covered once or
    twice (``stride`` unused). The offset moves the sub-batch borders, where a window sees least context, to a
    different place every iteration."""
    if n_frames < size:
        raise DnemkitError(f"the movie has {n_frames} frames; the reconstruction needs at least {size}")
    offset = int(rng.integers(0, size))
    starts = sorted({min(max(s, 0), n_frames - size) for s in range(offset - size, n_frames, size)})
    kept = [starts[0]]
    for k in range(1, len(starts)):
        following = starts[k + 1] if k + 1 < len(starts) else None
        if following is not None and kept[-1] + size >= following:
            continue  # the tiles on either side already cover this one
        kept.append(starts[k])
    return kept


SCHEDULES = {"dense": dense_schedule, "tiled": tiled_schedule}


def make_schedule(recipe, rng):
    """A callable ``starts(n_frames)`` for one reconstruction, drawing its random offsets from the numpy Generator
    ``rng`` (the loop seeds it with ``recipe.seed``, so runs repeat exactly)."""
    check_generator(rng)
    part = SCHEDULES[recipe.schedule]
    return lambda n_frames: part(n_frames, recipe.subbatch_frames, recipe.subbatch_stride, rng)
