"""Spiking networks for voice activity detection, in torch: the Spiking Neural Unit and two VAD models.

The Spiking Neural Unit (SNU; Woźniak et al., "Deep learning incorporating biologically inspired
neural dynamics and in-memory computing", Nature Machine Intelligence 2020) recasts a leaky
integrate-and-fire neuron as a recurrent-network cell, so a spiking network trains with ordinary
back-propagation through time::

    s_t = g(W x_t [+ H y_{t-1}] + l(tau) * s_{t-1} * (1 - y_{t-1}))      membrane potential
    y_t = h(s_t + b)                                                    output

``g`` is a ReLU, ``l(tau)`` a per-neuron leak in (0, 1), ``(1 - y_{t-1})`` the reset after a spike,
``b`` a (negative) threshold. ``h`` is a Heaviside step whose gradient is replaced by a sigmoid's
(:class:`SpikeFunction`, the surrogate gradient) or, in the "soft SNU", the sigmoid itself.

Two VAD models compose these cells over 10 ms log-mel frames, and both output a per-frame speech
probability, the membrane of a soft output SNU read through its sigmoid:

* :class:`SNUVAD` — log-mel frames (each band relative to its running noise floor, see
  :func:`neuroflow.vad.features.noise_floor`, then standardised) feed spiking SNU layers (Martinelli,
  Dellaferrera, Mainar & Cernak, "Spiking neural networks trained with backpropagation for low power
  neuromorphic implementation of voice activity detection", ICASSP 2020).
* :class:`BinSNNVAD` — each frame is bin-encoded (:mod:`neuroflow.vad.encoding`) into one spike per
  input (mel band or level input) and feeds a two-layer spiking classifier (Dellaferrera et al., ICASSP 2020).

Each model's input per frame is its feature configuration's (``model.features``, computed by
:class:`neuroflow.vad.frontend.FeatureExtractor`): ``n_mels`` floor-relative bands and, with
``"level": True``, the two absolute-level inputs of :mod:`neuroflow.vad.level` and, with
``"modulation": True``, the four modulation inputs of :mod:`neuroflow.vad.modulation`, with ``"tonality": True``,
the tonality input of :mod:`neuroflow.vad.tonality` and, with ``"rhythm": True``, the rhythm input of
:mod:`neuroflow.vad.rhythm` (``n_features`` values).

Every weight matrix carries a pruning mask (a buffer of 0/1, applied in every forward pass and kept
in saved models); see :mod:`neuroflow.vad.pruning`. :func:`save_model` / :func:`load_model` write and
read small ``.pt`` files that hold the weights, the masks, the feature configuration and the decision
threshold; :mod:`neuroflow.vad.inference` runs a trained model in NumPy.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from neuroflow._utils import (as_list, atomic_output, check_choice, check_positive, check_seed, exception_reason,
                              expanded, is_integer, is_number, short_repr)
from neuroflow.vad.features import MAX_N_FFT  # the largest FFT a model's features may ask for
from neuroflow.vad.frontend import feature_width
from neuroflow.vad.postprocess import MAX_SMOOTHING_FRAMES, low_snr_problem, release_problem
from neuroflow.vad.recipe import MODEL_KINDS, setting_problem

#: the feature configuration both models use unless told otherwise (see neuroflow.vad.features.logmel)
DEFAULT_FEATURES = {"n_mels": 40, "n_fft": 512, "norm": "floor", "floor_window": 150, "floor_smooth": 0.8}


# ============================================================================= spike nonlinearity
class SpikeFunction(torch.autograd.Function):
    """Heaviside step forward; derivative of ``sigmoid(slope * x)`` backward (the surrogate gradient)."""

    @staticmethod
    def forward(ctx, x, slope: float):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        sig = torch.sigmoid(ctx.slope * x)
        return grad_out * ctx.slope * sig * (1.0 - sig), None


def spike(x: torch.Tensor, slope: float = 5.0) -> torch.Tensor:
    """0/1 spikes where ``x > 0``, differentiable through a sigmoid surrogate of slope ``slope``."""
    return SpikeFunction.apply(x, float(slope))


# ============================================================================= the cell
class SNUCell(nn.Module):
    """A layer of Spiking Neural Units, stepping through time with explicit state ``(s, y)``.

    Parameters
    ----------
    n_in, n_out : int
        Input and output sizes.
    soft : bool
        ``h`` is a sigmoid (soft SNU, outputs in (0, 1)) instead of a spiking step.
    recurrent : bool
        Add recurrent weights ``H y_{t-1}`` (pruned like the input weights).
    tau : float
        Initial membrane time constant in frames; the leak is ``l = exp(-1 / tau)``, learnt per
        neuron through a logit so it stays in (0, 1).
    bias : float
        Initial ``b`` (minus the firing threshold).
    slope : float
        Steepness of the surrogate gradient.
    detach_reset : bool
        Do not back-propagate through the reset term ``(1 - y_{t-1})`` (steadier training).
    generator : torch.Generator, optional
        Seeds the weight initialisation.
    """

    def __init__(self, n_in: int, n_out: int, *, soft: bool = False, recurrent: bool = False, tau: float = 4.0,
                 bias: float = -0.5, slope: float = 5.0, detach_reset: bool = True,
                 generator: torch.Generator | None = None):
        super().__init__()
        check_positive(n_in, "n_in", integer=True)
        check_positive(n_out, "n_out", integer=True)
        check_positive(tau, "tau")
        check_positive(slope, "slope")
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.soft, self.recurrent = bool(soft), bool(recurrent)
        self.slope, self.detach_reset = float(slope), bool(detach_reset)
        bound = math.sqrt(3.0 / n_in)  # unit-variance pre-activation for unit-variance inputs
        self.weight = nn.Parameter((torch.rand(n_out, n_in, generator=generator) * 2 - 1) * bound)
        self.register_buffer("weight_mask", torch.ones(n_out, n_in))
        if recurrent:
            rb = math.sqrt(1.0 / n_out)
            self.recurrent_weight = nn.Parameter((torch.rand(n_out, n_out, generator=generator) * 2 - 1) * rb)
            self.register_buffer("recurrent_weight_mask", torch.ones(n_out, n_out))
        self.bias = nn.Parameter(torch.full((n_out,), float(bias)))
        leak = math.exp(-1.0 / tau)
        self.leak_logit = nn.Parameter(torch.full((n_out,), math.log(leak / (1.0 - leak))))

    # ------------------------------------------------------------------ parameters as used
    @property
    def leak(self) -> torch.Tensor:
        return torch.sigmoid(self.leak_logit)

    def masked_weight(self) -> torch.Tensor:
        return self.weight * self.weight_mask

    def masked_recurrent_weight(self) -> torch.Tensor | None:
        return self.recurrent_weight * self.recurrent_weight_mask if self.recurrent else None

    def prunable(self) -> list[tuple[str, str]]:
        """(parameter name, mask buffer name) pairs of this cell's connections."""
        pairs = [("weight", "weight_mask")]
        if self.recurrent:
            pairs.append(("recurrent_weight", "recurrent_weight_mask"))
        return pairs

    def output(self, s: torch.Tensor) -> torch.Tensor:
        if self.soft:
            return torch.sigmoid(s + self.bias)
        return spike(s + self.bias, self.slope)

    # ------------------------------------------------------------------ dynamics
    def initial_state(self, batch: int, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.zeros(batch, self.n_out, dtype=dtype, device=self.weight.device)
        return z, z.clone()

    def step(self, drive: torch.Tensor, state):
        """One time step from the already projected input ``drive = W x_t`` (batch, n_out)."""
        s_prev, y_prev = state
        reset = 1.0 - (y_prev.detach() if self.detach_reset else y_prev)
        pre = drive + self.leak * s_prev * reset
        if self.recurrent:
            pre = pre + y_prev @ self.masked_recurrent_weight().T
        s = torch.relu(pre)
        y = self.output(s)
        return y, (s, y)

    def forward(self, x: torch.Tensor, state=None):
        """Run a sequence ``x`` (batch, time, n_in) -> ``(y (batch, time, n_out), final state)``.

        The input projection is done for all time steps at once; the loop over time is explicit.
        """
        batch, steps, _ = x.shape
        if state is None:
            state = self.initial_state(batch, x.dtype)
        drive = x @ self.masked_weight().T
        ys = []
        for t in range(steps):
            y, state = self.step(drive[:, t], state)
            ys.append(y)
        return torch.stack(ys, dim=1), state

    def extra_repr(self) -> str:
        return f"{self.n_in}, {self.n_out}, soft={self.soft}, recurrent={self.recurrent}"


# ============================================================================= the VAD models
@dataclass
class ModelOutput:
    """What a VAD model's forward pass returns."""

    prob: torch.Tensor  # (batch, time) speech probability
    spikes: list[torch.Tensor]  # per spiking layer (batch, time, n) 0/1 spikes
    state: list = field(default_factory=list)  # per layer (s, y), to continue a stream


class SpikingVAD(nn.Module):
    """Common machinery: a stack of SNU layers (spiking hidden, soft output unit) over an input code.

    Subclasses define ``encode(feats)`` (features -> network input), ``fit_input(feats)`` and ``config()``.
    """

    kind = "base"

    def __init__(self, n_inputs: int, hidden: tuple[int, ...], *, recurrent: bool, tau: float, slope: float,
                 seed: int, features: dict | None):
        super().__init__()
        # hidden=-1 was "'int' object is not iterable", seed="x" "invalid literal for int() with base 10"
        hidden = as_list(hidden, "hidden", "hidden layer sizes")
        if not all(is_number(h, finite=True) for h in hidden):
            raise ValueError(f"hidden: expected a list of hidden layer sizes, got {short_repr(hidden)}")
        hidden = tuple(int(h) for h in hidden)
        check_seed(seed)
        if not hidden:
            raise ValueError("hidden: expected at least one hidden layer size, got ()")
        for h in hidden:
            check_positive(h, "hidden", integer=True)
        gen = torch.Generator().manual_seed(int(seed))
        sizes = (int(n_inputs), *hidden)
        layers = [SNUCell(a, b, recurrent=recurrent, tau=tau, slope=slope, generator=gen)
                  for a, b in zip(sizes[:-1], sizes[1:])]
        layers.append(SNUCell(sizes[-1], 1, soft=True, tau=tau, bias=0.0, generator=gen))
        self.layers = nn.ModuleList(layers)
        self.hidden, self.recurrent, self.tau, self.slope, self.seed = hidden, bool(recurrent), tau, slope, int(seed)
        self.features = dict(DEFAULT_FEATURES if features is None else features)

    # -- shared
    @property
    def n_mels(self) -> int:
        return int(self.features["n_mels"])

    @property
    def n_features(self) -> int:
        """Input values per frame: the mel bands and, if the features have them, the level, modulation, tonality and
        rhythm inputs."""
        return feature_width(self.features)

    def check_features(self, feats: torch.Tensor) -> None:
        if feats.ndim != 3 or feats.shape[-1] != self.n_features:
            raise ValueError(f"feats: expected (batch, time, {self.n_features}) feature frames (the model's "
                             f"feature width), got shape {tuple(feats.shape)}")

    def forward(self, feats: torch.Tensor, state=None) -> ModelOutput:
        """``feats`` (batch, time, n_features) feature frames -> :class:`ModelOutput`."""
        self.check_features(feats)
        x = self.encode(feats)
        state = [None] * len(self.layers) if state is None else list(state)
        spikes = []
        for i, layer in enumerate(self.layers):
            x, state[i] = layer(x, state[i])
            if not layer.soft:
                spikes.append(x)
        return ModelOutput(prob=x[..., 0], spikes=spikes, state=state)

    def connections(self) -> list[tuple[str, nn.Parameter, torch.Tensor]]:
        """Every prunable weight matrix as (name, parameter, mask)."""
        out = []
        for i, layer in enumerate(self.layers):
            for pname, mname in layer.prunable():
                out.append((f"layers.{i}.{pname}", getattr(layer, pname), getattr(layer, mname)))
        return out

    def n_synapses(self) -> tuple[int, int]:
        """(non-zero connections, all connections) over every weight matrix."""
        kept = sum(int(m.sum().item()) for _, _, m in self.connections())
        total = sum(m.numel() for _, _, m in self.connections())
        return kept, total

    def sparsity(self) -> float:
        kept, total = self.n_synapses()
        return 1.0 - kept / total

    def n_neurons(self) -> int:
        return sum(layer.n_out for layer in self.layers)


def _features(features) -> dict:
    """A model's ``features`` argument as a dict of its own (the defaults for None)."""
    if features is not None and not isinstance(features, dict):  # -1 was "'int' object is not iterable"
        raise ValueError(f"features: expected None or a dict of feature settings, got {short_repr(features)}")
    return dict(DEFAULT_FEATURES if features is None else features)


class SNUVAD(SpikingVAD):
    """SNU network over standardised feature frames: ``n_features -> hidden... (spiking) -> 1 (soft)``.

    ``feature_mean`` / ``feature_std`` standardise the input per band (set from the training set by
    :meth:`fit_input`); they are buffers, so they travel with the saved model.
    """

    kind = "snu"

    def __init__(self, n_mels: int = 40, hidden: tuple[int, ...] = (48,), *, recurrent: bool = False,
                 tau: float = 4.0, slope: float = 5.0, seed: int = 0, features: dict | None = None):
        feats = _features(features)
        feats["n_mels"] = int(check_positive(n_mels, "n_mels", integer=True))
        width = feature_width(feats)
        super().__init__(width, hidden, recurrent=recurrent, tau=tau, slope=slope, seed=seed, features=feats)
        self.register_buffer("feature_mean", torch.zeros(width))
        self.register_buffer("feature_std", torch.ones(width))

    def fit_input(self, feats: np.ndarray) -> "SNUVAD":
        """Set the per-input standardisation from training frames (n_frames, n_features)."""
        x = np.asarray(feats, dtype=np.float64)
        self.feature_mean.copy_(torch.as_tensor(x.mean(axis=0), dtype=torch.float32))
        self.feature_std.copy_(torch.as_tensor(x.std(axis=0) + 1e-3, dtype=torch.float32))
        return self

    def encode(self, feats: torch.Tensor) -> torch.Tensor:
        return (feats - self.feature_mean) / self.feature_std

    def config(self) -> dict:
        return {"kind": self.kind, "n_mels": self.n_mels, "hidden": list(self.hidden), "recurrent": self.recurrent,
                "tau": self.tau, "slope": self.slope, "seed": self.seed, "features": dict(self.features)}


class BinSNNVAD(SpikingVAD):
    """Bin-encoded frames into a two-layer spiking classifier: ``n_features * n_bins -> hidden (spiking) -> 1``.

    The bin edges (a buffer, (n_features, n_bins - 1)) come from training-set quantiles via
    :meth:`fit_input`; encoding is the same as :class:`neuroflow.vad.encoding.BinEncoder`.
    """

    kind = "bin"

    def __init__(self, n_mels: int = 40, n_bins: int = 8, hidden: tuple[int, ...] = (64,), *,
                 recurrent: bool = False, tau: float = 4.0, slope: float = 5.0, seed: int = 0,
                 features: dict | None = None):
        check_positive(n_mels, "n_mels", integer=True)
        check_positive(n_bins, "n_bins", integer=True)
        if n_bins < 2:
            raise ValueError(f"n_bins: expected at least 2, got {n_bins}")
        feats = _features(features)
        feats["n_mels"] = int(n_mels)
        width = feature_width(feats)
        super().__init__(width * n_bins, hidden, recurrent=recurrent, tau=tau, slope=slope, seed=seed,
                         features=feats)
        self.n_bins = int(n_bins)
        init = torch.linspace(-2.0, 2.0, n_bins + 1)[1:-1].repeat(width, 1)
        self.register_buffer("bin_edges", init.contiguous())

    def fit_input(self, feats: np.ndarray) -> "BinSNNVAD":
        """Place the bin edges at the training frames' per-band quantiles."""
        from neuroflow.vad.encoding import BinEncoder

        enc = BinEncoder(self.n_bins).fit(feats)
        self.bin_edges.copy_(torch.as_tensor(enc.edges_))
        return self

    def encoder(self):
        from neuroflow.vad.encoding import BinEncoder

        return BinEncoder.from_edges(self.bin_edges.cpu().numpy())

    def encode(self, feats: torch.Tensor) -> torch.Tensor:
        idx = (feats.unsqueeze(-1) > self.bin_edges).sum(-1)  # (batch, time, n_features)
        onehot = torch.nn.functional.one_hot(idx, self.n_bins).to(feats.dtype)
        return onehot.reshape(*feats.shape[:-1], self.n_features * self.n_bins)

    def config(self) -> dict:
        return {"kind": self.kind, "n_mels": self.n_mels, "n_bins": self.n_bins, "hidden": list(self.hidden),
                "recurrent": self.recurrent, "tau": self.tau, "slope": self.slope, "seed": self.seed,
                "features": dict(self.features)}


def build_model(kind: str = "snu", **kwargs) -> SpikingVAD:
    """``build_model("snu" | "bin", **constructor arguments)``."""
    check_choice(kind, "kind", MODEL_KINDS)
    return (SNUVAD if kind == "snu" else BinSNNVAD)(**kwargs)


def _from_config(config: dict) -> SpikingVAD:
    cfg = dict(config)
    kind = cfg.pop("kind", None)
    check_choice(kind, "model kind", MODEL_KINDS)
    cfg["hidden"] = tuple(cfg["hidden"])
    return build_model(kind, **cfg)


# ============================================================================= files
FORMAT = "neuroflow.spiking-vad/1"


def _saved_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def torch_load_tensors(path: Path):
    """``torch.load`` of tensors and plain types only (nothing in the file can run code), without torch's own
    warnings (a foreign pickle draws one about its protocol before the error that the caller reports in one line)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.load(path, map_location="cpu", weights_only=True)


def atomic_torch_save(obj, path: Path) -> None:
    """``torch.save`` through :func:`~neuroflow._utils.atomic_output`: a crash mid-write never leaves a half file
    under ``path``. OSError naming ``path`` when it cannot be written (torch raises RuntimeError with its C++ trace)."""
    try:
        with atomic_output(path, "wb") as fh:
            torch.save(obj, fh)
    except (RuntimeError, OSError) as exc:
        reason = (str(exc).strip().splitlines() or [""])[0][-120:]
        raise OSError(f"{path}: cannot write ({reason})") from None


def save_model(model: SpikingVAD, path: str | Path, *, threshold: float = 0.5, smoothing: dict | None = None,
               info: dict | None = None) -> Path:
    """Write ``model`` (weights, masks, feature configuration), its decision ``threshold``, post-processing
    ``smoothing`` (``{"median": k, "hangover": h}`` frames, and ``"release"``: a hysteresis threshold, see
    :class:`~neuroflow.vad.postprocess.PostProcessor`) and any JSON-able ``info`` to ``path`` (.pt).

    Weights are stored as float16 where that is exact enough (halves the file); masks as bool.
    """
    if smoothing is not None and not isinstance(smoothing, dict):
        raise TypeError(f"smoothing: expected a dict of median and hangover (frames), got {type(smoothing).__name__}")
    if info is not None and not isinstance(info, dict):
        raise TypeError(f"info: expected a dict, got {type(info).__name__}")
    path = Path(path)
    state = {}
    for k, v in model.state_dict().items():
        state[k] = v.bool() if k.endswith("_mask") else v.detach().clone()
    payload = {"format": FORMAT, "config": model.config(), "state_dict": state,
               "threshold": float(threshold) if is_number(threshold) else threshold,
               "smoothing": {k: int(v) if is_integer(v) else v for k, v in (smoothing or {"median": 1,
                                                                                      "hangover": 0}).items()},
               "info": info or {}}  # a NumPy whole number of frames is one (it was refused as none)
    problem = _payload_problem(payload)  # what load_model would refuse: never write a file no detector can read
    if problem:
        raise ValueError(f"{problem.split()[0]}: {problem}")
    try:
        saved = _saved_bytes({"info": payload["info"]})
    except Exception:  # a save that fails fails below too, and says why there
        saved = None
    if saved is not None:  # info holding what the tensors-only reader refuses (a NumPy scalar, a Path): no load read it
        try:
            torch_load_tensors(io.BytesIO(saved))
        except Exception as exc:
            raise TypeError(f"info: holds values a model file cannot store ({exception_reason(exc)}); expected "
                            f"JSON-able values (plain numbers, strings, lists, dicts)") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_torch_save(payload, path)
    return path


def network_sha256(model: SpikingVAD) -> str:
    """SHA-256 of a network: its configuration and every weight and mask, not the decision rule or the record
    saved beside them (recalibrating a model file keeps its network's digest)."""
    h = hashlib.sha256(json.dumps(model.config(), sort_keys=True, default=str).encode())
    for key, value in sorted(model.state_dict().items()):
        h.update(key.encode())
        h.update(value.detach().cpu().float().contiguous().numpy().tobytes())
    return h.hexdigest()


@dataclass
class LoadedModel:
    """A model read from disk, with everything saved beside it."""

    model: SpikingVAD
    threshold: float
    smoothing: dict
    info: dict
    path: Path

    def to_dict(self) -> dict:
        return {"path": str(self.path), "config": self.model.config(), "threshold": self.threshold,
                "smoothing": self.smoothing, "info": self.info}



def _payload_problem(payload: dict) -> str | None:
    """What in a model file's fields no :func:`save_model` writes (None: nothing)."""
    thr = payload.get("threshold")
    if not (isinstance(thr, (int, float)) and not isinstance(thr, bool) and 0.0 < thr < 1.0):
        return f"threshold {thr!r}, expected a number in (0, 1)"
    smoothing = payload.get("smoothing")
    if not isinstance(smoothing, dict):
        return f"smoothing {smoothing!r}, expected a dict of median and hangover"
    for name, lo in (("median", 1), ("hangover", 0)):
        v = smoothing.get(name, lo)
        if not (isinstance(v, int) and not isinstance(v, bool) and lo <= v <= MAX_SMOOTHING_FRAMES):
            return f"smoothing {name} {v!r}, expected a whole number of frames in [{lo}, {MAX_SMOOTHING_FRAMES}]"
    if release_problem(smoothing.get("release")):
        return f"smoothing release {smoothing['release']!r}, expected a probability in (0, 1]"
    problem = low_snr_problem(smoothing.get("low_snr_db"), smoothing.get("low_snr_hangover"))
    if problem:
        return f"smoothing {problem}"
    for name in ("config", "state_dict", "info"):
        if not isinstance(payload.get(name, {}), dict):
            return f"{name} is a {type(payload.get(name)).__name__}, expected a dict"
    info = payload.get("info", {})
    for name in ("recipe", "val", "dense_val", "rates", "calibration"):  # what vad info and calibrate read
        if info.get(name) is not None and not isinstance(info[name], dict):
            return f"info {name} is a {type(info[name]).__name__}, expected a dict"
    return None


def _config_problem(config: dict) -> str | None:
    """What in a model file's configuration no training run writes: the settings a recipe also has, checked as a
    recipe checks them (:func:`neuroflow.vad.recipe.setting_problem`: sizes and windows past :data:`RANGES` would
    build networks or feature buffers of gigabytes, or none at all), and the FFT size (None: nothing)."""
    from neuroflow.vad.features import WIN
    from neuroflow.vad.modulation import check_window
    from neuroflow.vad.tonality import check_window as check_tonality_window

    for name in ("hidden", "n_mels", "n_bins", "tau", "slope"):
        if name in config or name == "hidden":
            value = config.get(name)
            problem = setting_problem(name, list(value) if isinstance(value, tuple) else value)
            if problem:
                return f"config {name}: {problem}"
    features = config.get("features")
    if not isinstance(features, dict):
        return f"config features is a {type(features).__name__}, expected a dict"
    for name, check in (("n_mels", None), ("floor_window", None), ("modulation_window", check_window),
                        ("tonality_window", check_tonality_window)):
        if name in features:
            problem = setting_problem(name, features[name])
            if problem is None and check is not None:
                try:
                    check(features[name])
                except ValueError as exc:
                    problem = str(exc).split(": ", 1)[-1]
            if problem:
                return f"config features {name}: {problem}"
    n_fft = features.get("n_fft", WIN)
    if not (is_integer(n_fft) and WIN <= n_fft <= MAX_N_FFT):
        return f"config features n_fft: expected a whole number of samples in [{WIN}, {MAX_N_FFT}], got {n_fft!r:.40}"
    from neuroflow.vad.frontend import FeatureExtractor

    try:  # the rest as the detector reads them (a switch "false", a NaN alpha: once read silently or at detection)
        FeatureExtractor(features)
    except KeyError as exc:
        return f"config features: no {exc}"
    except (TypeError, ValueError) as exc:
        return f"config features {exc}"
    return None


def _dtype_problem(state: dict) -> str | None:
    """Weights of a type no training run writes (None: every weight float16, float32 or float64), checked before they
    are loaded: complex bin edges stopped detection with a NotImplementedError (and torch warned while copying them),
    integer or bfloat16 weights were read rounded."""
    def kind(v):
        dtype = getattr(v, "dtype", None)
        return str(dtype).replace("torch.", "") if isinstance(dtype, torch.dtype) else type(v).__name__

    not_float = [f"{k} ({kind(v)})" for k, v in state.items()
                 if getattr(v, "dtype", None) not in (torch.float16, torch.float32, torch.float64)
                 and not k.endswith("_mask")]
    if not_float:
        return f"state_dict {', '.join(not_float[:3])}: expected float16, float32 or float64 weights"
    return None


def _state_problem(state: dict) -> str | None:
    """What in a model file's weights (loaded into a model: the names and shapes fit) no training run writes (None:
    nothing): every weight of a float type (:func:`_dtype_problem`), every value finite, every mask 0 or 1, the input
    scales positive and the bin edges of each input in increasing order."""
    problem = _dtype_problem(state)
    if problem:
        return problem
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        return f"NaN or infinite values in {', '.join(bad[:3])}"
    masks = [k for k, v in state.items() if k.endswith("_mask") and not bool(((v == 0) | (v == 1)).all())]
    if masks:
        return f"state_dict {', '.join(masks[:3])} holds values other than 0 and 1 (a pruning mask)"
    std = state.get("feature_std")
    if std is not None and not bool((std > 0).all()):
        return (f"state_dict feature_std holds {int((std <= 0).sum())} values <= 0 (min {float(std.min()):.3g}), "
                f"expected positive input scales")
    edges = state.get("bin_edges")
    if edges is not None and edges.ndim == 2 and bool((torch.diff(edges, dim=1) < 0).any()):
        return "state_dict bin_edges are not in increasing order along each input"
    return None


def load_model(path: str | Path) -> LoadedModel:
    """Read a file written by :func:`save_model`; clear errors for a missing or foreign file."""
    path = expanded(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        payload = torch_load_tensors(path)
    except Exception as exc:  # torch's own message runs to paragraphs
        raise ValueError(f"{path}: not a readable neuroflow spiking-VAD model ({exception_reason(exc)})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path}: not a neuroflow spiking-VAD model (expected format {FORMAT!r})")
    problem = (_payload_problem(payload) or _config_problem(payload.get("config", {}))
               or _dtype_problem(payload.get("state_dict", {})))
    if problem:
        raise ValueError(f"{path}: damaged spiking-VAD model ({problem})")
    try:
        model = _from_config(payload["config"])
        state = {k: (v.float() if k.endswith("_mask") else v) for k, v in payload["state_dict"].items()}
        model.load_state_dict(state)
    except (KeyError, TypeError, AttributeError, RuntimeError, ValueError) as exc:
        raise ValueError(f"{path}: the stored weights do not fit the stored configuration "
                         f"({exception_reason(exc)})") from None
    problem = _state_problem(state)
    if problem:
        raise ValueError(f"{path}: damaged spiking-VAD model ({problem})")
    model.eval()
    return LoadedModel(model=model, threshold=float(payload["threshold"]), smoothing=dict(payload["smoothing"]),
                       info=dict(payload.get("info", {})), path=path)
