"""What `characterize fetch` can download: the paper's public files on GIN (pure Python, no heavy imports).

Every entry names files on a GIN server as ``<owner>/<repo>/raw/master/<path>``; a mirror keeps those paths and
replaces only the host (``--mirror URL`` or ``DNEMKIT_FETCH_MIRROR``). The file names are the ones the authors'
code uses: DwiseNeuro's ``src/constants.py`` (the ten Sensorium 2023 mice, in its readout order) and the
reconstruction repository's ``scripts/reconstruct_videos_natural.py`` (the seven checkpoints, the masks) and
analysis notebooks (the reconstruction files, with the trials that replaced duplicated movies).

Sizes: ``size`` is exact where the file's content is known (the 64 x 64 float32 masks: 16,512 bytes), ``approx``
an estimate from the arrays a file holds (a checkpoint ~ 683 MB; a natural-movie summary ~ 50 MB), ``None``
when only the server knows.
"""

from dataclasses import dataclass
from urllib.parse import quote

GIN = "https://gin.g-node.org"
MIRROR_ENV = "DNEMKIT_FETCH_MIRROR"

# DwiseNeuro's readout order: the five mice of the paper (Sensorium 2023 "new" set) first, then the five older ones
NEW_MICE = ("dynamic29515-10-12", "dynamic29623-4-9", "dynamic29647-19-8", "dynamic29712-5-9", "dynamic29755-2-8")
OLD_MICE = ("dynamic29156-11-10", "dynamic29228-2-10", "dynamic29234-6-9", "dynamic29513-3-5", "dynamic29514-2-9")
NEW_SUFFIX = "-Video-9b4f6a1a067fe51e15306b9628efea20"
OLD_SUFFIX = "-Video-8744edeac3b4d1ce16b680916b5267ce"
MOUSE_FOLDERS = tuple(m + NEW_SUFFIX for m in NEW_MICE) + tuple(m + OLD_SUFFIX for m in OLD_MICE)
NEURONS = (7863, 7908, 8202, 7939, 8122, 7440, 7928, 8285, 7671, 7495)  # per readout, as DwiseNeuro declares
NEW_REPO = ("pollytur", "sensorium_2023_dataset")
OLD_REPO = ("pollytur", "Sensorium2023Data")
PAPER_REPO = ("Joel-Bauer", "Movie_reconstruction")

# the seven retrained DwiseNeuros: fold k's checkpoint (epoch 17, its validation correlation in the name); data
# fold 0 is held out from every one of them and holds the reconstructed clips
CHECKPOINTS = ("model-017-0.292118.pth", "model-017-0.291708.pth", "model-017-0.290428.pth",
               "model-017-0.291853.pth", "model-017-0.291103.pth", "model-017-0.291734.pth",
               "model-017-0.291974.pth")
CHECKPOINT_DIR = "data/experiments/true_batch_002"

# the ten clips per mouse of the natural-movie study: the first ten trials of data fold 0, with the trials whose
# movie duplicated another's replaced by later ones (as the analysis notebooks list them)
NATURAL_TRIALS = ((0, 1, 2, 10, 4, 5, 6, 7, 8, 11),
                  (10, 1, 2, 3, 11, 5, 6, 7, 8, 9),
                  (10, 1, 14, 3, 4, 5, 6, 15, 16, 9),
                  (0, 1, 2, 3, 10, 5, 6, 7, 8, 9),
                  (0, 1, 2, 3, 4, 5, 6, 7, 8, 9))
N_MODELS = 7
NATURAL_FOLDER = "modelfold[{k}]_datafold_0_pop100_hpc_round5"
ABLATION_FOLDERS = tuple(f"modelfold[{{k}}]_datafold_0_pop{p}_hpc_round4_popreduc" for p in (50, 25, 12))
GRATINGS_FOLDER = "modelfold{k}_round4_Drifting_gratings"
NOISE_FOLDERS = ("modelfold{k}_round4_Gausnoise", "modelfold{k}_round5_Gausnoise_PhaseInverted")
SETS = ("natural", "ablation", "gratings", "noise")

MASK_BYTES = 128 + 64 * 64 * 4  # a .npy of a (64, 64) float32 array: 128-byte header + data
MB = 1_000_000


