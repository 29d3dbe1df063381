"""The Expand-and-Cluster estimator: recover a network's layer sizes and weights from input-output probes.

(i) train ``n_students`` over-parameterised students (width = ``expansion`` x a width guess) to
near-zero loss; (ii) canonicalise their neurons' incoming vectors (:mod:`.symmetry`) and cluster them
(:mod:`.clustering`): vectors shared by at least ``gamma * n_students`` students, with a median spread
below ``beta``, are the target's neurons (``beta="auto"``, the default, reads the cut off a clear gap in
the clusters' spreads, checked by least squares, else pi/6); (iii) fit the output weights by least squares,
fine-tune the reduced network to zero loss with :func:`neuroflow.train`, and polish a small one with
Newton to machine precision (the teacher is an exact zero of the reduced net). Deep networks go layer by layer with the
same students: once a layer is clustered, it replaces that layer in every student (the next layer's
weights re-expressed by least squares over the reconstructed units), is held fixed, the layers above are
retrained (the fixed-parameter objective), and the next layer is clustered.

With imperfectly trained students the clustering rule alone often keeps a few spurious clusters (in
the 150-problem suite about half the problems, see the benchmark). With ``prune=True`` (default) the
reconstruction therefore (a) drops, by backward elimination, the clusters that least squares does not
need to express the target (or, for an inner layer, the students' next-layer pre-activations), (b)
after fine-tuning to zero loss, removes any remaining neuron whose removal keeps the loss at zero.
``cluster_sizes_`` keeps what the clustering rule found on its own.
"""
from __future__ import annotations

import math
import time
import warnings

import numpy as np

from neuroflow._utils import as_rng, check_array, check_choice, check_positive, progress
from neuroflow.identify.clustering import (AUTO_FALLBACK, CLUSTERERS, ClusterResult, check_beta, cluster_neurons,
                                           min_students)
from neuroflow.identify.objectives import SkipObjective
from neuroflow.identify.report import IdentificationReport, LayerReport, compare_layer, relative_mse
from neuroflow.identify.students import ENGINES, StudentFit, train_students
from neuroflow.identify.symmetry import canonicalize, is_scale_free, needs_skip, symmetry_class
from neuroflow.identify.teacher import Teacher, check_activation

#: default options for neuroflow.train when training students (small budgets: many students)
STUDENT_TRAIN_OPTIONS = {"maxtime_ode": 6.0, "maxtime_optim": 12.0, "progress": False}
#: default options for the final fine-tuning of the reduced network
FINETUNE_OPTIONS = {"maxtime_ode": 5.0, "maxtime_optim": 30.0, "progress": False}
#: the last step for a reduced network that fine-tuned to (near) zero loss: trust-region Newton with the
#: exact Hessian and no gradient-norm stop (the engine's default ``min_gnorm`` 1e-10 is absolute: on a flat,
#: near-linear problem it ends a fine-tune at relative loss ~1e-11, degrees away from the zero-loss point),
#: until the relative loss is at rounding level (``POLISH_REL_LOSS``); if Newton runs out of time or stalls
#: (very ill-conditioned Hessians take it through long flat valleys), BFGS continues from there. The
#: teacher is an exact zero of the reduced net, so this ends at it; it runs when the net has at most
#: ``POLISH_MAX_PARAMS`` parameters (a dense Hessian) and its relative loss is <= ``POLISH_MAX_REL_LOSS``.
POLISH_OPTIONS = {"method_ode": "none", "method_optim": "newton", "min_gnorm": 0.0, "maxtime_optim": 8.0,
                  "maxiterations_optim": 10**6, "progress": False}
POLISH_FALLBACK = {**POLISH_OPTIONS, "method_optim": "bfgs"}
POLISH_REL_LOSS = 1e-28
POLISH_MAX_PARAMS = 1000
POLISH_MAX_REL_LOSS = 1e-6
#: beta="auto": a cut at a gap is kept only if the kept clusters express the layer's targets by least squares
#: about as well as kept plus dropped, or as the students (relative residual within this factor of the lower
#: of the two), or to ``loss_tol`` (what a student must reach to count as trained)
AUTO_LS_FACTOR = 10.0
#: designed probes for a deep net's later layers (``layer_probes``): each unit of the reconstructed first
#: layer is "on" with this probability, its pre-activation uniform in ``DESIGN_ON``, else held at ``DESIGN_OFF``
#: (g, softplus, relu, sigmoid: silent; tanh, erf: saturated). Under Gaussian probes the first layer's units are
#: all partly active at once, so a second-layer unit with mostly positive weights and a positive bias never
#: leaves its near-linear range; sparse first-layer activity drives it through its nonlinear range.
DESIGN_P_ON = 0.25
DESIGN_ON = (0.0, 8.0)
DESIGN_OFF = -6.0
#: options of the torch engine (large or deep students)
TORCH_OPTIONS = {"adam_steps": 40000, "batch_size": 128, "lr": 3e-3, "lr_end": 3e-4, "max_iter": 1000,
                 "maxtime": 20.0, "threads": 1}


