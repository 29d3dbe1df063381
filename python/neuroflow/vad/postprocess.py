"""From a network's speech probability to frame scores and speech segments, chunk by chunk.

Every step here is causal and written once as ``step(input, state) -> (output, state)``
(``state=None`` starts afresh); the batch functions are the same step over one chunk, so a stream fed
in pieces of any size gives the numbers of one call on the whole.

Frame scores (:class:`PostProcessor`)
-------------------------------------
1. a causal running median over ``median`` frames (:func:`causal_median`);
2. a silence gate sets frames of digital silence (window energy below
   :data:`~neuroflow.vad.features.SILENCE_DB`) and frames more than :data:`GATE_BELOW_PEAK_DB` below
   the running peak of frame energy (:func:`running_peak`) to 0: the corpus's own labelling rule;
3. with a ``release`` threshold (hysteresis, as Silero's ``neg_threshold``): while the probability stays at or
   above ``release``, it is held at its peak since it rose above ``release`` (:func:`release_peak`), so a
   stretch of speech that once reached the decision threshold ends only when the probability falls below
   ``release``; a release at or above the threshold changes no decision;
4. the model's decision threshold (from training's validation split, or chosen by
   :mod:`neuroflow.vad.calibration`) is mapped to 0.5 (:func:`rescale`), so every model's score reads
   the same way;
5. a hangover holds a score for ``hangover`` frames (:func:`causal_max`), but for at most
   :data:`GATED_HANGOVER` frames into gated (silent) frames, the hangover of the labels themselves. With
   ``low_snr_db`` and ``low_snr_hangover`` (an SNR-dependent hangover, as in the AMR and G.729 Annex B
   detectors), frames whose estimated SNR (:func:`snr_estimate`) lies below ``low_snr_db`` are held
   ``low_snr_hangover`` frames instead: in loud noise speech sinks into the noise for longer stretches, in
   quiet noise a long hangover only calls the end of every utterance speech.

Segments (:class:`SegmentTracker`, :func:`segments_from_scores`)
---------------------------------------------------------------
Frames with ``score >= threshold`` are speech. Speech runs separated by less than ``min_silence_s``
of non-speech are joined; joined runs shorter than ``min_speech_s`` are dropped; each kept run is
widened by ``pad_s`` on both sides (within the signal) and runs that then touch or overlap are
merged. All durations are rounded to whole 10 ms frames. A stream reports a segment as soon as no
later audio can change it (``min_silence_s + 2 pad_s`` after its last speech frame at most).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from neuroflow._utils import check_array, is_integer, is_number, short_repr
from neuroflow.vad.features import DIRECT_FRAMES, FLOOR_SMOOTH, FLOOR_WINDOW, HOP, SILENCE_DB, noise_floor
from neuroflow.vad.audio import SAMPLE_RATE

#: seconds per frame
HOP_S = HOP / SAMPLE_RATE
#: frames this far (dB) below the running speech peak are silence, the rule the corpus labels use
#: (speech = within 40 dB of the speech level); it only acts on clean recordings, never at SNRs <= 40 dB
GATE_BELOW_PEAK_DB = 45.0
#: frames a decision is held into silent (gated) frames: the corpus labels' own hangover (50 ms), so
#: the model's longer hangover, which bridges speech buried in noise, does not fill clean pauses
GATED_HANGOVER = 5
#: how fast the running peak falls (dB per 10 ms frame), so a loud event is forgotten in about 10 s
PEAK_DECAY_DB = 0.05
#: the longest median and hangover (frames) a model file may ask for: 10 s
MAX_SMOOTHING_FRAMES = 1000


# ============================================================================= causal filters
def causal_median(x: np.ndarray, k: int, state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Running median over the last ``k`` values; the first frames of a fresh start repeat ``x[0]``.

    Returns ``(y float64, state)``; the state is the last ``k - 1`` inputs.
    """
    x = np.asarray(x, dtype=np.float64)
    if k <= 1 or len(x) == 0:
        return x, state
    head = np.full(k - 1, x[0]) if state is None else state
    ext = np.concatenate([head, x])
    if k % 2 and len(x) <= DIRECT_FRAMES:  # np.median of an odd window is its middle value once sorted: the same
        # float, without np.median's ~50 us of checks for a stream's frame
        return np.sort(np.lib.stride_tricks.sliding_window_view(ext, k), axis=1)[:, k // 2], ext[-(k - 1):]
    return np.median(np.lib.stride_tricks.sliding_window_view(ext, k), axis=1), ext[-(k - 1):]


def causal_max(x: np.ndarray, h: int, state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """``y[t] = max(x[t - h .. t])`` (a hangover of ``h`` frames), with nothing (``-inf``) before a fresh start.

    Returns ``(y float64, state)``; the state is the last ``h`` inputs.
    """
    from scipy.ndimage import maximum_filter1d

    x = np.asarray(x, dtype=np.float64)
    if h <= 0 or len(x) == 0:
        return x, state
    head = np.full(h, -np.inf) if state is None else state
    ext = np.concatenate([head, x])
    if len(x) <= DIRECT_FRAMES:  # a stream's few frames: their windows' maxima directly (exact: the same floats)
        if len(x) == 1:
            return ext[-(h + 1):].max(keepdims=True), ext[-h:]
        return np.lib.stride_tricks.sliding_window_view(ext[-(len(x) + h):], h + 1).max(axis=1), ext[-h:]
    # scipy's window for output i covers ext[i - (h + 1) // 2 .. i - (h + 1) // 2 + h]: output t + (h + 1) // 2 is
    # the maximum over ext[t .. t + h], i.e. x[t - h .. t]
    first = (h + 1) // 2
    return maximum_filter1d(ext, size=h + 1)[first:first + len(x)], ext[-h:]


def running_peak(energy_db: np.ndarray, decay_db: float = PEAK_DECAY_DB,
                 state: tuple | None = None) -> tuple[np.ndarray, tuple | None]:
    """``peak[t] = max(e[t], peak[t-1] - decay_db)`` (``-inf`` before a fresh start); returns ``(peak, state)``.

    Unrolled over the absolute frame index ``t``: ``peak[t] = max_{k<=t}(e[k] + decay_db k) - decay_db t``, so a
    signal fed in pieces (the state is the running maximum and the frames seen) gives the same floats, bit for bit,
    as one call.
    """
    e = np.asarray(energy_db, dtype=np.float64)
    if len(e) == 0:
        return e, state
    best, seen = (-np.inf, 0) if state is None else state
    k = seen + np.arange(len(e), dtype=np.float64)
    top = np.maximum(np.maximum.accumulate(e + decay_db * k), best)
    return top - decay_db * k, (float(top[-1]), seen + len(e))


def release_peak(p: np.ndarray, release: float, state: float | None = None) -> tuple[np.ndarray, float | None]:
    """Hysteresis as a score: ``p`` where ``p < release``; elsewhere the largest ``p`` since the current stretch of
    frames at or above ``release`` began. Thresholding the result at ``t >= release`` enters speech where ``p``
    reaches ``t`` and leaves it where ``p`` falls below ``release``.

    Returns ``(held float64, state)``; the state is the open stretch's peak (None: no stretch open).
    """
    p = np.asarray(p, dtype=np.float64)
    if len(p) == 0:
        return p, state
    if len(p) == 1:  # a stream's 10 ms chunk: the frame's own value, or the open stretch's peak if higher
        if not p[0] >= release:
            return p, None
        held = p if state is None or p[0] >= state else np.array([state])
        return held, float(held[0])
    above = p >= release
    stretch = np.cumsum(np.concatenate([[0], above[1:] & ~above[:-1]]))  # stretch number of each frame
    if not above[0]:
        stretch += 1  # the stretch open before this chunk (if any) ended before frame 0
    # a running maximum that restarts with each stretch, exactly: over integer keys (stretch, rank of the value)
    values = p if state is None else np.append(p, state)
    ordered = np.sort(values)
    rank = np.searchsorted(ordered, values)
    n = len(values)
    key = np.where(above, stretch * n + rank[:len(p)], -1)
    if state is not None and above[0]:
        key[0] = max(key[0], rank[-1])  # the first stretch goes on from the previous chunk (stretch 0)
    held = np.where(above, ordered[np.maximum.accumulate(key) % n], p)
    return held, (float(held[-1]) if above[-1] else None)


def release_problem(release) -> str | None:
    """What is wrong with a release threshold (None: nothing; None itself means no release)."""
    if release is None or (isinstance(release, (int, float)) and not isinstance(release, bool)
                           and 0.0 < release <= 1.0):
        return None
    return f"expected a probability in (0, 1] or None, got {release!r}"


def low_snr_problem(low_snr_db, low_snr_hangover) -> str | None:
    """What is wrong with an SNR-dependent hangover's two settings (None: nothing; both None: none)."""
    if low_snr_db is None and low_snr_hangover is None:
        return None
    if low_snr_db is None or low_snr_hangover is None:
        return (f"low_snr_db and low_snr_hangover: expected both or neither, got {low_snr_db!r} and "
                f"{low_snr_hangover!r}")
    if isinstance(low_snr_db, bool) or not isinstance(low_snr_db, (int, float)) \
            or not -100.0 <= float(low_snr_db) <= 100.0:
        return f"low_snr_db: expected an SNR in [-100, 100] dB, got {low_snr_db!r}"
    if isinstance(low_snr_hangover, bool) or not isinstance(low_snr_hangover, (int, np.integer)) \
            or not 0 <= low_snr_hangover <= MAX_SMOOTHING_FRAMES:
        return (f"low_snr_hangover: expected a whole number of frames in [0, {MAX_SMOOTHING_FRAMES}], got "
                f"{low_snr_hangover!r}")
    return None


def rescale(p: np.ndarray, threshold: float) -> np.ndarray:
    """Map probabilities piecewise linearly so that ``threshold`` goes to 0.5 (0 and 1 stay)."""
    thr = min(max(float(threshold), 1e-6), 1 - 1e-6)
    p = np.asarray(p, dtype=np.float64)
    return np.where(p < thr, 0.5 * p / thr, 0.5 + 0.5 * (p - thr) / (1.0 - thr))


def _silent(e: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """The silence gate: digital silence, or :data:`GATE_BELOW_PEAK_DB` below the running peak ``peak``."""
    return (e < SILENCE_DB) | (e < peak - GATE_BELOW_PEAK_DB)


def snr_estimate(energy_db: np.ndarray, state: dict | None = None) -> tuple[np.ndarray, dict]:
    """Estimated SNR of each frame (dB): the running peak of the frame energy (:func:`running_peak`, falling
    :data:`PEAK_DECAY_DB` per frame) minus its noise floor (minimum statistics over the features' window,
    :func:`~neuroflow.vad.features.noise_floor`; frames of digital silence are left out of the floor).

    Returns ``(snr float64, state)``; fed in pieces with the state it gives the numbers of one call.
    """
    e = np.asarray(energy_db, dtype=np.float64)
    state = {"peak": None, "floor": None} if state is None else state
    peak, peak_state = running_peak(e, PEAK_DECAY_DB, state["peak"])
    floor, floor_state = _floor(e, state["floor"])
    return peak - floor, {"peak": peak_state, "floor": floor_state}


def _floor(e: np.ndarray, state: dict | None) -> tuple[np.ndarray, dict]:
    floor, state = noise_floor(e[:, None], FLOOR_WINDOW, FLOOR_SMOOTH, state, skip=e < SILENCE_DB)
    return floor[:, 0], state


def hold_scores(score: np.ndarray, silent: np.ndarray | None, low: np.ndarray | None, hangover: int,
                low_snr_hangover: int | None = None, hold: np.ndarray | None = None) -> np.ndarray:
    """Step 5 of the module docstring: ``score`` held ``hangover`` frames, ``low_snr_hangover`` where ``low`` (the
    frames of low estimated SNR; None: none), at most :data:`GATED_HANGOVER` into ``silent`` frames (None: none).
    ``hold`` is the stream's last pre-hangover scores, at least the longest hangover (None: a fresh start)."""

    def held(frames):
        if frames <= 0:
            return score
        return causal_max(score, frames, None if hold is None else hold[len(hold) - frames:])[0]

    out = held(hangover)
    if low is not None:
        out = np.where(low, held(low_snr_hangover), out)
    if silent is not None:  # silent frames: held no longer than the labels hold speech
        gated = held(min(hangover, GATED_HANGOVER))
        if low is not None:
            gated = np.where(low, held(min(low_snr_hangover, GATED_HANGOVER)), gated)
        out = np.where(silent, gated, out)
    return out


# ============================================================================= frame scores
class PostProcessor:
    """A model's post-processing (median, silence gate, release, threshold to 0.5, hangover), as a step.

    ``step(prob, energy_db, state)`` takes the network's probabilities of consecutive frames and
    their window energies (``None``: no silence gate and no SNR estimate, as on precomputed features) and
    returns ``(scores in [0, 1], state)``. ``release`` (None: none) is the hysteresis threshold of step 3 of
    the module docstring, in (0, 1]; ``low_snr_db`` and ``low_snr_hangover`` (both None: one hangover) the
    SNR-dependent hangover of step 5.
    """

    def __init__(self, threshold: float, median: int = 1, hangover: int = 0, release: float | None = None, *,
                 low_snr_db: float | None = None, low_snr_hangover: int | None = None):
        # as a model file's fields (neuroflow.vad.snn): a NaN threshold made every score NaN, a hangover of 10**9
        # frames allocated gigabytes per frame (the process was killed), median 2.7 ran as 2 and -5 as none
        if not (is_number(threshold, finite=True) and 0.0 <= threshold <= 1.0):
            raise ValueError(f"threshold: expected a decision threshold in [0, 1], got {short_repr(threshold)}")
        for name, value, lo in (("median", median, 1), ("hangover", hangover, 0)):
            if not (is_integer(value) and lo <= value <= MAX_SMOOTHING_FRAMES):
                raise ValueError(f"{name}: expected a whole number of frames in [{lo}, {MAX_SMOOTHING_FRAMES}], got "
                                 f"{short_repr(value)}")
        self.threshold, self.median, self.hangover = float(threshold), int(median), int(hangover)
        problem = release_problem(release)
        if problem:
            raise ValueError(f"release: {problem}")
        self.release = None if release is None else float(release)
        problem = low_snr_problem(low_snr_db, low_snr_hangover)
        if problem:
            raise ValueError(problem)
        self.low_snr_db = None if low_snr_db is None else float(low_snr_db)
        self.low_snr_hangover = None if low_snr_hangover is None else int(low_snr_hangover)

    @property
    def smoothing(self) -> dict:
        """The settings as a model file's ``smoothing`` (``release`` and the SNR-dependent hangover only where set);
        ``PostProcessor(threshold, **smoothing)`` rebuilds it."""
        return {"median": self.median, "hangover": self.hangover,
                **({} if self.release is None else {"release": self.release}),
                **({} if self.low_snr_db is None else {"low_snr_db": self.low_snr_db,
                                                       "low_snr_hangover": self.low_snr_hangover})}

    @property
    def _span(self) -> int:
        """Frames of pre-hangover scores a stream keeps: the longest hangover."""
        return max(self.hangover, self.low_snr_hangover or 0)

    def front(self, prob: np.ndarray, energy_db: np.ndarray | None = None, state: dict | None = None, *,
              snr: bool = False) -> tuple:
        """Steps 1-4 of the module docstring: ``(score before the hangover, silent frames, estimated SNR, state)``.

        ``silent`` is None without energies; the SNR estimate (:func:`snr_estimate`) is None unless ``snr`` and
        energies are given. The hangover (:func:`hold_scores`) depends on nothing else, so a search over hangovers
        (:mod:`neuroflow.vad.calibration`) computes this part once.
        """
        state = {"median": None, "hold": None, "peak": None, "stretch": None, "floor": None} if state is None \
            else dict(state)
        p, state["median"] = causal_median(prob, self.median, state["median"])
        silent = estimate = None
        if energy_db is not None and len(p):
            e = np.asarray(energy_db, dtype=np.float64)
            peaks, state["peak"] = running_peak(e, PEAK_DECAY_DB, state["peak"])
            silent = _silent(e, peaks)
            p = np.where(silent, 0.0, p)
            if snr:
                floors, state["floor"] = _floor(e, state.get("floor"))
                estimate = peaks - floors
        if self.release is not None and len(p):
            p, state["stretch"] = release_peak(p, self.release, state.get("stretch"))
        return rescale(p, self.threshold), silent, estimate, state

    def step(self, prob: np.ndarray, energy_db: np.ndarray | None = None, state: dict | None = None):
        """``(scores, state)`` of the network's probabilities ``prob`` of consecutive frames and their window energies
        (dB; None: no silence gate and no SNR estimate), continuing ``state`` (None: a fresh start)."""
        prob = check_array(prob, "prob", ndim=1)  # NaN came out as a NaN score, a 2-d array as numpy's broadcast error
        if energy_db is not None:
            energy_db = check_array(energy_db, "energy_db", ndim=1, finite=False)
            if len(energy_db) != len(prob):
                raise ValueError(f"energy_db: expected {len(prob)} frame energies (one per probability), got "
                                 f"{len(energy_db)}")
            if np.isnan(energy_db).any():
                raise ValueError("energy_db: expected frame energies in dB, found NaN")
        return self._step(prob, energy_db, state)

    def _step(self, prob: np.ndarray, energy_db: np.ndarray | None, state: dict | None):
        """:meth:`step` of values already checked: a stream's, which its own network and front end computed
        (float64 probabilities, finite, one energy per frame)."""
        if len(prob) == 0:
            return np.zeros(0), self.front(prob, None, state)[3]
        score, silent, estimate, state = self.front(prob, energy_db, state, snr=self.low_snr_db is not None)
        span = self._span
        if span > 0:
            hold = state["hold"]
            low = None if estimate is None else estimate < self.low_snr_db
            held = hold_scores(score, silent, low, self.hangover, self.low_snr_hangover, hold)
            state["hold"] = np.concatenate([np.full(span, -np.inf) if hold is None else hold, score])[-span:]
            score = held
        return np.clip(score, 0.0, 1.0), state

    def __call__(self, prob: np.ndarray, energy_db: np.ndarray | None = None) -> np.ndarray:
        """Scores of one whole sequence (the step over one chunk)."""
        return self.step(prob, energy_db)[0]


# ============================================================================= segments
@dataclass(frozen=True)
class SegmentRules:
    """How frame scores become speech segments (see the module docstring); validated on creation."""

    threshold: float = 0.5
    min_speech_s: float = 0.0
    min_silence_s: float = 0.0
    pad_s: float = 0.0

    def __post_init__(self):
        for name in ("threshold", "min_speech_s", "min_silence_s", "pad_s"):
            value = getattr(self, name)
            if not is_number(value, finite=True):  # float(10**400) raised OverflowError here
                raise ValueError(f"{name}: expected a finite number, got {short_repr(value)}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold: expected a score threshold in [0, 1], got {short_repr(self.threshold)}")
        for name in ("min_speech_s", "min_silence_s", "pad_s"):
            value = getattr(self, name)
            if not 0.0 <= value <= 3600.0:
                raise ValueError(f"{name}: expected a duration in [0, 3600] s, got {short_repr(value)}")

    @property
    def frames(self) -> tuple[int, int, int]:
        """(min speech, min silence, padding) in whole frames."""
        return (math.ceil(self.min_speech_s / HOP_S - 1e-9), math.ceil(self.min_silence_s / HOP_S - 1e-9),
                int(round(self.pad_s / HOP_S)))

    def to_dict(self) -> dict:
        return asdict(self)


class SegmentTracker:
    """Speech segments of a stream of frame scores: ``step(scores, state) -> (finished segments, state)``
    and ``finish(state)`` at the end of the input. Segments are ``[start_frame, end_frame)`` pairs."""

    def __init__(self, rules: SegmentRules | None = None):
        if rules is not None and not isinstance(rules, SegmentRules):  # a dict failed later: "no attribute 'frames'"
            raise TypeError(f"rules: expected a SegmentRules (or None), got {type(rules).__name__}")
        self.rules = SegmentRules() if rules is None else rules
        self.min_speech, min_silence, self.pad = self.rules.frames
        self.join = max(min_silence, 1)  # a gap of 0 frames is the same run

    def _close(self, run, pending, out):
        """A joined run is final: keep it if long enough, pad it, merge it into or emit ``pending``."""
        if run is None or run[1] - run[0] < self.min_speech:
            return pending
        seg = [max(0, run[0] - self.pad), run[1] + self.pad]
        if pending is not None and seg[0] <= pending[1]:
            return [pending[0], max(pending[1], seg[1])]
        if pending is not None:
            out.append(pending)
        return seg

    def step(self, scores: np.ndarray, state: dict | None = None) -> tuple[list[list[int]], dict]:
        # NaN compared as non-speech (a gap in the segments, silently), a 2-d array or text failed inside numpy
        return self._step(check_array(scores, "scores", ndim=1), state)

    def _step(self, scores: np.ndarray, state: dict | None) -> tuple[list[list[int]], dict]:
        """:meth:`step` of scores already checked (a stream's own: finite, 1-d)."""
        state = {"t": 0, "run": None, "pending": None} if state is None else state
        t0, run, pending = state["t"], state["run"], state["pending"]
        d = scores >= self.rules.threshold
        out: list[list[int]] = []
        if len(d):
            edges = np.diff(np.concatenate([[0], d.astype(np.int8), [0]]))
            for a, b in zip(np.flatnonzero(edges == 1) + t0, np.flatnonzero(edges == -1) + t0):
                if run is not None and a - run[1] < self.join:
                    run = [run[0], int(b)]
                else:
                    pending = self._close(run, pending, out)
                    run = [int(a), int(b)]
        t = t0 + len(d)
        if run is not None and t - run[1] >= self.join:  # enough silence: the run cannot grow any more
            pending = self._close(run, pending, out)
            run = None
        if pending is not None and (run[0] if run is not None else t) - self.pad > pending[1]:
            out.append(pending)  # no later run can reach it
            pending = None
        return out, {"t": t, "run": run, "pending": pending}

    def finish(self, state: dict | None) -> list[list[int]]:
        """The segments still open at the end of the input (padding stops at its last frame)."""
        if state is None:
            return []
        out: list[list[int]] = []
        pending = self._close(state["run"], state["pending"], out)
        if pending is not None:
            out.append(pending)
        return [[a, min(b, state["t"])] for a, b in out]


def to_seconds(segments: list[list[int]]) -> list[list[float]]:
    """``[start_frame, end_frame)`` pairs as ``[start_s, end_s]``."""
    return [[float(a * HOP_S), float(b * HOP_S)] for a, b in segments]


def segments_from_scores(scores: np.ndarray, rules: SegmentRules | None = None) -> list[list[float]]:
    """``[start_s, end_s]`` of every speech segment of a whole signal's frame scores (the tracker over one chunk)."""
    tracker = SegmentTracker(rules)
    done, state = tracker.step(scores)
    return to_seconds(done + tracker.finish(state))
