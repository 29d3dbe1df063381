"""How much can a spiking VAD's decision rule do? Bounds for SNR-dependent rules on held-out speakers; prints JSON.

Issue 15 asks the spiking models for a mean HTER within 2 points of Silero's on the held-out real speakers. A
model's decision rule (threshold, release, causal median, hangover and its SNR-dependent length;
:mod:`neuroflow.vad.calibration`) is chosen once on
the calibration corpus (real speech of the training speakers) for every condition. This measures, per model,
what rules that know each condition's SNR could do at best:

* **shipped**: the model's own rule on the held-out benchmark speech (the number ``benchmarks/vad.py`` reports);
* **threshold per SNR**: the model's median, hangover(s) and release, a threshold chosen on the calibration corpus's
  conditions of each SNR (clean, 20, 10, 5, 0, -5 dB), applied to the held-out conditions of that SNR (with or
  without the rule's low-SNR hangover, whichever does better there);
* **whole rule per SNR**: threshold, release, median and hangover(s) chosen per SNR the same way.

* **rule per condition**: threshold, release, median and hangover chosen on each held-out condition itself, an oracle
  no deployed rule can match, beside WebRTC-3's HTER there: the conditions that no decision rule can win
  against WebRTC-3 (issue 15 asks for every condition), where only the network's output can.

The held-out SNR is known here, which no detector knows, so these bound any rule driven by an SNR estimate
from above. It also reports, per noise at 20 dB, where the shipped rule's false alarms lie: the share of
false-alarm frames within 0.1 s, 0.1-0.3 s, 0.3-1 s, 1-3 s and beyond 3 s of the nearest speech frame (a
hangover's false alarms sit just after speech; a noise taken for speech anywhere), and, over clean and 20 dB, per
held-out speaker the errors after that speaker's utterances, with the false-alarm rate by time since speech
(``after_each_speaker``: whether a speaker's gap to the reference lies in the model's ear or in how much of the
speaker's non-speech lies right after speech). One thread. Usage::

    python benchmarks/vad_rule_bound.py --calibration corpora/real-dev --real corpora/benchmark [--systems snu bin]
                                        [--reference webrtc:3] [--out result.json]

The folders are those of ``neuroflow/vad/models/recipe.json`` (the calibration corpus) and ``neuroflow vad
corpus --benchmark --seed 0`` (held-out speech in ``speech/``).
"""
from __future__ import annotations

from neuroflow.__main__ import ctrl_c_ends_in_one_line  # first: 1.5 ms (sys and the lazy package)

# Ctrl-C while the modules load (half a second: numpy, the library) ended in an import traceback: one line
# and exit status 130 now, as for `neuroflow` (neuroflow/__main__.py)
with ctrl_c_ends_in_one_line():
    import argparse
    import os
    import re
    import time

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

    import numpy as np

    from neuroflow._utils import print_json

#: false-alarm distances to the nearest speech frame (frames), bin edges
FA_EDGES = (0, 10, 30, 100, 300, np.inf)


def snr_of(condition: str) -> str:
    """"20", "-5", ... of a condition such as ``speech/white@20``; "clean" without an SNR."""
    m = re.search(r"@(-?\d+(?:\.\d+)?)$", condition)
    return m.group(1) if m else "clean"


def per_snr(outputs) -> dict:
    groups: dict = {}
    for o in outputs:
        groups.setdefault(snr_of(o[3]), []).append(o)
    return groups


RULE = ("threshold", "median", "hangover", "release", "low_snr_db", "low_snr_hangover")


def own_rule(system) -> tuple:
    """The rule (:data:`RULE`) of the post-processor a model file sets up."""
    post = system.post
    return post.threshold, post.median, post.hangover, post.release, post.low_snr_db, post.low_snr_hangover


def bounds(system, dev, held) -> dict:
    """The three rules' held-out mean HTER (module docstring) from the network outputs on both sets."""
    from neuroflow.vad.calibration import condition_hter, search_rule

    _, median, hangover, release, low_db, low_hangover = own = own_rule(system)
    shipped = condition_hter(held, *own)
    out = {"shipped_rule": dict(zip(RULE, own)), "shipped_mean_hter": float(np.mean(list(shipped.values())))}
    dev_groups, held_groups = per_snr(dev), per_snr(held)
    fixed = {"medians": (median,), "hangovers": (hangover,), "releases": (release,),
             "low_snr_dbs": () if low_db is None else (low_db,), "low_snr_hangovers": (low_hangover,)}
    for name, grid in (("threshold_per_snr", fixed), ("whole_rule_per_snr", {})):
        per, rules, by_snr = {}, {}, {}
        for snr in sorted(held_groups):
            if snr not in dev_groups:
                raise ValueError(f"calibration: no condition at SNR {snr} to choose its rule on")
            rule = search_rule(dev_groups[snr], **grid)
            rules[snr] = {k: rule[k] for k in RULE}
            h = condition_hter(held_groups[snr], *(rule[k] for k in RULE))
            per.update(h)
            by_snr[snr] = [float(np.mean([shipped[c] for c in h])), float(np.mean(list(h.values())))]
        out[name] = {"mean_hter": float(np.mean(list(per.values()))), "rules": rules,
                     "by_snr [shipped rule, this]": by_snr}
    return out