class ExpandAndCluster:
    """Identify a fully connected network (hidden activation ``activation``, linear output) from probes.

    Parameters follow scikit-learn: settings here, learning in :meth:`fit` / :meth:`fit_teacher`, learned
    attributes end in ``_``.

    n_students, expansion: how many students, and their width as a multiple of ``hidden_sizes``
        (a guess of the target's widths; one int or one per hidden layer; default: the input dimension).
    gamma: a neuron must be found in at least ``ceil(gamma * n_students)`` distinct students (>= 2).
    beta: clusters whose median member-to-centre angle exceeds ``beta`` (radians) are dropped; "auto"
        (default) puts the cut in the largest clear gap of the clusters' spreads on a log scale, between
        the tight shared-neuron clusters and loose leftover groups, or at pi/6 (the paper's value) when
        there is no clear gap (:func:`~neuroflow.identify.clustering.auto_beta`).
    clusterer: "hierarchical" (SciPy average linkage, best cut) or "hdbscan".
    train_options: options for :func:`neuroflow.train` on the students (merged into
        :data:`STUDENT_TRAIN_OPTIONS`); ``finetune_options`` likewise for the reduced network.
    engine: "flow" (neuroflow.train), "torch" (minibatch Adam, then full-batch L-BFGS, options
        ``torch_options`` merged into :data:`TORCH_OPTIONS`; then ``train`` polishing if ``train_options``
        are given) or "auto" (torch for students above 3000 parameters). ``torch_options`` may also be a
        list with one dict per hidden layer: the students of a deep net's later stages train only the
        layers above the frozen ones, a smaller problem that can afford a longer run.
    n_jobs: students trained in parallel through joblib. backend: MLP kernels backend.
    loss_tol: students whose loss relative to the target's variance exceeds this are reported.
    prune_tol: student neurons whose outgoing weight is below ``prune_tol`` x the student's largest are
        ignored (they do not contribute to the function).
    finetune: fine-tune the reduced network with :func:`neuroflow.train` (options ``finetune_options``).
    polish: then, if the reduced net is small (<= :data:`POLISH_MAX_PARAMS` parameters) and at near-zero
        loss, run Newton to machine precision (:data:`POLISH_OPTIONS`): weakly identifiable (near-linear)
        problems otherwise stop degrees away from the zero-loss point at a relative loss of ~1e-11.
    prune: after fine-tuning to zero loss, greedily remove neurons (least contribution first) whose
        removal keeps the relative loss below ``prune_tol_rel`` after a short re-fine-tune.
    layer_probes: deep nets with query access to the target (``fit(..., query=f)`` or :meth:`fit_teacher`):
        the share of the probes replaced, from the second hidden layer on, by probes designed from the
        reconstructed first layer (:func:`designed_probes`: sparse first-layer activity) and answered by
        the target; 0 keeps the original probes throughout. Default 0.5. The students of those later
        stages then start from random upper layers instead of the first students' (fitted to other probes).
    checkpoint: a folder; each layer's trained students are saved there as soon as they are done, and
        a later fit with the same data, settings and starting points loads them instead of retraining
        (an interrupted long run resumes at the layer it was on).

    Learned: ``layer_sizes_``, ``net_`` (a :class:`neuroflow.MLP`), ``theta_``, ``skip_`` (d_out, d_in)
    linear skip path or None, ``target_var_`` (per layer, the variance of the outputs its students were
    trained on: relative losses divide by it), ``designed_probes_`` (how many probes were designed),
    ``polish_`` (the Newton polish's TrainResult, or None), ``students_`` (per layer, list of
    :class:`StudentFit`), ``clusters_`` (per layer, :class:`ClusterResult`), ``finetune_`` (the
    TrainResult), ``failed_students_``, ``time_s_``.
    """

    def __init__(self, n_students=10, expansion=4, gamma=0.5, beta="auto", clusterer="hierarchical",
                 train_options=None, n_jobs=1, backend="auto", random_state=None, *, activation="tanh",
                 hidden_sizes=None, engine="auto", finetune_options=None, torch_options=None,
                 finetune=True, polish=True, prune=True, loss_tol=1e-6, prune_tol=1e-3, prune_tol_rel=1e-10,
                 progress=False, checkpoint=None, layer_probes=0.5):
        self.n_students = n_students
        self.expansion = expansion
        self.gamma = gamma
        self.beta = beta
        self.clusterer = clusterer
        self.train_options = train_options
        self.n_jobs = n_jobs
        self.backend = backend
        self.random_state = random_state
        self.activation = activation
        self.hidden_sizes = hidden_sizes
        self.engine = engine
        self.finetune_options = finetune_options
        self.torch_options = torch_options
        self.finetune = finetune
        self.polish = polish
        self.prune = prune
        self.prune_tol_rel = prune_tol_rel
        self.loss_tol = loss_tol
        self.prune_tol = prune_tol
        self.progress = progress
        self.checkpoint = checkpoint
        self.layer_probes = layer_probes

    # ------------------------------------------------------------------ validation
    def _check_params(self, input_dim: int) -> list[int]:
        check_positive(self.n_students, "n_students", integer=True)
        check_positive(self.expansion, "expansion")
        if self.expansion < 1:
            raise ValueError(f"expansion: expected a number >= 1 (students at least as wide as the guess), "
                             f"got {self.expansion!r}")
        check_positive(self.gamma, "gamma")
        if self.gamma > 1:
            raise ValueError(f"gamma: expected a fraction in (0, 1], got {self.gamma!r}")
        min_students(self.gamma, self.n_students)
        check_beta(self.beta)
        lp = self.layer_probes
        if isinstance(lp, bool) or not isinstance(lp, (int, float, np.integer, np.floating)) or not 0 <= lp < 1:
            raise ValueError(f"layer_probes: expected a fraction in [0, 1) of the probes to redesign for a deep "
                             f"net's later layers, got {lp!r}")
        check_choice(self.clusterer, "clusterer", CLUSTERERS)
        check_choice(self.engine, "engine", ENGINES)
        check_activation(self.activation, "activation")
        symmetry_class(self.activation)
        if not (isinstance(self.n_jobs, (int, np.integer)) and (self.n_jobs >= 1 or self.n_jobs == -1)):
            raise ValueError(f"n_jobs: expected a positive integer or -1 (all cores), got {self.n_jobs!r}")
        guess = self.hidden_sizes
        if guess is None:
            guess = [input_dim]
        elif isinstance(guess, (int, np.integer)):
            guess = [int(guess)]
        guess = [int(check_positive(g, "hidden_sizes", integer=True)) for g in guess]
        if not guess:
            raise ValueError("hidden_sizes: expected at least one hidden layer, got []")
        return guess

    def _torch_options(self, n_layers: int) -> list[dict]:
        """``torch_options`` as one merged dict per hidden layer."""
        opts = self.torch_options
        if opts is None or isinstance(opts, dict):
            return [{**TORCH_OPTIONS, **(opts or {})}] * n_layers
        if isinstance(opts, (list, tuple)) and len(opts) == n_layers and all(isinstance(o, dict) for o in opts):
            return [{**TORCH_OPTIONS, **o} for o in opts]
        raise ValueError(f"torch_options: expected None, a dict, or a list of {n_layers} dicts (one per hidden "
                         f"layer), got {opts!r}")

    @staticmethod
    def _check_data(X, Y):
        X = check_array(X, "X", ndim=2)
        Y = check_array(Y, "Y")
        if Y.ndim == 1:
            Y = Y[:, None]
        if Y.ndim != 2 or Y.shape[0] != X.shape[0]:
            raise ValueError(f"Y: expected {X.shape[0]} rows (one per probe in X), got shape {Y.shape}")
        return X, Y

    # ------------------------------------------------------------------ fitting
    def fit_teacher(self, f, input_dim: int, n_samples: int, *, probe_scale: float = 1.0):
        """Draw ``n_samples`` Gaussian probes N(0, probe_scale^2 I) in ``input_dim`` dimensions, query
        ``f`` (a callable X -> Y, e.g. a :class:`Teacher`) and :meth:`fit` on them (with ``query=f``: a
        deep net's later layers also see designed probes, see ``layer_probes``)."""
        check_positive(input_dim, "input_dim", integer=True)
        check_positive(n_samples, "n_samples", integer=True)
        check_positive(probe_scale, "probe_scale")
        if not callable(f):
            raise ValueError(f"f: expected a callable X -> Y, got {type(f).__name__}")
        rng = as_rng(self.random_state)
        X = probe_scale * rng.standard_normal((int(n_samples), int(input_dim)))
        Y = np.asarray(f(X), dtype=float)
        if not np.all(np.isfinite(Y)):
            raise ValueError("f: the target returned NaN/inf outputs on the Gaussian probes")
        return self.fit(X, Y, query=f)

    def fit(self, X, Y, *, query=None):
        """Identify the network that maps probes X (N, d_in) to outputs Y (N, d_out).

        query: optionally the target itself (a callable X -> Y). A deep net's students from the second
        hidden layer on then train on a share ``layer_probes`` of designed probes instead of the same
        share of X (the rest of X is kept); the reduced net is fine-tuned on that mix too."""
        from neuroflow.backend import resolve_backend
        from neuroflow.mlp import MLP

        t0 = time.perf_counter()
        X, Y = self._check_data(X, Y)
        guess = self._check_params(X.shape[1])
        if query is not None and not callable(query):
            raise ValueError(f"query: expected None or a callable X -> Y (the target), got {type(query).__name__}")
        backend = resolve_backend(self.backend)
        act = self.activation
        rng = as_rng(self.random_state)
        deep = len(guess) > 1
        # even+linear units in a deep net would need a skip path around every layer: keep their signs
        sign = None if not (deep and needs_skip(act)) else False
        y_var = float(np.mean(np.sum((Y - Y.mean(axis=0)) ** 2, axis=1)))
        # students stop once their loss is negligible against the target's variance
        train_opts = {**STUDENT_TRAIN_OPTIONS, "min_loss": 1e-14 * y_var, **(self.train_options or {})}
        torch_per_layer = self._torch_options(len(guess))

        H = X
        self.students_, self.clusters_, self.failed_students_ = [], [], []
        self.timings_ = {"students_s": 0.0, "finetune_s": 0.0, "prune_s": 0.0, "polish_s": 0.0}
        self.target_var_ = []
        self.pruned_ = []
        self.designed_probes_ = 0
        incoming: list[np.ndarray] = []
        widths = [max(1, int(math.ceil(self.expansion * g))) for g in guess]
        starts = None
        for layer in progress(range(len(guess)), enabled=self.progress and deep, desc="layers"):
            # the same students at every layer: layers below ``layer`` are the reconstructed ones (frozen),
            # the layers from ``layer`` up keep the student's own (expanded) widths and are trained
            sizes = [c.shape[0] for c in incoming] + widths[layer:]
            layers = [(w, act, True) for w in sizes] + [(Y.shape[1], "identity", True)]
            net = MLP(X.shape[1], layers, backend=backend)
            seeds = rng.integers(0, 2**31 - 1, size=self.n_students)
            t_students = time.perf_counter()
            if starts == "fresh":  # new probes: the reconstructed layers below, random layers above
                starts = [[c.copy() for c in incoming] + net.unpack(net.init_params(seed=int(s)))[layer:] for s in seeds]
            theta0s = None if starts is None else [net.pack(m) for m in starts]
            torch_opts = torch_per_layer[layer]
            key = _checkpoint_key(X, Y, layers, seeds, theta0s, self.engine, train_opts, torch_opts, self.train_options)
            fits = _load_checkpoint(self.checkpoint, layer, key)
            if fits is None:
                fits = train_students(X.shape[1], layers, X, Y, seeds, engine=self.engine, train_options=train_opts,
                                      torch_options=torch_opts, n_jobs=self.n_jobs, backend=backend,
                                      progress=self.progress, theta0s=theta0s, frozen_layers=layer,
                                      polish_options=self.train_options)
                _save_checkpoint(self.checkpoint, layer, key, fits)
            self.timings_["students_s"] += time.perf_counter() - t_students
            self.students_.append(fits)
            self.target_var_.append(y_var)
            self._flag_failed(fits, y_var, layer)
            u, ids = self._collect_neurons(net, fits, H, sign, layer)
            result = cluster_neurons(u, ids, self.n_students, act, gamma=self.gamma, beta=self.beta,
                                     method=self.clusterer, sign=sign)
            if result.beta_rule == "gap":
                last = layer == len(guess) - 1
                # last hidden layer: the targets are Y, which the students themselves fit to this level
                level = float(np.median([f.loss for f in fits])) / max(y_var, 1e-300) if last else math.inf
                result = self._check_gap(result, u, ids, sign, H, X if (last and not deep and needs_skip(act)) else None,
                                         Y if last else np.hstack([self._next_preactivations(net, f, H, layer)
                                                                   for f in fits]), level)
            self.clusters_.append(result)
            if result.size == 0:
                raise RuntimeError(
                    f"layer {layer}: no neuron was shared by {result.min_students} of {self.n_students} students "
                    f"(student losses relative to the target variance: "
                    f"{[float(f'{s.loss / max(y_var, 1e-300):.2e}') for s in fits]}); "
                    f"try more probes, more students, a lower gamma or longer training"
                )
            centres = result.centres
            if self.prune and layer < len(guess) - 1:
                centres = self._eliminate_inner(centres, net, fits, H, layer)
            incoming.append(centres)
            H_next = _layer_forward(H, centres, act)
            if layer < len(guess) - 1:
                starts = self._restart_students(net, fits, H, H_next, layer, incoming)
            H = H_next
            if layer == 0 and deep and query is not None and self.layer_probes > 0:
                X, Y = self._with_designed_probes(X, Y, query, incoming[0], rng)
                H = _layer_forward(X, incoming[0], act)
                y_var = float(np.mean(np.sum((Y - Y.mean(axis=0)) ** 2, axis=1)))
                # the first students' upper layers fit the Gaussian probes only, where near-linear units have
                # many stand-ins: warm-started from them, the next students keep those stand-ins (measured on
                # the digits teacher: 15 of its 20 second-layer neurons found, against 18 from fresh starts)
                starts = "fresh" if self.designed_probes_ else starts

        skip = (not deep) and needs_skip(act)
        out = _least_squares_output(H, X if skip else None, Y)
        mats, S = incoming + [out["matrix"]], out["skip"]
        self.cluster_sizes_ = [c.size for c in self.clusters_]
        self.finetune_ = None
        self.polish_ = None
        if self.finetune:
            mats, S = self._reconstruct(mats, S, H, X, Y, y_var, backend)
        self.layer_sizes_ = [int(m.shape[0]) for m in mats[:-1]]
        self.net_ = self._net(X.shape[1], mats, backend)
        self.theta_ = self.net_.pack(mats)
        self.skip_ = None if S is None else np.asarray(S, dtype=float)
        self.input_dim_, self.output_dim_ = X.shape[1], Y.shape[1]
        self.train_rel_mse_ = relative_mse(Y, self.predict(X))
        self.time_s_ = time.perf_counter() - t0
        return self

    def _with_designed_probes(self, X, Y, query, first, rng):
        """Replace the last ``layer_probes`` share of the probes by designed ones, answered by ``query``."""
        X, n_new = mix_designed_probes(X, first, self.layer_probes, rng)
        if n_new == 0:
            return X, Y
        Yd = np.asarray(query(X[-n_new:]), dtype=float).reshape(n_new, -1)
        finite = bool(np.all(np.isfinite(Yd)))
        if Yd.shape[1] != Y.shape[1] or not finite:
            raise ValueError(f"query: expected finite outputs of shape ({n_new}, {Y.shape[1]}) on the designed "
                             f"probes, got shape {Yd.shape}" + ("" if finite else " with NaN/inf"))
        self.designed_probes_ = n_new
        return X, np.vstack([Y[:-n_new], Yd])

    # ------------------------------------------------------------------ reconstruction
    def _net(self, input_dim, mats, backend):
        from neuroflow.mlp import MLP

        layers = [(int(m.shape[0]), self.activation, True) for m in mats[:-1]]
        return MLP(input_dim, layers + [(int(mats[-1].shape[0]), "identity", True)], backend=backend)

    def _finetune(self, mats, S, X, Y, opts, backend):
        """Train the reduced network (and its skip path) to zero loss; returns (mats, S, TrainResult)."""
        from neuroflow.identify.students import flow_train

        train = flow_train()
        net = self._net(X.shape[1], mats, backend)
        theta = net.pack(mats)
        if S is not None:
            obj = SkipObjective(net, X, Y)
            res = train(obj, np.concatenate([theta, S.ravel()]), **opts)
            theta, S = obj.split(res.x)
        else:
            res = train(net, theta, X, Y, **opts)
            theta = res.x
        return net.unpack(theta), S, res

    def _check_gap(self, result, u, ids, sign, H, X_skip, targets, level=math.inf) -> ClusterResult:
        """An automatic cut (beta="auto", rule "gap") is meant to drop leftover groups, which the function
        does not need. Check it by least squares on the layer's targets (the probes' outputs for the last
        hidden layer, else the students' next-layer pre-activations): the kept clusters' relative residual
        must stay within ``AUTO_LS_FACTOR`` x the reference, or below ``loss_tol``. The reference is
        the residual with the dropped clusters (up to pi/6) added back, or ``level`` (the students' own
        relative loss on the targets) if lower: loose clusters that merge two target neurons express the
        targets poorly too, yet the students show that the function is there. Otherwise the loose side
        carries part of the function, the cut is rejected and pi/6 applies (rule "gap rejected")."""
        loose = [i for i, d in enumerate(result.dropped_by_beta) if d["median_angle_deg"] <= np.degrees(AUTO_FALLBACK)]
        if not loose:
            return result
        act = self.activation
        kept = _ls_rel_residual(_layer_forward(H, result.centres, act), X_skip, targets)
        full = _ls_rel_residual(_layer_forward(H, np.vstack([result.centres, result.dropped_centres[loose]]), act),
                                X_skip, targets)
        ok = kept <= max(AUTO_LS_FACTOR * min(full, level), self.loss_tol)
        check = {"rel_residual_kept": kept, "rel_residual_with_dropped": full,
                 "students_rel_loss": None if math.isinf(level) else level, "accepted": bool(ok)}
        if not ok:
            result = cluster_neurons(u, ids, self.n_students, act, gamma=self.gamma, beta=AUTO_FALLBACK,
                                     method=self.clusterer, sign=sign)
            result.beta_rule = "gap rejected"
        result.gap_check = check
        return result

    def _next_preactivations(self, net, fit, H, layer) -> np.ndarray:
        """A student's pre-activations of layer ``layer + 1`` on the probes (``H``: input of ``layer``)."""
        mats = net.unpack(fit.theta)
        h = _layer_forward(H, mats[layer], self.activation)
        return h @ mats[layer + 1][:, :-1].T + mats[layer + 1][:, -1]

    def _eliminate_inner(self, centres, net, fits, H, layer):
        """Inner layer of a deep net: keep the clustered neurons that least squares needs to express every
        student's next-layer pre-activations (the students' own functions of this layer)."""
        feats = _layer_forward(H, centres, self.activation)
        targets = np.hstack([self._next_preactivations(net, f, H, layer) for f in fits])
        keep = _backward_elimination(feats, None, targets)
        for _ in range(centres.shape[0] - len(keep)):
            self.pruned_.append({"layer": layer, "by": "least squares (students' next layer)"})
        return centres[keep]

    def _restart_students(self, net, fits, H, H_next, layer, incoming) -> list[list[np.ndarray]]:
        """Each student with its layer ``layer`` replaced by the reconstructed one (``incoming``, fixed
        from now on): the next layer's weights become the least-squares map from the reconstructed units
        to the student's own next-layer pre-activations; the layers above stay the student's."""
        F = np.hstack([H_next, np.ones((H_next.shape[0], 1))])
        starts = []
        for f in fits:
            coef, *_ = np.linalg.lstsq(F, self._next_preactivations(net, f, H, layer), rcond=None)
            mats = net.unpack(f.theta)
            starts.append([c.copy() for c in incoming] + [coef.T] + mats[layer + 2:])
        return starts

    def _reconstruct(self, mats, S, H, X, Y, y_var, backend):
        """Fine-tune the reduced network; with ``prune``, first try the subset of last-layer clusters that
        least squares says is enough (backward elimination), then remove leftovers one by one."""
        user = self.finetune_options or {}
        final = {**FINETUNE_OPTIONS, "min_loss": 1e-20 * y_var, **user}
        t1 = time.perf_counter()
        if not self.prune:
            mats, S, self.finetune_ = self._finetune(mats, S, X, Y, final, backend)
            self.timings_["finetune_s"] = time.perf_counter() - t1
            return self._polish(mats, S, X, Y, y_var, backend)
        enough = 1e-3 * self.prune_tol_rel * y_var  # low enough to judge a removal
        keep = _backward_elimination(H, X if S is not None else None, Y)
        done = False
        if len(keep) < H.shape[1]:
            cand = [m.copy() for m in mats[:-1]]
            cand[-1] = cand[-1][keep]
            out = _least_squares_output(H[:, keep], X if S is not None else None, Y)
            cand, cand_S, res = self._finetune(cand + [out["matrix"]], out["skip"], X, Y,
                                               {**FINETUNE_OPTIONS, **user, "maxtime_ode": 2.0, "maxtime_optim": 10.0,
                                                "min_loss": enough}, backend)
            accept = res.loss <= self.prune_tol_rel * y_var
            if not accept and len(mats) > 2:
                # deep nets rarely reach zero loss here: keep the subset if it does about as well as all
                full = self._finetune(mats, S, X, Y, {**FINETUNE_OPTIONS, **user, "maxtime_ode": 2.0,
                                                      "maxtime_optim": 10.0, "min_loss": enough}, backend)
                accept = res.loss <= 10.0 * full[2].loss
                if not accept:
                    mats, S, self.finetune_, done = (*full, True)
            if accept:
                self.pruned_.extend({"layer": len(mats) - 2, "by": "least squares"} for _ in range(H.shape[1] - len(keep)))
                mats, S, self.finetune_, done = cand, cand_S, res, True
        if not done:
            mats, S, self.finetune_ = self._finetune(mats, S, X, Y, {**FINETUNE_OPTIONS, **user, "min_loss": enough},
                                                     backend)
        t2 = time.perf_counter()
        self.timings_["finetune_s"] = t2 - t1
        if self.finetune_.loss <= self.prune_tol_rel * y_var:
            mats, S = self._prune(mats, S, X, Y, y_var, backend)
        mats, S, self.finetune_ = self._finetune(mats, S, X, Y, final, backend)
        self.timings_["prune_s"] = time.perf_counter() - t2
        return self._polish(mats, S, X, Y, y_var, backend)

    def _polish(self, mats, S, X, Y, y_var, backend):
        """Newton (then BFGS if needed) to machine precision when the fine-tuned reduced net is small and at
        near-zero loss (see :data:`POLISH_OPTIONS`); kept only if it lowers the loss. ``polish_`` holds the
        last polishing run's TrainResult (or None)."""
        self.polish_ = None
        n_params = sum(m.size for m in mats) + (0 if S is None else S.size)
        best = self.finetune_
        if not self.polish or best is None or n_params > POLISH_MAX_PARAMS or not (best.loss <= POLISH_MAX_REL_LOSS * y_var):
            return mats, S
        t = time.perf_counter()
        target = POLISH_REL_LOSS * y_var
        for opts in (POLISH_OPTIONS, POLISH_FALLBACK):
            cand, cand_S, res = self._finetune(mats, S, X, Y, {**opts, "min_loss": target}, backend)
            self.polish_ = res
            if res.loss < best.loss:
                mats, S, best = cand, cand_S, res
            if best.loss <= target:
                break
        self.finetune_ = best
        self.timings_["polish_s"] = time.perf_counter() - t
        return mats, S

    def _prune(self, mats, S, X, Y, y_var, backend):
        """Greedy clean-up after fine-tuning: remove the least-contributing neurons one at a time while
        the re-fine-tuned loss stays at zero (relative loss <= prune_tol_rel). Stops a layer after two
        failed removals. Records what it removed in ``pruned_``."""
        opts = {**FINETUNE_OPTIONS, "maxtime_ode": 2.0, "maxtime_optim": 6.0, **(self.finetune_options or {}),
                "min_loss": 1e-3 * self.prune_tol_rel * y_var}
        for layer in range(len(mats) - 1):
            failures = 0
            while failures < 2 and mats[layer].shape[0] > 1:
                hidden = _hidden_activations(X, mats, self.activation)
                h = hidden[layer]
                contribution = np.linalg.norm(mats[layer + 1][:, :-1], axis=0) * h.std(axis=0)
                j = int(np.argsort(contribution)[failures])
                cand = [m.copy() for m in mats]
                cand[layer + 1][:, -1] += cand[layer + 1][:, j] * h[:, j].mean()
                cand[layer + 1] = np.delete(cand[layer + 1], j, axis=1)
                cand[layer] = np.delete(cand[layer], j, axis=0)
                cand_S = S
                if layer == len(mats) - 2:  # last hidden layer: refit the output layer exactly
                    hl = np.delete(h, j, axis=1)
                    out = _least_squares_output(hl, X if S is not None else None, Y)
                    cand[-1], cand_S = out["matrix"], out["skip"]
                cand, cand_S, res = self._finetune(cand, cand_S, X, Y, opts, backend)
                if res.loss <= self.prune_tol_rel * y_var:
                    self.pruned_.append({"layer": layer, "contribution": float(contribution[j]),
                                         "loss_after": float(res.loss)})
                    mats, S, failures = cand, cand_S, 0
                else:
                    failures += 1
        return mats, S

    def _flag_failed(self, fits: list[StudentFit], y_var: float, layer: int) -> None:
        rel = [f.loss / max(y_var, 1e-300) for f in fits]
        bad = [(f.index, r) for f, r in zip(fits, rel) if not (r <= self.loss_tol)]
        self.failed_students_.append([i for i, _ in bad])
        if bad:
            desc = ", ".join(f"#{i} ({r:.1e})" for i, r in bad)
            warnings.warn(
                f"layer {layer}: {len(bad)} of {len(fits)} students did not reach low loss (relative loss above "
                f"loss_tol={self.loss_tol:g}): {desc}; their neurons are still clustered, but recovery may "
                f"suffer (train longer via train_options, or add probes)",
                RuntimeWarning, stacklevel=3,
            )

    def _collect_neurons(self, net, fits, H, sign, layer=0):
        """Canonical incoming vectors of every student's hidden layer ``layer`` (``H``: that layer's input),
        and which student each is from."""
        act = self.activation
        vecs, ids = [], []
        for f in fits:
            mats = net.unpack(f.theta)
            u = mats[layer]
            a = mats[layer + 1][:, : u.shape[0]].T
            strength = np.linalg.norm(a, axis=1) * (np.linalg.norm(u, axis=1) if is_scale_free(act) else 1.0)
            keep = strength > self.prune_tol * max(strength.max(initial=0.0), 1e-300)
            if act == "relu":  # a unit that never fires on the probes is dead, whatever its weights
                keep &= np.any(H @ u[:, :-1].T + u[:, -1] > 0, axis=0)
            c = canonicalize(u[keep], a[keep], act, sign=sign)
            vecs.append(c.u)
            ids.append(np.full(c.u.shape[0], f.index))
        return np.vstack(vecs), np.concatenate(ids)

    # ------------------------------------------------------------------ using the result
    def _check_fitted(self):
        if not hasattr(self, "theta_"):
            raise ValueError("ExpandAndCluster: not fitted yet; call fit(X, Y) or fit_teacher(f, input_dim, n_samples)")

    def predict(self, X) -> np.ndarray:
        """Outputs of the identified network (reduced net plus skip path) on X (N, d_in)."""
        self._check_fitted()
        X = check_array(X, "X", shape=(None, self.net_.input_dim))
        Y = self.net_.forward(self.theta_, X)
        if self.skip_ is not None:
            Y = Y + X @ self.skip_.T
        return Y

    def teacher_(self) -> Teacher:
        """The identified network as a :class:`Teacher` (without its skip path, which a Teacher lacks)."""
        self._check_fitted()
        return Teacher.from_mlp(self.net_, self.theta_)

    def incoming_(self, layer: int) -> np.ndarray:
        """Identified incoming vectors [w | b] of hidden layer ``layer``."""
        self._check_fitted()
        return np.array(self.net_.unpack(self.theta_)[layer])

    def report(self, teacher: Teacher, *, X_test=None, n_test: int = 2000, seed=0,
               match_tol_deg: float = 10.0) -> IdentificationReport:
        """Compare with a known ``teacher``: per teacher neuron the smallest symmetry-aware angle to a
        recovered neuron, excess neurons, overhead per layer and the functional relative MSE on fresh
        probes (``X_test``, or ``n_test`` Gaussian probes)."""
        self._check_fitted()
        if not isinstance(teacher, Teacher):
            raise ValueError(f"teacher: expected a neuroflow.identify.Teacher, got {type(teacher).__name__}")
        if teacher.input_dim != self.net_.input_dim or teacher.output_dim != self.net_.output_dim:
            raise ValueError(f"teacher: expected input/output dims {self.net_.input_dim}/{self.net_.output_dim}, "
                             f"got {teacher.input_dim}/{teacher.output_dim}")
        if X_test is None:
            X_test = as_rng(seed).standard_normal((int(n_test), teacher.input_dim))
        X_test = check_array(X_test, "X_test", shape=(None, teacher.input_dim))
        act = self.activation
        deep = len(self.layer_sizes_) > 1
        sign = None if not (deep and needs_skip(act)) else False
        layers, prev = [], None
        for l in range(min(len(teacher.hidden_sizes), len(self.layer_sizes_))):
            t_u = teacher.incoming(l)
            r_u = self.incoming_(l)
            if l > 0 and prev is None:  # the layer below was not fully matched: no common basis
                k, m = t_u.shape[0], r_u.shape[0]
                nan = [float("nan")] * k
                layers.append(LayerReport(k, m, nan, nan, [-1] * k, max(0, m - k), max(0, k - m)))
                continue
            if l > 0:
                t_u, r_u = _common_basis(t_u, r_u, prev, act, sign)
            rep = compare_layer(t_u, r_u, act, match_tol_deg=match_tol_deg, sign=sign)
            layers.append(rep)
            prev = (teacher.incoming(l), self.incoming_(l), rep.matching) if rep.missing == 0 else None
        rel = relative_mse(teacher.forward(X_test), self.predict(X_test))
        losses = [[f.loss for f in fits] for fits in self.students_]
        return IdentificationReport(layers, rel, int(X_test.shape[0]), float(match_tol_deg), losses)