@dataclass(frozen=True)
class Remote:
    """One file on the server.

    owner, repo: the GIN repository; path: the file inside it; dest: where it lands, relative to the entry's
    folder; size: exact bytes when known, else None; approx: estimated bytes (for --list and the disk check);
    unpack: a Sensorium mouse zip, unpacked into a mouse folder beside it (the zip is then removed).
    """

    owner: str
    repo: str
    path: str
    dest: str
    size: int | None = None
    approx: int | None = None
    unpack: bool = False

    def url(self, base=GIN):
        """The file's URL under ``base`` (GIN, or a mirror serving the same tree)."""
        return f"{base.rstrip('/')}/{self.owner}/{self.repo}/raw/master/{quote(self.path, safe='/')}"

    @property
    def done_name(self):
        """What exists once the file is fetched: the file itself, or the mouse folder its zip unpacks to."""
        return self.dest[:-len(".zip")] if self.unpack else self.dest


@dataclass(frozen=True)
class Entry:
    """A catalogue entry: ``name`` (also its folder under --out), one line of ``what``, and ``files(options)``."""

    name: str
    what: str
    source: str


ENTRIES = {
    "sensorium2023": Entry("sensorium2023", "Sensorium 2023 recordings, one zip per mouse unpacked into mouse "
                           "folders that --data reads (--mice to choose; default the paper's five mice, --old the "
                           "five training-only ones)", "gin.g-node.org/pollytur/sensorium_2023_dataset and "
                           "pollytur/Sensorium2023Data"),
    "paper-models": Entry("paper-models", "the paper's 7 retrained DwiseNeuros (argus checkpoints, 10 readouts; "
                          "data fold 0 held out from all) and an encoder.json naming each readout's mouse",
                          "gin.g-node.org/Joel-Bauer/Movie_reconstruction, " + CHECKPOINT_DIR),
    "paper-masks": Entry("paper-masks", "the paper's alpha masks mask_m0..4.npy (64 x 64, the model's padded "
                         "frame; train >= 0.5, eval >= 1), one per paper mouse in readout order",
                         "gin.g-node.org/Joel-Bauer/Movie_reconstruction, reconstructions/masks"),
    "paper-reconstructions": Entry("paper-reconstructions", "the paper's reconstruction summaries, one pickled "
                                   "dict per clip and model (--set natural: 7 models x 50 clips; ablation: 50 % / "
                                   "25 % / 12.5 % populations; gratings; noise)",
                                   "gin.g-node.org/Joel-Bauer/Movie_reconstruction, reconstructions"),
}


def mouse_folder(short):
    """The full Sensorium folder name of a mouse given its short name (``dynamic29515-10-12``)."""
    return MOUSE_FOLDERS[(NEW_MICE + OLD_MICE).index(short)]


def choose_mice(mice=(), old=False):
    """The short names of the mice to fetch: ``mice`` (names, prefixes or the numbers in them, e.g. '29515'),
    else the five old mice with ``old``, else the paper's five. Raises ValueError naming an unknown one."""
    pool = NEW_MICE + OLD_MICE
    if not mice:
        return OLD_MICE if old else NEW_MICE
    chosen = []
    for want in mice:
        want = str(want).strip()
        hits = [m for m in pool if m == want or mouse_folder(m) == want]
        hits = hits or [m for m in pool if m.startswith(want) or m.startswith("dynamic" + want)]
        if len(hits) != 1:
            how = "matches no" if not hits else f"matches {len(hits)}"
            raise ValueError(f"--mice {want!r} {how} Sensorium 2023 mouse; expected one of {', '.join(pool)}")
        chosen.append(hits[0])
    return tuple(dict.fromkeys(chosen))


def sensorium_files(mice=(), old=False):
    """The zips of the chosen mice (:func:`choose_mice`)."""
    out = []
    for m in choose_mice(mice, old):
        owner, repo = NEW_REPO if m in NEW_MICE else OLD_REPO
        name = mouse_folder(m) + ".zip"
        out.append(Remote(owner, repo, name, name, unpack=True))
    return out


def model_files():
    """The seven checkpoints, renamed ``fold_K-model-017-VAL.pth`` so that their sorted order is the fold order
    (an ensemble's first K members are then the paper's models 0..K-1)."""
    return [Remote(*PAPER_REPO, f"{CHECKPOINT_DIR}/fold_{k}/{name}", f"fold_{k}-{name}", approx=683 * MB)
            for k, name in enumerate(CHECKPOINTS)]


