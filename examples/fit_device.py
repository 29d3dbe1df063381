"""Fit a memristor model to measured SET/RESET pulses and learn the T-maze on it.

Without measurement files, the script writes a CSV that a measurement of one of the 27 published devices would
give (``simulate_measurement``) and fits that, so the fit can be checked against the device it came from.

    python examples/fit_device.py --quick --out plots/
    python examples/fit_device.py my_device.csv other_device.json --out plots/
"""

from neuroflow.cliutil import Parser, input_file, output_dir
from neuroflow.memristor import (compare_fits, fit_device, get_device, save_devices, simulate_measurement,
                                 update_cost, write_measurement_csv)
from neuroflow.memristor.plots import plot_device_fits
from neuroflow.rl import ActorCritic

ap = Parser(description=__doc__.splitlines()[0])
ap.add_argument("files", nargs="*", type=input_file, help="measurements (.json as the shipped raw files, or .csv)")
ap.add_argument("--quick", action="store_true", help="100 T-maze seeds instead of 1000")
ap.add_argument("--out", type=output_dir(), default="neuroflow-out/fit_device",
                help="folder for the files written (default: %(default)s)")
args = ap.parse_args()
if any(f.resolve() in ((args.out / "devices.json").resolve(), (args.out / "fits.png").resolve()) for f in args.files):
    ap.error(f"argument files: a measurement in --out {args.out} would be written over (devices.json, fits.png)")
args.out.mkdir(parents=True, exist_ok=True)

truth = None
files = args.files
if not files:
    truth = get_device("portner2025")[3]
    files = [write_measurement_csv(simulate_measurement(truth, seed=0), args.out / f"{truth.name}_simulated.csv")]
    print(f"no measurement given: simulated 10 cycles of {truth.name} into {files[0]}")

try:
    fits = [fit_device(f) for f in files]
except ValueError as exc:  # not a measurement file: one line naming it
    ap.error(f"argument files: {exc}")
for fit in fits:
    d = fit.device
    print(f"{d.name}: G0 {d.G0_uS:.1f} uS, G1 {d.G1_uS:.1f} uS, SET (a, b) = ({d.a_set:.4f}, {d.b_set:.4f}), "
          f"RESET (a, b) = ({d.a_reset:.4f}, {d.b_reset:.4f}), write noise {d.sigma_set:.3f} / {d.sigma_reset:.3f}")
if truth is not None:
    c = compare_fits(fits[0].device, truth)
    print(f"against the device the reads came from: per-cycle curves within {c['cycles_rms']:.3f} RMS, "
          f"noise within {100 * c['sigma']:.1f} %")
path = save_devices([f.device for f in fits], args.out / "devices.json", fits=fits)
print("device file:", path, "(use it as `neuroflow maze tmaze --device", path, "`)")
print("figure:", plot_device_fits(fits, args.out / "fits.png", reference={truth.name: truth} if truth else None))

devices = [f.device for f in fits]
n_seeds = 100 if args.quick else 1000
res = ActorCritic("tmaze", synapse="memristor", device=devices).fit(200, n_seeds, seed=0).result_
if res.interrupted:  # fit catches Ctrl-C and returns the seeds it finished
    raise SystemExit("interrupted (Ctrl-C): the runs are unfinished, so nothing is reported")
print(f"T-maze on the fitted device(s), {n_seeds} seeds, mean steps at episodes 1/10/50/100/200:",
      " / ".join(f"{v:.1f}" for v in res.at_episodes().values()))
cost = update_cost(res).per_update()
print(f"per TD update: crossbar {1e9 * cost['crossbar_energy_J']:.2f} nJ, digital {1e9 * cost['digital_energy_J']:.3f} nJ")