# ---------------------------------------------------------------------- helpers
def _checkpoint_key(X, Y, layers, seeds, theta0s, *settings) -> str:
    """A digest of everything that determines a layer's trained students."""
    import hashlib

    h = hashlib.sha256()
    for a in (X, Y, np.asarray(seeds)) + tuple(theta0s or ()):
        h.update(np.ascontiguousarray(a, dtype=float).tobytes())
    h.update(repr((layers, settings)).encode())
    return h.hexdigest()


def _checkpoint_path(folder, layer: int):
    from pathlib import Path

    return Path(folder) / f"students_layer{layer}.pkl"


def _load_checkpoint(folder, layer: int, key: str):
    """The students saved for ``layer`` under ``key``, or None (no folder, no file, or other settings)."""
    import pickle

    if folder is None:
        return None
    path = _checkpoint_path(folder, layer)
    if not path.is_file():
        return None
    with open(path, "rb") as fh:
        saved = pickle.load(fh)
    return saved["fits"] if saved.get("key") == key else None


def _save_checkpoint(folder, layer: int, key: str, fits) -> None:
    import os
    import pickle

    if folder is None:
        return
    path = _checkpoint_path(folder, layer)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump({"key": key, "fits": fits}, fh)
    os.replace(tmp, path)  # an interrupted write never leaves a half file under the real name