def reference_hter(spec: str, scenes) -> dict:
    """HTER per condition (frames pooled over its scenes, threshold 0.5) of a baseline such as "webrtc:3", keyed
    like :func:`neuroflow.vad.calibration.condition_of`."""
    from neuroflow.vad.calibration import condition_of
    from neuroflow.vad.metrics import error_rates
    from neuroflow.vad.registry import get_system

    system, pooled = get_system(spec), {}
    for s in scenes:
        d = system.score(s.wav, s.sr) >= 0.5
        lab = np.asarray(s.labels[: len(d)], dtype=bool)
        decisions, labels = pooled.setdefault(condition_of(s), ([], []))
        decisions.append(d)
        labels.append(lab)
    return {c: error_rates(np.concatenate(d), np.concatenate(lab))[2] for c, (d, lab) in pooled.items()
            if np.concatenate(lab).any() and not np.concatenate(lab).all()}


def rule_per_condition(held, reference: dict | None = None) -> dict:
    """Per held-out condition, the rule with the lowest HTER chosen on that condition itself (an oracle), and
    with ``reference`` (HTER per condition of a baseline) the conditions where even that rule does not beat it."""
    from neuroflow.vad.calibration import search_rule

    groups: dict = {}
    for o in held:
        groups.setdefault(o[3], []).append(o)
    rules = {}
    for c, outs in sorted(groups.items()):
        if not any(o[2].any() for o in outs) or all(o[2].all() for o in outs):
            continue  # a condition without both classes has no HTER
        r = search_rule(outs)
        rules[c] = {k: r[k] for k in ("hter", *RULE)}
    out = {"mean_hter": float(np.mean([r["hter"] for r in rules.values()])),
           "rules": {c.split("/")[-1]: r for c, r in rules.items()}}
    if reference is not None:
        out["not_won_by_any_rule"] = {c.split("/")[-1]: [r["hter"], reference[c]] for c, r in rules.items()
                                      if c in reference and r["hter"] >= reference[c]}
    return out


def false_alarm_distances(system, held, snr: str = "20") -> dict:
    """Per noise at ``snr`` dB, the shipped rule's false-alarm rate and the share of its false-alarm frames by
    distance to the nearest speech frame (:data:`FA_EDGES`)."""
    from scipy.ndimage import distance_transform_edt

    post = system.post
    acc: dict = {}
    for prob, energy, labels, condition in held:
        if snr_of(condition) != snr:
            continue
        speech = post(prob, energy) >= 0.5
        far = distance_transform_edt(~labels) if labels.any() else np.full(len(labels), np.inf)
        a = acc.setdefault(condition.split("/")[-1], [np.zeros(len(FA_EDGES) - 1), 0])
        a[0] += np.histogram(far[speech & ~labels], bins=FA_EDGES)[0]
        a[1] += int((~labels).sum())
    return {c: {"far": float(h.sum() / max(n, 1)),
                "share_by_distance [<0.1, 0.1-0.3, 0.3-1, 1-3, >3 s]": np.round(h / max(h.sum(), 1), 3).tolist()}
            for c, (h, n) in sorted(acc.items())}


#: frames after speech ended, the bins of :func:`after_each_speaker` (0-50 ms, 50-100 ms, ..., 2 s and later)
AFTER_EDGES = (0, 5, 10, 15, 20, 30, 50, 100, 200, np.inf)


def _after_speech(labels: np.ndarray) -> np.ndarray:
    """Per non-speech frame, the frames since speech ended (0: the first frame after it; a large number before the
    first speech frame); -1 on speech frames."""
    idx = np.arange(len(labels))
    return idx - np.maximum.accumulate(np.where(labels, idx, -10**9)) - 1


