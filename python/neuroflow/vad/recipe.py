"""The recipe of a spiking-VAD training run: every setting, validated, saved beside the model.

:class:`Recipe` is what :func:`neuroflow.vad.training.train_vad` runs; :func:`default_recipe` gives
the settings that made the shipped models (``neuroflow/vad/models/recipe.json`` records the corpora
and commands as well).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from neuroflow._utils import check_choice, is_integer, is_number, short_repr
from neuroflow.vad.features import CAUSAL_NORMS, check_floor_fall, check_floor_settings
from neuroflow.vad.modulation import MOD_WINDOW, check_window
from neuroflow.vad.tonality import TONAL_MEASURES, TONAL_WINDOW
from neuroflow.vad.tonality import check_window as check_tonality_window
from neuroflow.vad.postprocess import MAX_SMOOTHING_FRAMES

#: the spiking models a recipe trains: SNU networks and bin-encoded two-layer networks (neuroflow.vad.snn)
MODEL_KINDS = ("snu", "bin")


#: Adam step-size schedules within a training round (Recipe.lr_schedule)
LR_SCHEDULES = ("constant", "cosine")
#: widest hidden layer a recipe may ask for (the shipped models have 64 and 128 units)
MAX_HIDDEN = 4096
#: most hidden layers a recipe may ask for (the shipped models have one)
MAX_LAYERS = 8

#: the range ``(lowest, highest)`` of every numeric setting (None: no bound; the settings of :data:`ABOVE_LOWEST`
#: must lie above their lowest value, the others may equal it). The bounds sit far beyond what any training run of
#: these models uses (the shipped recipes, ``neuroflow/vad/models/recipe.json``: n_mels 40, 6 epochs, batches of
#: 32 crops of 300 frames, gain 12 dB, 2 restarts, 0.15 noise_only, 1 thread), so that a slip of the keyboard is
#: refused at once, naming the setting, instead of running for hours or failing late with another library's
#: message. n_mels stops at 128: a 512-point FFT at 16 kHz has 257 bins, and past about 195 bands librosa leaves
#: filters empty. tau (frames) keeps a membrane's leak exp(-1 / tau) strictly between 0 and 1. median and hangover
#: stop where a model file's smoothing does (:data:`neuroflow.vad.snn.MAX_SMOOTHING_FRAMES`). The fractions
#: (``prune``, ``prune_rate``, ``val_fraction``, ``teacher_weight``, ``alpha``) have checks of their own, and so
#: have the feature windows' shortest lengths (seconds; at most 10 here); what a minibatch needs in memory is
#: checked when training starts (:func:`neuroflow.vad.training.batch_bytes`).
RANGES: dict[str, tuple[float | None, float | None]] = {
    "n_bins": (2, 64), "tau": (0.01, 1000), "slope": (0, 100), "n_mels": (1, 128), "floor_window": (1, 6000),
    "epochs": (1, 1000), "prune_epochs": (0, 1000), "rewind_epoch": (0, 1000), "batch_size": (1, 4096),
    "seq_frames": (1, 60_000), "burn_in": (0, None), "lr": (0, 1), "activity_weight": (0, 1000),
    "offset_weight": (0, 1000), "offset_frames": (1, 1000), "median": (1, MAX_SMOOTHING_FRAMES),
    "hangover": (0, MAX_SMOOTHING_FRAMES), "gain_db": (0, 60), "restarts": (0, 50), "noise_only": (0, 10),
    "room_tone": (0, 10), "music": (0, 10), "background_talk": (0, 10), "gated": (0, 10),
    "seed": (0, 2**64 - 1), "threads": (1, 256), "modulation_window": (None, 10), "tonality_window": (None, 10),
}
#: settings of :data:`RANGES` that must lie above their lowest value
ABOVE_LOWEST = ("slope", "lr")


#: what a value of each type a Recipe field is declared with must be: (test, description)
_TYPES = {
    "int": (is_integer, "an integer"),
    "float": (lambda v: is_number(v, finite=True), "a number"),
    "float | None": (lambda v: v is None or is_number(v, finite=True), "a number or None"),
    "bool": (lambda v: isinstance(v, bool), "True or False"),
    "str": (lambda v: isinstance(v, str), "a string"),
    "tuple[int, ...]": (lambda v: isinstance(v, (list, tuple, np.ndarray)) and all(is_integer(h) for h in v),
                        "a list of layer widths (whole numbers of units)"),
}


def _expected(name: str, kind: str, *, upper: bool = True) -> str:
    """How a message names what setting ``name`` (of declared type ``kind``) expects: its type and its range of
    :data:`RANGES` (only the lower bound, as "positive" or "non-negative", without ``upper``)."""
    if name == "teacher":
        return "'snu', 'bin', a model file or ''"
    described = _TYPES[kind][1]
    lo, hi = RANGES.get(name, (None, None))
    if kind not in ("int", "float") or (lo is None and (hi is None or not upper)):
        return described
    if lo is None:
        return f"{described} <= {hi}"
    noun = "integer" if kind == "int" else "number"
    if upper and hi is not None:
        return f"{'an' if kind == 'int' else 'a'} {noun} in {'(' if name in ABOVE_LOWEST else '['}{lo}, {hi}]"
    if lo == 0:
        return f"a {'positive' if name in ABOVE_LOWEST else 'non-negative'} {noun}"
    return f"a positive {noun}" if lo == 1 else f"{described} >= {lo}"


@dataclass
class Recipe:
    """Every setting of a training run; saved beside the model so it can be made again.

    Each setting must have its field's type (an int field takes no 6.0, a float field no string, ``hidden`` a
    list of whole numbers), and each numeric one lie within :data:`RANGES`; ValueError names the first that does not.

    ``epochs`` trains the dense model, ``prune_epochs`` retrains after each pruning round; ``prune``
    is the target fraction of connections removed (0 = no pruning), ``prune_rate`` the fraction of
    the remaining ones removed per round, ``prune_scope`` ranks weights per matrix ("layer") or over
    all of them ("global"; the shipped models use it: per-matrix pruning cut the bin model's 64-weight
    readout to 9 weights and cost it 3.3 HTER points on held-out data, global ranking 0.2).
    ``rewind_epoch`` is the epoch whose weights the surviving connections are reset to
    (0 = initialisation); ``prune_epochs = epochs - rewind_epoch`` (the default) gives each pruned
    ticket as much training as the dense network had (with fewer, the pruned model lost 2-4 HTER
    points on held-out data; the earlier SNU retrained 10 epochs per round, which cut its held-out
    pruning loss from 0.9 to 0.3 points; the shipped models retrain 5 per round on 2.5 times that data). Sequences are random crops of ``seq_frames``
    frames; the first ``burn_in`` frames of a crop carry no loss (the network's state settles).
    ``lr_schedule`` is Adam's step size within each round (the dense one and every retraining): "constant"
    (``lr`` throughout; the shipped bin model) or "cosine" (from ``lr`` down to zero over the round's steps, so a
    round ends at a settled point rather than wherever its last minibatch left it; the shipped SNU).

    ``norm`` is the feature normalisation (:func:`neuroflow.vad.features.normalize`): "floor" (the
    default and the shipped models': log energy over a minimum-statistics noise floor of
    ``floor_window`` frames, averaged with ``floor_smooth``) or "running" (per-band EMA z-scores with
    factor ``alpha``, the earlier models'; it maps stationary noise of any level onto speech-like
    unit-variance fluctuations, and real noise recordings came out as speech). ``floor_fall_db`` (dB per second;
    None: no limit) bounds how fast a band's floor sinks after its first 1.5 s, and lets it sink only while the band is
    below it, unless the whole signal's floor sinks too (a quieter background, followed at once;
    :func:`neuroflow.vad.features.noise_floor`): a band that fades out alone, like the filter sweeps of the held-out
    electronic track the models called most speech, keeps its floor, and its return no longer reads as new sound
    for the whole window. Both shipped models use 4 dB/s. On the calibration set the bin model went from 13.55 /
    13.99 % (seeds 0 / 1, no limit) to 13.08 / 13.37 % (2 dB/s: 12.92 / 13.37 %), the SNU (six seeds, each taught
    by the bin model with the same features) to a mean of 14.44 % against 14.81 % for six seeds without; held out,
    bin 12.40 / 12.77 -> 11.75 / 12.04 %, SNU mean 14.50 -> 13.96 %, and the held-out music called speech bin 11.9 ->
    8.9 %, SNU seeds 1.7-13.6 % (mean 7.1 %) against 12.1 / 13.8 %. A floor that kept sinking at the rate while the
    band had come back (the first form tried) gained less (bin: 13.29 %). ``skip_silence``
    keeps digital silence out of the noise floors and ``level`` adds the absolute-level inputs, clipped
    at ``level_ceiling_db`` (:mod:`neuroflow.vad.level`). ``modulation`` adds four inputs that say how
    the sound moves over the last ``modulation_window`` seconds (syllabic 2-8 Hz modulation of level and bands, spectral flux and
    spread, :mod:`neuroflow.vad.modulation`), meant to tell music from speech; both shipped
    models use them over 0.1 s (the SNU since its recipe with the rhythm input too halved its held-out music).
    ``tonality`` adds one input, how much of the fine spectral detail of each frame was there 0.1 s before,
    averaged over the last ``tonality_window`` seconds (:mod:`neuroflow.vad.tonality`): steady partials,
    i.e. music; both shipped models have it. ``tonality_measure="partials"`` makes that input the share of the
    spectral peaks held at the same frequency for 0.2 s instead. ``rhythm`` adds one input, how regularly the
    onsets of the last 3 s repeat at lags of 0.25-1.5 s (:mod:`neuroflow.vad.rhythm`): a beat, the music that
    tonality misses.

    Two augmentations teach what real recordings start with: ``restarts`` excerpts of 3-8 s per
    scene whose features start afresh at the excerpt (the start of a stream, where a causal
    normalisation has seen little), and speech-free sequences (white, pink, brown, car and street
    noise of group A at -80 to -10 dBFS, 2-10 s each, labelled 0) adding ``noise_only`` times the
    corpus's length, which the corpus lacks (every scene holds 5-95% speech). ``room_tone`` adds that
    many times the corpus's length of quiet room tone with faint transients and hum (label 0,
    :func:`neuroflow.vad.augment.room_tone_piece`), where the level inputs learn that faint is not speech,
    and ``music`` as much synthetic music (label 0, :func:`neuroflow.vad.augment.music_piece`). The
    shipped models use no synthetic music: with it (and 20 more minutes of recorded training music) they
    still called 62-70 % of held-out music frames speech and lost 0.5-4 HTER points on held-out speech.
    ``background_talk`` adds that many times the corpus's length of babble or cafe noise alone (label 0, -70
    to -30 dBFS, :func:`neuroflow.vad.augment.speech_free_pieces` "talk"): in the corpus background talk is
    only ever heard under a foreground talker. The shipped models use none: with 0.05 the SNU called less
    held-out babble speech with two seeds of three but more steady noise, and was no better on the calibration set
    (mean HTER 15.36 against 15.13 %, three seeds); the bin model with it tied (13.54 against 13.77 % over two seeds,
    held out 12.64 against 12.59 %).
    ``gated`` adds that many times the corpus's length of training music or white or pink noise whose high
    or low bands switch off and on every 0.5-3 s (label 0, :func:`neuroflow.vad.augment.gated_piece`): each
    return of the bands stands above floors that sank while they were gone, as in the held-out track the
    models call most speech. It is the one measured way to the music target (SNU, 0.15: held-out music 12.1 ->
    3.0 %, seed 1 13.8 -> 2.5 %), at a price in speech (mean HTER 13.75 -> 15.45 %, seed 1 13.56 -> 15.82 %;
    0.05: 7.2 % and 14.69 %), so the shipped models use none.

    ``offset_weight`` weighs the loss of the non-speech frames within ``offset_frames`` frames after speech
    (in the training crop) ``1 + offset_weight`` times. That is where the false alarms in steady noise sit: the
    modulation inputs and the membranes carry a sound 0.1-0.2 s past its end, and with every frame weighed
    alike the bin model called 84-100 % of its false-alarm frames at 20 dB SNR within 0.3 s after speech. The
    shipped bin model uses 2.0 over 30 frames (chosen on the calibration set, two seeds: mean HTER 14.02 ->
    13.55 % and 14.50 -> 13.99 %), the shipped SNU the same with the cosine step size (three seeds: 15.69 /
    15.59 / 15.98 -> 14.81 / 15.23 / 15.33 %).

    ``teacher`` (a shipped model's name, "snu" or "bin", or a trained model's file; same features) and
    ``teacher_weight`` distil: each frame's target is ``(1 - teacher_weight) * label + teacher_weight * p``, ``p``
    the teacher's speech probability on the same training crop (no gradient through the teacher). The model learns
    the teacher's soft judgement of the frames the labels call hard (word edges, background talk) alongside the
    labels. The shipped SNU learns from the shipped bin model with weight 0.5 (six seeds on the calibration set:
    mean HTER 14.81 against 15.13 % without a teacher; 0.3 gave 15.12 %, 0.8 15.03 %).
    """

    kind: str = "snu"
    hidden: tuple[int, ...] = (48,)
    n_bins: int = 8
    recurrent: bool = False
    tau: float = 4.0
    slope: float = 5.0
    n_mels: int = 40
    norm: str = "floor"
    alpha: float = 0.995
    floor_window: int = 150
    floor_smooth: float = 0.8
    floor_fall_db: float | None = None
    skip_silence: bool = False
    level: bool = False
    level_ceiling_db: float = -45.0
    modulation: bool = False
    modulation_window: float = MOD_WINDOW
    tonality: bool = False
    tonality_window: float = TONAL_WINDOW
    tonality_measure: str = "detail"
    rhythm: bool = False
    epochs: int = 6
    prune: float = 0.85
    prune_rate: float = 0.62
    prune_epochs: int = 5
    prune_scope: str = "layer"
    rewind_epoch: int = 1
    batch_size: int = 32
    seq_frames: int = 300
    burn_in: int = 20
    lr: float = 3e-3
    lr_schedule: str = "constant"
    activity_weight: float = 0.05
    offset_weight: float = 0.0
    offset_frames: int = 30
    val_fraction: float = 0.15
    median: int = 5
    hangover: int = 10
    gain_db: float = 12.0
    restarts: int = 0
    noise_only: float = 0.0
    room_tone: float = 0.0
    music: float = 0.0
    background_talk: float = 0.0
    gated: float = 0.0
    teacher: str = ""
    teacher_weight: float = 0.0
    seed: int = 0
    threads: int = 1

    def __post_init__(self):
        self._check_types_and_ranges()
        check_choice(self.kind, "kind", MODEL_KINDS)
        check_choice(self.norm, "norm", CAUSAL_NORMS)
        check_choice(self.prune_scope, "prune_scope", ("layer", "global"))
        check_choice(self.lr_schedule, "lr_schedule", LR_SCHEDULES)
        check_choice(self.tonality_measure, "tonality_measure", TONAL_MEASURES)
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha: expected a number in (0, 1), got {self.alpha!r}")
        if not 0.0 <= self.teacher_weight <= 1.0:
            raise ValueError(f"teacher_weight: expected a share in [0, 1], got {self.teacher_weight!r}")
        if (self.teacher_weight > 0) != bool(self.teacher):
            raise ValueError(f"teacher: a teacher model and a positive teacher_weight go together, got "
                             f"teacher={self.teacher!r}, teacher_weight={self.teacher_weight!r}")
        if not 0.0 <= self.prune < 1.0:
            raise ValueError(f"prune: expected a fraction of connections in [0, 1), got {self.prune!r}")
        if not 0.0 < self.prune_rate < 1.0:
            raise ValueError(f"prune_rate: expected a fraction in (0, 1), got {self.prune_rate!r}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction: expected a fraction in (0, 1), got {self.val_fraction!r}")
        if self.burn_in >= self.seq_frames:
            raise ValueError(f"burn_in: expected fewer than seq_frames={self.seq_frames} frames, got {self.burn_in}")
        if self.rewind_epoch > self.epochs:
            raise ValueError(f"rewind_epoch: expected at most epochs={self.epochs}, got {self.rewind_epoch}")
        check_floor_settings(self.floor_window, self.floor_smooth)
        check_floor_fall(self.floor_fall_db)
        check_window(self.modulation_window)
        check_tonality_window(self.tonality_window)
        if not (isinstance(self.level_ceiling_db, (int, float)) and -100.0 < self.level_ceiling_db <= 0.0):
            raise ValueError(f"level_ceiling_db: expected a level in (-100, 0] dBFS, got {self.level_ceiling_db!r}")
        if self.median % 2 == 0:
            raise ValueError(f"median: expected an odd window length in frames, got {self.median}")

    def _check_types_and_ranges(self) -> None:
        """Every setting of the type its field declares, and every numeric one within :data:`RANGES`; ValueError
        naming the first setting that is not (:func:`setting_problem`). ``hidden`` becomes a tuple of ints."""
        for f in dataclasses.fields(self):
            problem = setting_problem(f.name, getattr(self, f.name))
            if problem:
                raise ValueError(f"{f.name}: {problem}")
        self.hidden = tuple(int(h) for h in self.hidden)

    def features(self) -> dict:
        """The feature configuration the model is built with (:class:`~neuroflow.vad.frontend.FeatureExtractor`)."""
        if self.norm == "floor":
            out = {"n_mels": self.n_mels, "n_fft": 512, "norm": "floor", "floor_window": self.floor_window,
                   "floor_smooth": self.floor_smooth}
            if self.floor_fall_db is not None:
                out["floor_fall_db"] = float(self.floor_fall_db)
        else:
            out = {"n_mels": self.n_mels, "n_fft": 512, "norm": self.norm, "alpha": self.alpha}
        out.update({k: True for k in ("skip_silence", "level", "modulation", "tonality", "rhythm") if getattr(self, k)})
        if self.level:
            out["level_ceiling_db"] = self.level_ceiling_db
        if self.modulation:
            out["modulation_window"] = self.modulation_window
        if self.tonality:
            out["tonality_window"] = self.tonality_window
            if self.tonality_measure != "detail":
                out["tonality_measure"] = self.tonality_measure
        return out

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Recipe":
        if not isinstance(d, dict):
            raise ValueError(f"recipe: expected a dict of settings, got {type(d).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names, key=str)
        if unknown:
            raise ValueError(f"recipe: unknown settings {unknown}")
        try:
            return cls(**d)
        except TypeError as exc:  # e.g. hidden given as a number
            raise ValueError(f"recipe: {exc}") from None


#: the settings of the shipped models (neuroflow/vad/models/*.json) that differ from Recipe's defaults (the seed
#: too: of the seeds trained, the shipped SNU is the one the calibration set scored best; its teacher is the shipped
#: bin model, so retraining the bin model changes what this recipe rebuilds)
DEFAULT_RECIPES = {
    "snu": {"kind": "snu", "hidden": (64,), "tau": 10.0, "recurrent": True, "prune_scope": "global",
            "prune_epochs": 5, "restarts": 2, "noise_only": 0.15, "room_tone": 0.05, "skip_silence": True,
            "floor_fall_db": 4.0, "level": True, "modulation": True, "modulation_window": 0.1, "tonality": True,
            "rhythm": True, "offset_weight": 2.0, "lr_schedule": "cosine", "teacher": "bin", "teacher_weight": 0.5,
            "seed": 1},
    "bin": {"kind": "bin", "hidden": (128,), "n_bins": 8, "tau": 10.0, "prune_scope": "global", "prune_epochs": 5,
            "restarts": 2, "noise_only": 0.15, "room_tone": 0.05, "skip_silence": True, "floor_fall_db": 4.0,
            "level": True, "modulation": True, "modulation_window": 0.1, "tonality": True, "rhythm": True,
            "offset_weight": 2.0},
}


def setting_problem(name: str, value) -> str | None:
    """Why ``value`` cannot be the recipe setting ``name`` ("expected ..., got ..."): not of the type the field
    declares, outside :data:`RANGES`, or (``hidden``) not 1 to :data:`MAX_LAYERS` layers of 1 to :data:`MAX_HIDDEN`
    units; None if it can. Recipes check every setting with it, and model files the settings they record."""
    kind = _FIELD_TYPES[name]
    if not _TYPES[kind][0](value):
        return f"expected {_expected(name, kind, upper=False)}, got {short_repr(value)}"
    lo, hi = RANGES.get(name, (None, None))
    low = lo is not None and (value <= lo if name in ABOVE_LOWEST else value < lo)
    if low or (hi is not None and value > hi):
        return f"expected {_expected(name, kind)}, got {short_repr(value)}"
    if name == "hidden":
        if not len(value) or not all(1 <= h <= MAX_HIDDEN for h in value):
            return f"expected layers of 1 to {MAX_HIDDEN} units, got {short_repr(list(value))}"
        if len(value) > MAX_LAYERS:
            return f"expected at most {MAX_LAYERS} layers, got {len(value)}"
    return None


#: the declared type of every Recipe field, by name
_FIELD_TYPES = {f.name: f.type for f in dataclasses.fields(Recipe)}


def default_recipe(kind: str = "snu", **overrides) -> Recipe:
    """The recipe that made the shipped model of ``kind`` ("snu" or "bin"), with ``overrides`` applied."""
    check_choice(kind, "kind", MODEL_KINDS)
    return Recipe(**{**DEFAULT_RECIPES[kind], **overrides})