def _layer_forward(H, incoming, activation):
    from neuroflow.mlp.activations import get_activation

    return get_activation(activation).f(H @ incoming[:, :-1].T + incoming[:, -1])


def designed_probes(first, n: int, seed=None, *, p_on: float = DESIGN_P_ON, on=DESIGN_ON,
                    off: float = DESIGN_OFF) -> np.ndarray:
    """``n`` probes that give a first layer ``first`` ([W | b], shape (k, d_in + 1)) sparse activity: each
    unit's pre-activation is, independently, uniform in ``on`` with probability ``p_on`` and ``off``
    otherwise. The inputs are the least-norm solutions of W x = z - b plus a standard Gaussian component
    in W's null space (exact targets when k <= d_in; the least-squares best otherwise)."""
    rng = as_rng(seed)
    first = check_array(first, "first", ndim=2)
    W, b = first[:, :-1], first[:, -1]
    k = W.shape[0]
    Z = np.where(rng.random((n, k)) < p_on, rng.uniform(on[0], on[1], (n, k)), off)
    pinv = np.linalg.pinv(W)
    X = (Z - b) @ pinv.T
    noise = rng.standard_normal((n, W.shape[1]))
    return X + noise - (noise @ W.T) @ pinv.T


def mix_designed_probes(X, first, share: float, seed=None) -> tuple[np.ndarray, int]:
    """``X`` with its last ``round(share * len(X))`` rows replaced by :func:`designed_probes` for the first
    layer ``first``; returns the mixed probes and how many rows are designed (the last ones)."""
    n_new = int(round(share * X.shape[0]))
    if n_new == 0:
        return X, 0
    return np.vstack([X[: X.shape[0] - n_new], designed_probes(first, n_new, seed)]), n_new