def after_each_speaker(system, held, scenes, reference: str | None = None) -> dict:
    """Clean and 20 dB scenes, per held-out speaker: the shipped rule's (and ``reference``'s) misses, false alarms and
    HTER over the frames from each of that speaker's utterances to the next utterance, and the false-alarm rate by
    frames after the last speech frame (:data:`AFTER_EDGES`); ``far_at_others_rates``: the false-alarm rate the
    speaker's non-speech frames would draw at the other speakers' rate at each distance (a speaker effect shows there,
    a difference in how much non-speech lies right after speech does not)."""
    systems = {"model": None}
    if reference is not None:
        from neuroflow.vad.registry import get_system

        systems["reference"] = get_system(reference)
    acc: dict = {}
    for (prob, energy, labels, condition), scene in zip(held, scenes):
        if snr_of(condition) not in ("clean", "20"):
            continue
        owner = np.full(len(labels), "", dtype=object)
        timed = [u for u in scene.info.get("utterances", []) if "speaker" in u and "start_s" in u]  # real speech
        for u in sorted(timed, key=lambda u: u["start_s"]):
            owner[int(round(u["start_s"] * 100)):] = u["speaker"]
        after = _after_speech(labels)
        for name, other in systems.items():
            d = (system.post(prob, energy) if other is None else other.score(scene.wav, scene.sr)[: len(labels)]) >= 0.5
            for speaker in set(owner) - {""}:
                mine = owner == speaker
                a = acc.setdefault(name, {}).setdefault(speaker, [np.zeros(len(AFTER_EDGES) - 1), np.zeros(
                    len(AFTER_EDGES) - 1), 0, 0])
                a[0] += np.histogram(after[mine & ~labels], bins=AFTER_EDGES)[0]
                a[1] += np.histogram(after[mine & ~labels & d], bins=AFTER_EDGES)[0]
                a[2] += int((mine & labels & ~d).sum())
                a[3] += int((mine & labels).sum())
    out: dict = {}
    for name, per in acc.items():
        res = {}
        for speaker, (n, fa, miss, speech) in sorted(per.items()):
            others = [v for k, v in per.items() if k != speaker]
            rate_o = sum(v[1] for v in others) / np.maximum(sum(v[0] for v in others), 1) if others else None
            far, mr = fa.sum() / max(n.sum(), 1), miss / max(speech, 1)
            res[speaker] = {"far": float(far), "mr": float(mr), "hter": float((far + mr) / 2),
                            "far_by_frames_after_speech": np.round(fa / np.maximum(n, 1), 3).tolist(),
                            "nonspeech_share_by_frames_after_speech": np.round(n / max(n.sum(), 1), 3).tolist(),
                            **({} if rate_o is None else
                               {"far_at_others_rates": float((n * rate_o).sum() / max(n.sum(), 1))})}
        out["shipped_rule" if name == "model" else reference] = res
    return {"bins (frames after speech)": [str(e) for e in AFTER_EDGES], **out}


def _corpus_dir(text: str) :
    """argparse type: a corpus folder (with its corpus.json); a folder without one was a traceback after parsing."""
    from neuroflow.cliutil import input_dir

    path = input_dir(text)
    if not (path / "corpus.json").is_file():
        raise argparse.ArgumentTypeError(f"{text}: no corpus.json, so not a corpus (build one: neuroflow vad corpus)")
    return path


def main(argv=None) -> dict:
    from neuroflow.vad.calibration import network_outputs
    from neuroflow.vad.corpus import load_corpus
    from neuroflow.vad.registry import get_system

    from neuroflow.cliutil import Parser, input_dir, output_file
    from neuroflow.vad.cli import _system_spec

    def reference_spec(text: str) -> str:
        return text if text == "none" else _system_spec(text)

    # folders, specs and --out checked while parsing: a bad --systems spec or --out was a traceback after the
    # calibration corpus was scored
    p = Parser(prog="benchmarks/vad_rule_bound.py", description=__doc__.split("\n")[0])
    p.add_argument("--calibration", type=_corpus_dir, required=True, metavar="DIR",
                   help="the calibration corpus (real speech of the training speakers)")
    p.add_argument("--real", type=input_dir, required=True, metavar="DIR",
                   help="the held-out benchmark folder (neuroflow vad corpus --benchmark), with speech/")
    p.add_argument("--systems", type=_system_spec, nargs="+", default=["snu", "bin"], metavar="SPEC",
                   help="spiking models (snu[:PATH], bin[:PATH])")
    p.add_argument("--reference", type=reference_spec, default="webrtc:3", metavar="SPEC",
                   help="the baseline each condition's best rule is set against (default webrtc:3; 'none': no "
                        "baseline)")
    p.add_argument("--out", type=output_file((".json",)), default=None, metavar="FILE", help="also write the JSON here")
    args = p.parse_args(argv)
    speech = args.real / "speech"
    if not (speech / "corpus.json").is_file():
        p.error(f"argument --real: {args.real}: no speech/ corpus (build it with neuroflow vad corpus --benchmark)")
    dev_scenes, held_scenes = list(load_corpus(args.calibration)), list(load_corpus(speech))
    t0 = time.perf_counter()
    result = {"benchmark": "vad-rule-bound", "calibration": str(args.calibration), "real": str(speech),
              "reference": args.reference, "systems": {}}
    reference = None
    if args.reference != "none":
        from neuroflow.vad.systems import SystemUnavailable

        try:
            reference = reference_hter(args.reference, held_scenes)
        except (SystemUnavailable, ValueError) as exc:
            p.error(f"argument --reference: {exc}")
    for spec in args.systems:
        system = get_system(spec)
        dev, held = network_outputs(system, dev_scenes), network_outputs(system, held_scenes)
        result["systems"][spec] = {**bounds(system, dev, held),
                                   "rule_per_condition": rule_per_condition(held, reference),
                                   "false_alarms_at_20_db": false_alarm_distances(system, held),
                                   "after_each_speaker": after_each_speaker(
                                       system, held, held_scenes, None if reference is None else args.reference)}
    result["seconds"] = round(time.perf_counter() - t0, 1)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
    print_json(result, args.out)
    return result


if __name__ == "__main__":
    with ctrl_c_ends_in_one_line("interrupted"):  # what main() leaves uncaught (while parsing, say)
        main()