def mask_files():
    """The five alpha masks, ``mask_m{i}.npy`` for readout i."""
    return [Remote(*PAPER_REPO, f"reconstructions/masks/mask_m{i}.npy", f"mask_m{i}.npy", size=MASK_BYTES)
            for i in range(len(NEW_MICE))]


def natural_names():
    """The 50 summary file names of the natural-movie study, mouse by mouse in the notebooks' order."""
    return [f"reconstruction_summary_m{m}_t{t}.npy" for m, trials in enumerate(NATURAL_TRIALS) for t in trials]


def _summaries(folders, names, approx):
    return [Remote(*PAPER_REPO, f"reconstructions/{folder.format(k=k)}/{name}", f"{folder.format(k=k)}/{name}",
                   approx=approx)
            for folder in folders for k in range(N_MODELS) for name in names]


def reconstruction_files(which="natural"):
    """The summary files of one set: natural (7 x 50), ablation (3 levels x 7 x 50), gratings (7 x 112: 4
    directions x 4 spatial x 7 temporal frequencies, mouse 0) or noise (2 phases x 7 x 735: 3 mice x 5 repeats x 7
    spatial x 7 temporal lengths)."""
    if which == "natural":
        return _summaries((NATURAL_FOLDER,), natural_names(), 50 * MB)
    if which == "ablation":
        return _summaries(ABLATION_FOLDERS, natural_names(), 50 * MB)
    if which == "gratings":
        names = [f"reconstruction_summary_m0_d{d}s{s}t{t}.npy" for d in range(4) for s in range(4) for t in range(7)]
        return _summaries((GRATINGS_FOLDER,), names, 10 * MB)
    if which == "noise":
        names = [f"reconstruction_summary_m{m}_r{r}s{s}t{t}.npy"
                 for m in range(3) for r in range(5) for s in range(7) for t in range(7)]
        return _summaries(NOISE_FOLDERS, names, 10 * MB)
    raise ValueError(f"--set is {which!r}; expected one of {', '.join(SETS)}")


def files(name, mice=(), old=False, recon_set="natural"):
    """The files of catalogue entry ``name`` with the options of `characterize fetch`."""
    if name == "sensorium2023":
        return sensorium_files(mice, old)
    if name == "paper-models":
        return model_files()
    if name == "paper-masks":
        return mask_files()
    if name == "paper-reconstructions":
        return reconstruction_files(recon_set)
    raise ValueError(f"{name!r} is not in the catalogue; expected one of {', '.join(ENTRIES)}")


def encoder_sidecar():
    """The ``encoder.json`` written beside the paper's checkpoints: each readout's mouse, so that a study over
    the Sensorium folders needs no --mouse-map."""
    return {"description": "the paper's 7 retrained DwiseNeuros (Bauer, Margrie & Clopath 2025; data fold 0 held "
                           "out from all)",
            "mice": list(MOUSE_FOLDERS),
            "neurons": list(NEURONS),
            "source": [f"{GIN}/{PAPER_REPO[0]}/{PAPER_REPO[1]}/raw/master/{f.path}" for f in model_files()]}


def human(n):
    """Bytes as a short text (1.2 GB)."""
    if n is None:
        return "size from the server"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000


def describe(name, mice=(), old=False, recon_set="natural"):
    """Lines `characterize fetch --list` prints for entry ``name``: what it is, its source, its files and sizes."""
    entry = ENTRIES[name]
    items = files(name, mice, old, recon_set)
    exact = [f.size for f in items if f.size is not None]
    approx = [f.size or f.approx for f in items if (f.size or f.approx) is not None]
    if len(exact) == len(items):
        total = f"{human(sum(exact))}"
    elif len(approx) == len(items):
        total = f"~{human(sum(approx))} (estimated)"
    else:
        total = "sizes from the server"
    lines = [f"{name}: {entry.what}", f"  from {entry.source}; {len(items)} file(s), {total}"]
    shown = items if len(items) <= 12 else items[:5] + [None] + items[-3:]
    for f in shown:
        if f is None:
            lines.append(f"    ... ({len(items) - 8} more)")
            continue
        size = human(f.size) if f.size is not None else (f"~{human(f.approx)}" if f.approx else human(None))
        lines.append(f"    {f.path}  ({size})" + ("  -> unpacked to " + f.done_name + "/" if f.unpack else ""))
    return lines