def _hidden_activations(X, mats, activation) -> list[np.ndarray]:
    hs, h = [], X
    for m in mats[:-1]:
        h = _layer_forward(h, m, activation)
        hs.append(h)
    return hs


def _backward_elimination(H, X_skip, Y, factor: float = 10.0, max_rise: float = 1e-2) -> list[int]:
    """Columns of H to keep: drop, one at a time, the column whose removal raises the least-squares
    residual least, while the residual stays within ``factor`` of the residual with every column and
    rises by at most ``max_rise`` of the targets' variance (the second bound matters when even the full
    fit leaves a sizeable residual, as with imperfect deep students; near zero the first one rules).

    One QR factorisation of all features; each trial is then a small least-squares problem in the
    triangular factor (as accurate as refitting, far cheaper with many rows and many targets).
    """
    k = H.shape[1]
    F = np.hstack([H, np.ones((H.shape[0], 1))] + ([X_skip] if X_skip is not None else []))
    Q, R = np.linalg.qr(F)
    QtY = Q.T @ Y
    outside = float(np.sum((Y - Q @ QtY) ** 2))  # the part no subset of columns can fit

    def residual(cols):
        idx = list(cols) + list(range(k, F.shape[1]))
        coef, *_ = np.linalg.lstsq(R[:, idx], QtY, rcond=None)
        return outside + float(np.sum((R[:, idx] @ coef - QtY) ** 2))

    keep = list(range(k))
    scale = float(np.sum((Y - Y.mean(axis=0)) ** 2))
    full = residual(keep)
    limit = max(min(factor * full, full + max_rise * scale), 1e-14 * scale)
    while len(keep) > 1:
        trials = [(residual([c for c in keep if c != j]), j) for j in keep]
        r, j = min(trials)
        if r > limit:
            break
        keep.remove(j)
    return keep


