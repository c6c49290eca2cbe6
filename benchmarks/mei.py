"""MEIs per second, and the validation of `characterize mei` against the synthetic mouse's truth (issue 21).

    python benchmarks/mei.py                          # synthetic:0 and :1 (200 neurons each) and the demo (16)
    python benchmarks/mei.py --seeds 0 --neurons 50   # quicker
    python benchmarks/mei.py --rf rf.nc               # + the demo's MEI centres against `characterize rf`'s

For each synthetic mouse (the full 2000-neuron `synthetic:SEED`) it makes image MEIs of neurons 0..K-1 (a random
sample: the population is drawn at random) with the default MeiConfig and prints the rates of issue 21: MEI centre
within 2 px of the true RF centre, orientation within 15 deg of the true one (every synthetic neuron is an
oriented Gabor), SF within a factor 2, polarity of ON/OFF cells, activation >= the best grating of the comparison
grid at the same budget; and MEIs per second of optimisation. For the demo it makes the default run's MEIs (the 16
neurons with the strongest grating responses) and, given an rf.nc, the fraction of neurons both map whose MEI
centre lies within 2 px of the RF centre. Set OMP_NUM_THREADS=1 on a shared machine.
"""

import argparse
import time

import numpy as np
import torch


def synthetic(seed, k):
    from dnemkit.analysis.tuning import orientation_error
    from dnemkit.encoders.ref import EncoderRef
    from dnemkit.experiments.mei import MeiConfig, run

    ref = EncoderRef(f"synthetic:{seed}")
    started = time.perf_counter()
    ds = run(MeiConfig(encoder=ref, neurons=tuple(range(k))), progress=False)
    wall = time.perf_counter() - started
    p = ref.encoder.properties_
    sel = ds["neuron"].values
    centre = np.hypot(ds["center_y"].values - p["center_y"][sel], ds["center_x"].values - p["center_x"][sel])
    ori = orientation_error(ds["orientation"].values, p["orientation_deg"][sel])
    ratio = ds["sf"].values / p["sf_cyc_per_px"][sel]
    cell = p["cell_type"][sel]
    simple = cell != "complex"
    polarity = np.where(cell == "on", ds["polarity"].values > 0, ds["polarity"].values < 0)[simple]
    beats = ds["activation"].values >= ds["grating_activation"].values
    print(f"synthetic:{seed}, neurons 0-{k - 1}: centre <= 2 px {100 * np.mean(centre <= 2):.1f} % (median "
          f"{np.median(centre):.2f} px); orientation <= 15 deg {100 * np.mean(ori <= 15):.1f} % (median "
          f"{np.median(ori):.1f} deg); SF within x2 {100 * np.mean((ratio >= 0.5) & (ratio <= 2)):.1f} % (median "
          f"ratio {np.median(ratio):.2f}); polarity {100 * polarity.mean():.1f} % of {simple.sum()} ON/OFF cells; "
          f"activation >= best grating {100 * beats.mean():.1f} % (median ratio "
          f"{np.median(ds['activation'].values / ds['grating_activation'].values):.2f}); natural clip "
          f"{100 * np.mean(ds['activation'].values >= ds['natural_activation'].values):.1f} %")
    print(f"  {ds.attrs['meis_per_second']:.2f} MEIs/s optimising ({ds.attrs['mei_seconds']:.1f} s), run "
          f"{wall:.1f} s; iterations per batch {ds.attrs['iterations_run']}")
    return ds


def demo(rf_path, mei_path=None):
    from dnemkit.encoders.ref import EncoderRef
    from dnemkit.experiments.mei import MeiConfig, run
    from dnemkit.io.results import read_dataset
    from dnemkit.viz.kinds import echo_headline

    if mei_path:
        ds = read_dataset(mei_path, kind="mei")
    else:
        started = time.perf_counter()
        ds = run(MeiConfig(encoder=EncoderRef("demo")), out="mei-demo-out", progress=False)
        print(f"demo default run: {time.perf_counter() - started:.1f} s")
    echo_headline(ds, print)
    if rf_path:
        import xarray as xr

        with xr.open_dataset(rf_path, engine="h5netcdf") as rf:
            rf = rf.load()
        sel = ds["neuron"].values
        ry, rx = rf["center_y"].values[sel], rf["center_x"].values[sel]
        both = np.isfinite(ry) & np.isfinite(ds["center_y"].values)
        if "responsive" in rf:
            both &= np.asarray(rf["responsive"].values).astype(bool)[sel]
        d = np.hypot(ds["center_y"].values - ry, ds["center_x"].values - rx)[both]
        print(f"demo: MEI centre within 2 px of the RF centre for {int(np.sum(d <= 2))}/{both.sum()} neurons both map "
              f"({100 * np.mean(d <= 2):.1f} %; median distance {np.median(d):.2f} px)")
    return ds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1])
    parser.add_argument("--neurons", type=int, default=200, help="synthetic neurons 0..K-1 per seed")
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("--rf", default=None, help="rf.nc of the demo (`characterize rf --encoder demo`)")
    parser.add_argument("--demo-mei", default=None, help="score this mei.nc of the demo instead of making one")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for seed in args.seeds:
        synthetic(seed, args.neurons)
    if not args.no_demo:
        demo(args.rf, args.demo_mei)


if __name__ == "__main__":
    main()