def _ls_rel_residual(H, X_skip, T) -> float:
    """Relative residual of the least-squares fit of targets T (N, m) on features [H, 1, X_skip]."""
    F = np.hstack([H, np.ones((H.shape[0], 1))] + ([X_skip] if X_skip is not None else []))
    coef, *_ = np.linalg.lstsq(F, T, rcond=None)
    return float(np.sum((F @ coef - T) ** 2) / max(float(np.sum((T - T.mean(axis=0)) ** 2)), 1e-300))


def _least_squares_output(H, X_skip, Y) -> dict:
    """Output layer [A | c] (and skip S) by least squares on features [H, 1, X_skip]."""
    feats = [H, np.ones((H.shape[0], 1))] + ([X_skip] if X_skip is not None else [])
    F = np.hstack(feats)
    coef, *_ = np.linalg.lstsq(F, Y, rcond=None)
    k = H.shape[1]
    matrix = np.hstack([coef[:k].T, coef[k:k + 1].T])
    skip = coef[k + 1:].T if X_skip is not None else None
    return {"matrix": matrix, "skip": skip}


def _common_basis(t_u, r_u, prev, activation, sign):
    """Express layer-l incoming vectors of teacher and recovered net over the same (teacher-ordered)
    units of layer l-1, using that layer's matching and symmetry (sign flips, relu scales)."""
    t_prev, r_prev, matching = prev
    cls = symmetry_class(activation)
    cols = np.array(matching)
    r_cols = r_u[:, cols].copy()
    r_bias = r_u[:, -1].copy()
    for j, m in enumerate(cols):
        tv, rv = t_prev[j], r_prev[m]
        s = 1.0
        if cls != "none" and sign is not False:
            s = 1.0 if float(tv @ rv) >= 0 else -1.0
        if cls == "relu":
            r_cols[:, j] *= np.linalg.norm(rv) / max(np.linalg.norm(tv), 1e-300)
        if s < 0:
            if cls == "odd_constant":  # f(-z) = 1 - f(z): the column's weight moves into the bias
                r_bias += r_cols[:, j]
            r_cols[:, j] *= -1
    return np.hstack([t_u[:, :-1], t_u[:, -1:]]), np.hstack([r_cols, r_bias[:, None]])
