"""The Expand-and-Cluster estimator: recover a network's layer sizes and weights from input-output probes.

(i) train ``n_students`` over-parameterised students to near-zero loss (:mod:`.students`; widths
``expansion`` x a guess of the target's, or, with no guess, grown until they reach the loss floor,
:mod:`.search`); (ii) canonicalise their neurons' incoming vectors (:mod:`.symmetry`) and cluster them
(:mod:`.clustering`): vectors shared by at least ``gamma * n_students`` students, with a median spread
below ``beta``, are the target's neurons (``beta="auto"``, the default, reads the cut off a clear gap in
the clusters' spreads, checked by least squares, else pi/6); (iii) rebuild the reduced network
(:mod:`.reconstruct`): output weights by least squares, unneeded clusters eliminated, fine-tuning to zero
loss with :func:`neuroflow.train`, a Newton polish to machine precision for a small one.

Deep networks go layer by layer with the same students: once a layer is clustered (an inner layer keeps
the clusters its students need, :mod:`.selection`), it replaces that layer in every student (the next
layer's weights re-expressed by least squares over the reconstructed units), is held fixed, the layers above
are retrained (the fixed-parameter objective), and the next layer is clustered. With query access to the
target, the later stages train on probes designed from the reconstructed first layer (:mod:`.probes`).
Students stopped by their budget above the loss floor may smear a neuron over two nearly parallel clusters;
with ``refine_rounds`` such an inner layer's students get another budget before the layer is frozen, and with
``recut`` a reduced network that misses the floor is rebuilt once from another cut of its last hidden layer.

A fit whose reduced network misses the loss floor can be repeated on the students at the floor only
(``max_students``): students stopped in local minima hold neurons that are not the target's, and with them in
the clusters the target's neurons may never gather enough students (a softplus 9-3-3-1 teacher: 5 of 6 first-stage
students at relative loss 1e-7, the sixth at 1e-15 holding the teacher's three neurons). Its later stages
leave designed probes that no student fits to the floor for the given ones.

Every stage stops on step budgets (:mod:`.budgets`): the same data, settings and seed give the same result on
a busy or a quiet machine, and BLAS runs on one thread, so on a machine with more cores too. (Not across CPU
types: float32 torch arithmetic differs there in the last bits, and a student's run can end elsewhere -- deep-
suite d14 and d23 came out differently on two machines.) Ctrl-C ends a fit promptly (``KeyboardInterrupt``);
with ``checkpoint`` every finished student is on disk, and a student cut short is never stored
(:mod:`.checkpoint`).

(This module runs past 400 lines because one class documents all its settings here; every job it
coordinates lives in the module named above.)
"""
from __future__ import annotations

import copy
import dataclasses
import math
import time
import warnings

import numpy as np

from neuroflow._utils import (as_rng, check_array, check_memory, check_positive, progress, serial_blas,
                             short_count)
from neuroflow.identify.budgets import STUDENT_MIN_GNORM, STUDENT_TRAIN_OPTIONS
from neuroflow.identify.checkpoint import StudentCheckpoint, checkpoint_key
from neuroflow.identify.clustering import AUTO_FALLBACK, cluster_neurons, min_students
from neuroflow.identify.params import check_data, check_estimator_params, torch_options_per_layer
from neuroflow.identify.lstsq import (constant_outputs, hidden_activations, layer_forward, least_squares_output,
                                     output_variance)
from neuroflow.identify.probes import gaussian_probes, query_designed_probes, unsteered_directions
from neuroflow.identify.reconstruct import reconstruct, reduced_net
from neuroflow.identify.report import IdentificationReport, compare_networks, relative_mse
from neuroflow.identify.search import describe_sizes, doubling, expanded_width, first_at_floor
from neuroflow.identify.selection import check_gap, eliminate_inner, judge_inner_cut, next_preactivations
from neuroflow.identify.students import train_students, warm_starts
from neuroflow.identify.clustering import student_neurons
from neuroflow.identify.symmetry import needs_skip, sign_mode
from neuroflow.identify.teacher import Teacher

#: the floor a width search must reach (relative loss; see :mod:`neuroflow.identify.search`)
SEARCH_TOL = 1e-10
#: the advice that ends the warnings of a weak fit, in this class's argument names; a front end with other names
#: for these settings (the CLI's flags) respells exactly these phrases
ADVICE = {"search": "raise max_width / max_depth", "expansion": "raise max_expansion",
          "budgets": "raise the step budgets in train_options", "probes": "add probes"}
#: what to try when no neuron is shared by enough students (IdentificationError's advice)
NO_NEURON_ADVICE = "try more probes, more students, a lower gamma, a wider beta or longer training"


class IdentificationError(RuntimeError):
    """The students gave no network to identify: in some layer no neuron was shared by enough of them. The message
    names the layer, the students' losses and what to try (:data:`NO_NEURON_ADVICE`)."""


class ExpandAndCluster:
    """Identify a fully connected network (hidden activation ``activation``, linear output) from probes.

    Settings here, learning in :meth:`fit` / :meth:`fit_teacher`, learned attributes end in ``_``
    (scikit-learn's convention).

    Parameters
    ----------
    n_students : int
        How many students.
    expansion : float
        Students' widths as a multiple of ``hidden_sizes`` (when a guess is given).
    gamma : float in (0, 1]
        A neuron must be found in at least ``ceil(gamma * n_students)`` distinct students (>= 2).
    beta : "auto" or float
        Clusters whose median member-to-centre angle exceeds ``beta`` (radians) are dropped; "auto" puts the
        cut in the largest clear gap of the clusters' spreads on a log scale, between the tight shared-neuron
        clusters and loose leftover groups, or at pi/6 (the paper's value) when there is no clear gap
        (:func:`~neuroflow.identify.clustering.auto_beta`); with no clear gap in a deep net's second or later
        hidden layer, no cluster is dropped for its spread (the zero-loss judgement of the reduced net decides).
    clusterer : "hierarchical" or "hdbscan"
    train_options : dict, optional
        Options of :func:`neuroflow.train` for the students, merged into
        :data:`~neuroflow.identify.budgets.STUDENT_TRAIN_OPTIONS` (step budgets ``maxiterations_ode``,
        ``maxiterations_optim``; a wall-clock cap ``maxtime_*`` only if you want one).
    n_jobs : int
        Students trained in parallel (local processes; -1: all cores).
    backend : str
        MLP kernels backend ("auto", "numpy", "torch", "julia").
    seed : int, Generator or None
        All randomness (students' initialisation, designed probes).
    activation : str
        The target's hidden activation.
    hidden_sizes : int, list of int, or None
        A guess of the target's widths (one per hidden layer). None: unknown; the students grow (widths 2, 4,
        8, ... up to ``max_width``) until they reach the loss floor ``search_tol``, and with ``depth=None``
        the depth too (1, 2, ... ``max_depth``, the smallest that reaches it); see :mod:`.search`.
    max_expansion : float or None
        With a guess: when fewer than ``ceil(gamma * n_students)`` first-stage students reach the loss floor
        ``search_tol``, retrain them twice as wide (``2 expansion``, ``4 expansion``, ... up to
        ``max_expansion``) and keep the first expansion whose students reach it for every layer (``expansion_``;
        what was tried in ``search_``); none does: the one whose students came closest, with a warning. None:
        the students stay ``expansion`` times as wide as the guess.
    max_students : int or None
        Students at the floor, for a fit that misses it. When the reduced network's relative loss on the
        probes stays above ``search_tol``, its clusters missed or misplaced neurons, and the usual cause is
        students stopped in local minima, whose neurons are not the target's but still enter the clusters. The
        fit is then repeated with the same students, clustering at every stage only those at the floor
        (relative loss ``<= search_tol``); a stage where fewer than ``ceil(gamma * n_students)`` reach it trains
        more, ``n_students`` at a time from fresh starts, up to ``max_students`` in all, and its clusters need
        ``ceil(gamma * k)`` (at least 2) of its k students at the floor. A later stage on designed probes
        (``layer_probes``) where none of its first ``n_students`` reaches the floor trains, from that stage
        on, on the given probes instead (``floor_students_[layer]["probes"]``). Of the two fits, the one with
        the lower loss on the given probes is kept (``retry_``: each fit's relative loss, which was kept, and the
        second fit's ``floor_students_``). None: no second fit.
    depth, max_width, max_depth, search_tol
        The search's settings (``depth`` and ``max_*`` used only with ``hidden_sizes=None``; ``search_tol``
        also by ``max_expansion``).
    engine : "auto", "flow" or "torch"
        "flow" (:func:`neuroflow.train`), "torch" (minibatch Adam, then full-batch L-BFGS, then with
        ``lm_steps`` Levenberg-Marquardt, options
        ``torch_options`` merged into :data:`~neuroflow.identify.budgets.TORCH_OPTIONS`; then ``train``
        polishing if ``train_options`` are given) or "auto" (torch, without that polish, for students above
        3000 parameters).
    finetune_options : dict, optional
        Options of :func:`neuroflow.train` for the reduced network, merged into
        :data:`~neuroflow.identify.budgets.FINETUNE_OPTIONS`.
    torch_options : dict or list of dict, optional
        One dict, or one per hidden layer (the students of a deep net's later stages train only the layers
        above the frozen ones, a smaller problem that can afford a longer run).
    finetune, polish, prune : bool
        Fine-tune the reduced network; then polish a small one at near-zero loss with Newton; remove
        neurons that least squares or a re-fine-tune shows are not needed (:mod:`.reconstruct`).
    loss_tol : float
        Students whose loss relative to the target's variance exceeds this are reported.
    prune_tol : float
        Student neurons whose outgoing weight is below ``prune_tol`` x the student's largest are ignored.
    prune_tol_rel : float
        The relative loss that counts as zero when pruning.
    progress : bool
        Progress bars (layers, students).
    checkpoint : path, optional
        A folder where every finished student is saved at once; a later fit with the same data, settings and
        starting points loads them instead of retraining (an interrupted run resumes where it stopped). A stage's
        file is held by one fit at a time: another run writing it meanwhile raises
        :class:`~neuroflow.identify.checkpoint.CheckpointBusy` (a ValueError) naming it and that run's pid.
    layer_probes : float in [0, 1)
        Deep nets with query access to the target (``fit(..., query=f)`` or :meth:`fit_teacher`): the share
        of the probes replaced, from the second hidden layer on, by probes designed from the reconstructed
        first layer (:func:`~neuroflow.identify.probes.designed_probes`); 0 keeps the original probes.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:port``): students run on its workers
        (:func:`neuroflow.parallel.parallel_map`), with the same numbers as locally.
    refine_rounds : int
        Deep nets: how many times an inner layer's students may be trained another budget, from where they
        stopped, and clustered again, while they stopped above the floor (median relative loss above
        ``search_tol``) and the layer's kept clusters are nearly degenerate (a design would leave directions
        unsteered, :func:`~neuroflow.identify.probes.unsteered_directions`). Students stopped by their budget
        place each neuron only roughly, and a neuron smeared over the students comes out as two clusters a few
        degrees apart; the layers above, trained on top of those, can fit no better than the imprecise layer
        allows (the seed-2 digits teacher: first-stage students at relative loss 1e-3, placing its neurons
        0.7-1.1 deg off (median per student), kept 23 clusters for 20 neurons, three pairs 3.5-5.3 deg apart, and
        every second-stage student stopped at 1.5e-3; one more budget: students at 2.1e-4, 0.13-0.33 deg off, 20
        clusters each within 0.45 deg of a teacher neuron, second-stage students at 3.7e-5). 0: never.
    recut : bool
        When the fine-tuned reduced network stops above the loss floor (relative loss above ``search_tol``),
        cluster the last hidden layer again at the persistent cut (``cut="persistent"`` of
        :func:`~neuroflow.identify.clustering.cluster_neurons`: the most clusters that hold over a range of cut
        heights, instead of the most at any one height), rebuild and fine-tune again, and keep the network with
        the lower loss on the probes (``recut_``). Students stopped short of the floor place their leftover units
        5-30 deg apart, where units of different students pair up by chance; the usual cut then lands where such
        chance groups count as neurons and may swallow a real one (the seed-2 digits teacher: 31 clusters at 26
        deg, one teacher neuron 19 deg from any; 21 clusters from 5.6 to 12.6 deg, none over 5.3 deg off).

    Attributes
    ----------
    layer_sizes_, net_ (a :class:`neuroflow.MLP`), theta_, skip_ ((d_out, d_in) linear skip path or None),
    cluster_sizes_ (what the clustering rule found on its own), clusters_ (per layer, a ClusterResult), selection_
    (per inner layer, what :func:`~neuroflow.identify.selection.eliminate_inner` decided), students_ (per layer,
    list of StudentFit), failed_students_, target_var_ (per layer, the variance of the outputs its students were
    trained on), floor_students_ (per layer, with ``max_students``' second fit: how many students were trained,
    which reached the floor, and on which probes, else None), retry_ (None, or the two fits' losses and which was
    kept), designed_probes_ (how many), refined_ (per layer, the rounds of ``refine_rounds`` taken, and the
    unsteered directions and students' median relative loss before each and after the last), recut_ (None when
    ``recut`` was not needed, else both cuts in degrees, their numbers of clusters, the two networks' relative
    losses on the probes and which was kept), search_ (a SearchResult of the width or expansion search, or None),
    expansion_ (the students' expansion; None after a width search), finetune_ and polish_ (TrainResults or None),
    pruned_, timings_, time_s_, train_rel_mse_.
    """

    def __init__(self, n_students=10, expansion=4, gamma=0.5, beta="auto", clusterer="hierarchical",
                 train_options=None, n_jobs=1, backend="auto", seed=None, *, activation="tanh",
                 hidden_sizes=None, max_expansion=None, max_students=None, depth=None, max_width=64, max_depth=3,
                 search_tol=SEARCH_TOL, engine="auto", finetune_options=None, torch_options=None, finetune=True,
                 polish=True, prune=True, loss_tol=1e-6, prune_tol=1e-3, prune_tol_rel=1e-10, progress=False,
                 checkpoint=None, layer_probes=0.5, scheduler=None, refine_rounds=0, recut=False):
        self.n_students = n_students
        self.expansion = expansion
        self.gamma = gamma
        self.beta = beta
        self.clusterer = clusterer
        self.train_options = train_options
        self.n_jobs = n_jobs
        self.backend = backend
        self.seed = seed
        self.activation = activation
        self.hidden_sizes = hidden_sizes
        self.max_expansion = max_expansion
        self.max_students = max_students
        self.depth = depth
        self.max_width = max_width
        self.max_depth = max_depth
        self.search_tol = search_tol
        self.engine = engine
        self.finetune_options = finetune_options
        self.torch_options = torch_options
        self.finetune = finetune
        self.polish = polish
        self.prune = prune
        self.loss_tol = loss_tol
        self.prune_tol = prune_tol
        self.prune_tol_rel = prune_tol_rel
        self.progress = progress
        self.checkpoint = checkpoint
        self.layer_probes = layer_probes
        self.scheduler = scheduler
        self.refine_rounds = refine_rounds
        self.recut = recut

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        check_estimator_params(self)

    def _guess(self) -> list[int] | None:
        guess = self.hidden_sizes
        if guess is None:
            return None
        return [int(guess)] if isinstance(guess, (int, np.integer)) else [int(g) for g in guess]

    # ------------------------------------------------------------------ fitting
    def fit_teacher(self, f, input_dim: int, n_samples: int, *, probe_scale: float = 1.0):
        """Draw ``n_samples`` Gaussian probes N(0, probe_scale^2 I) in ``input_dim`` dimensions, query ``f``
        (a callable X -> Y, e.g. a :class:`Teacher`) and :meth:`fit` on them (with ``query=f``: a deep net's
        later layers also see designed probes, see ``layer_probes``). Returns self."""
        check_positive(input_dim, "input_dim", integer=True)
        check_positive(n_samples, "n_samples", integer=True)
        check_positive(probe_scale, "probe_scale")
        if not callable(f):
            raise ValueError(f"f: expected a callable X -> Y, got {type(f).__name__}")
        self._check_params()
        # the probes, their answers and a few working copies: a lower bound, so absurd sizes fail here, named
        check_memory(4 * 8 * int(n_samples) * (int(input_dim) + 1), "n_samples")
        rng = as_rng(self.seed)
        X = gaussian_probes(n_samples, input_dim, rng, scale=probe_scale)
        answer = f(X)
        try:   # a string said "could not convert string to float"; 3 rows for 100 probes "the outputs are the same"
            Y = np.asarray(answer, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"f: expected numeric outputs, one row per probe, got {type(answer).__name__}") from None
        if Y.ndim not in (1, 2) or Y.shape[0] != X.shape[0]:
            raise ValueError(f"f: expected outputs of shape ({X.shape[0]},) or ({X.shape[0]}, d_out) for "
                             f"{X.shape[0]} probes, got shape {Y.shape}")
        if not np.all(np.isfinite(Y)):
            raise ValueError("f: the target returned NaN/inf outputs on the Gaussian probes")
        if constant_outputs(Y):
            raise ValueError(f"f: the target's outputs are the same on all {len(Y)} Gaussian probes (to float "
                             "precision); a constant function has no neurons to identify")
        return self._fit(X, Y, f, rng)

    def fit(self, X, Y, *, query=None):
        """Identify the network that maps probes X (N, d_in) to outputs Y (N, d_out); returns self.

        query: optionally the target itself (a callable X -> Y). A deep net's students from the second
        hidden layer on then train on a share ``layer_probes`` of designed probes instead of the same share
        of X (the rest of X is kept); the reduced net is fine-tuned on that mix too."""
        self._check_params()
        with serial_blas():  # the same numbers on every machine (least squares, fine-tunes; students run so too)
            return self._fit(X, Y, query, as_rng(self.seed))

    def _fit(self, X, Y, query, rng):
        from neuroflow.backend import resolve_backend

        t0 = time.perf_counter()
        X, Y = check_data(X, Y)
        if query is not None and not callable(query):
            raise ValueError(f"query: expected None or a callable X -> Y (the target), got {type(query).__name__}")
        backend = resolve_backend(self.backend)
        # a fit cut short (Ctrl-C, IdentificationError) left the previous fit's network beside this fit's students:
        # predict answered with the earlier target's network. Learned attributes go now; a fit that ends early
        # leaves an estimator that says it is not fitted
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, name)
        self._trained = {}  # students of this fit by stage and checkpoint key: the second fit reuses them
        again = copy.deepcopy(rng)
        self._fit_once(X, Y, query, rng, backend, at_floor=False)
        self.retry_ = None
        first_loss = relative_mse(Y, self.predict(X))
        if self.max_students is not None and not first_loss <= self.search_tol:
            first = {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}
            error = None
            try:
                self._fit_once(X, Y, query, again, backend, at_floor=True)
                second_loss = relative_mse(Y, self.predict(X))
            except RuntimeError as exc:  # e.g. no neuron shared by enough of the few students at the floor
                second_loss, error = math.inf, str(exc)
            second_floor = self.floor_students_
            kept = "second" if second_loss < first_loss else "first"
            if kept == "first":
                vars(self).update(first)
            self.retry_ = {"rel_loss_first_fit": first_loss, "rel_loss_second_fit": second_loss, "kept": kept,
                           "second_fit_floor_students": second_floor, "second_fit_error": error}
        vars(self).pop("_trained", None)
        self.time_s_ = time.perf_counter() - t0
        return self

    def _fit_once(self, X, Y, query, rng, backend, *, at_floor: bool) -> None:
        """One pass of Expand-and-Cluster; ``at_floor``: cluster only students at the floor (``max_students``)."""
        self._reset()
        y_var = output_variance(Y)
        guess = self._guess()
        if guess is None or (self.max_expansion is not None and self.max_expansion > self.expansion):
            sizes, first = self._search(X, Y, y_var, rng, backend, guess)
        else:
            target = self._stage_net(X.shape[1], [], list(guess), Y.shape[1], backend)
            if target.n_params > Y.size:  # the probes cannot pin down the network guessed, let alone find it
                raise ValueError(f"X: {Y.size} probe outputs are fewer than the {short_count(target.n_params)} "
                                 f"parameters of the guessed network (hidden sizes "
                                 f"[{', '.join(short_count(g) for g in guess)}]); give more probes")
            sizes, first = list(self._expanded(guess, self.expansion)), None
            self.expansion_ = float(self.expansion)
        depth, act = len(sizes), self.activation
        deep = depth > 1
        # even+linear units in a deep net would need a skip path around every layer: keep their signs
        sign = sign_mode(depth, act)
        torch_opts = torch_options_per_layer(self.torch_options, depth)
        H, incoming, clustered = X, [], []
        given = (X, Y)  # the probes given to fit: the second fit's fallback from designed probes
        seeds, starts = first if first is not None else self._fresh_starts(X.shape[1], sizes, Y, rng, backend, [])
        for layer in progress(range(depth), enabled=self.progress and deep, desc="layers", unit="layer"):
            net = self._stage_net(X.shape[1], incoming, sizes[layer:], Y.shape[1], backend)
            if layer == 0 and first is not None:
                fits = self.students_[0]
            else:
                fits = self._train_stage(layer, net, X, Y, seeds, starts, backend, torch_opts[layer])
            probes = "designed" if self.designed_probes_ else "given"
            if at_floor and probes == "designed" and not any(f.loss <= self.search_tol * y_var for f in fits):
                # no student of this stage fits the designed probes to the floor (a gelu 10-8-7-5-1 teacher: with
                # its own first layer frozen, students stop at relative loss 1e-4..3e-3 there and reach 1e-14 on
                # the given probes), so students at the floor can only come from the given probes: this stage
                # and the ones above train on them, from fresh starts
                X, Y = given
                H, y_var = hidden_activations(X, [*incoming, None], act)[-1], output_variance(Y)  # (None: the output)
                probes = f"given (none of {len(fits)} students at the floor on the designed probes)"
                self.students_.pop()
                seeds, starts = self._fresh_starts(X.shape[1], sizes, Y, rng, backend, incoming)
                fits = self._train_stage(layer, net, X, Y, seeds, starts, backend, torch_opts[layer])
                self.designed_probes_ = 0
            self.target_var_.append(y_var)
            self._flag_failed(fits, y_var, layer)
            if at_floor:
                fits = self._students_at_floor(layer, net, X, Y, sizes, incoming, backend, torch_opts[layer], rng)
                self.floor_students_[-1]["probes"] = probes
            else:
                self.floor_students_.append(None)
            n_at_floor = None if self.floor_students_[layer] is None else len(fits)
            centres = self._reduce_layer(layer, net, fits, H, X, Y, y_var, sign, depth, n_at_floor)
            fits, centres = self._refine(layer, net, fits, centres, H, X, Y, y_var, sign, depth, n_at_floor, backend,
                                         torch_opts[layer])
            clustered.append(fits)
            incoming.append(centres)
            if layer == depth - 1:
                last_stage = (layer, net, fits, H, sign, depth, n_at_floor)
                H = layer_forward(H, centres, act)
                break
            H_next = layer_forward(H, centres, act)
            warm = warm_starts([net.unpack(f.theta) for f in fits], H, H_next, layer, incoming, act)
            fresh = False
            if layer == 0 and query is not None and self.layer_probes > 0:
                X, Y, self.designed_probes_ = query_designed_probes(X, Y, query, incoming[0], self.layer_probes, rng)
                H_next = layer_forward(X, incoming[0], act)
                y_var = output_variance(Y)
                # the first students' upper layers fit the Gaussian probes only, where near-linear units have
                # many stand-ins: warm-started from them, the next students keep those stand-ins (measured on
                # the digits teacher: 15 of its 20 second-layer neurons found, against 18 from fresh starts)
                fresh = self.designed_probes_ > 0
            H = H_next
            seeds, starts = self._fresh_starts(X.shape[1], sizes, Y, rng, backend, incoming)
            if not fresh:  # (students at the floor: theirs first, then fresh ones)
                starts = (warm + starts[len(warm):])[:len(starts)]
        pruned = list(self.pruned_)
        self._finish(incoming, H, X, Y, y_var, deep, backend, clustered)
        self.recut_ = None
        if self.recut and self.finetune and self.clusterer == "hierarchical" \
                and not self.train_rel_mse_ <= self.search_tol:
            self._recut(last_stage, incoming, X, Y, y_var, deep, backend, clustered, pruned)

    def _recut(self, last_stage, incoming, X, Y, y_var, deep, backend, clustered, pruned) -> None:
        """``recut``: the last hidden layer clustered again at the persistent cut, the reduced network rebuilt and
        fine-tuned again; the one with the lower loss on the probes is kept (``recut_`` records both)."""
        layer, net, fits, H, sign, depth, n = last_stage
        first = {k: copy.copy(v) for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}
        self.clusters_.pop()
        record = {"cut_deg": [math.degrees(first["clusters_"][-1].cut_height), None],
                  "clusters": [first["clusters_"][-1].size, None], "rel_loss": [self.train_rel_mse_, None],
                  "kept": "first", "error": None}
        try:
            result = self._cluster(layer, net, fits, H, X, Y, y_var, sign, depth, n, cut="persistent")
            record["cut_deg"][1], record["clusters"][1] = math.degrees(result.cut_height), result.size
        except RuntimeError as exc:  # no cluster with enough students at that cut
            result, record["error"] = None, str(exc)
        if result is not None and result.cut_height != first["clusters_"][-1].cut_height:
            self.pruned_ = list(pruned)
            self.timings_ = {k: v for k, v in self.timings_.items() if k == "students_s"}
            self._finish([*incoming[:-1], result.centres], layer_forward(H, result.centres, self.activation), X, Y,
                         y_var, deep, backend, clustered)
            record["rel_loss"][1] = self.train_rel_mse_
            record["kept"] = "second" if self.train_rel_mse_ < record["rel_loss"][0] else "first"
            timings = {k: v + first["timings_"].get(k, 0.0) if k != "students_s" else v
                       for k, v in self.timings_.items()}
        else:
            timings = first["timings_"]
        if record["kept"] == "first":
            vars(self).update(first)
        self.timings_ = timings
        self.recut_ = record

    def _reset(self) -> None:
        self.students_, self.clusters_, self.failed_students_, self.selection_ = [], [], [], []
        self.timings_ = {"students_s": 0.0, "finetune_s": 0.0, "prune_s": 0.0, "polish_s": 0.0}
        self.target_var_, self.pruned_, self.floor_students_, self.refined_ = [], [], [], []
        self.designed_probes_ = 0
        self.search_, self.expansion_ = None, None

    def _stage_net(self, input_dim, incoming, upper_widths, output_dim, backend):
        """A stage's students: the reconstructed layers below (their sizes), the expanded widths above."""
        from neuroflow.mlp import MLP

        sizes = [c.shape[0] for c in incoming] + list(upper_widths)
        return MLP(input_dim, [(w, self.activation, True) for w in sizes] + [(output_dim, "identity", True)],
                   backend=backend)

    def _fresh_starts(self, input_dim, sizes, Y, rng, backend, incoming):
        """Seeds for the next stage's students and their starting layers: the reconstructed layers
        ``incoming`` below, random (Glorot, from each seed) above."""
        seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size=self.n_students)]
        net = self._stage_net(input_dim, incoming, sizes[len(incoming):], Y.shape[1], backend)
        starts = [[c.copy() for c in incoming] + net.unpack(net.init_params(seed=s))[len(incoming):] for s in seeds]
        return seeds, starts

    def _train_stage(self, layer, net, X, Y, seeds, starts, backend, torch_opts, hopeless=None):
        """Train (or load from the checkpoint) one stage's students; ``students_`` grows as each finishes.
        With ``hopeless`` = (k, test), the first k students are trained first, and the rest only if
        ``test(fits)`` is False (the width search: a width whose first students cannot reach the floor
        often enough is decided without the rest)."""
        y_var = output_variance(Y)
        train_opts = {**STUDENT_TRAIN_OPTIONS, "min_loss": 1e-14 * y_var,
                      "min_gnorm": STUDENT_MIN_GNORM * min(1.0, y_var), **(self.train_options or {})}
        theta0s = [net.pack(m) for m in starts]
        settings = (net.layers, self.engine, train_opts, torch_opts, self.train_options)
        # the backend computes the students too (its last bits differ): a run resumed under another one (say
        # NEUROFLOW_BACKEND=torch) took the first's students as its own. Numpy's key is the one it always was
        key = checkpoint_key([X, Y, np.asarray(seeds, dtype=float), *theta0s],
                             settings if backend == "numpy" else (*settings, backend))
        # the stage's file is this run's until its last student (a second run writing it meanwhile is refused): two
        # runs sharing a checkpoint each rewrote it with only their own students, losing the other's
        with StudentCheckpoint.locked(self.checkpoint, layer, key, n_params=net.n_params) as saved:
            memo = vars(self).setdefault("_trained", {}).setdefault((layer, key), {})
            saved.fits.update(memo)
            fits = [saved.fits[i] for i in sorted(saved.fits) if i < len(seeds)]
            self.students_.append(fits)
            todo = [i for i in range(len(seeds)) if i not in saved.fits]
            t = time.perf_counter()

            def finished(fit):
                saved.add(fit)
                memo[fit.index] = fit
                fits.append(fit)

            chunks = [todo] if hopeless is None else [[i for i in todo if i < hopeless[0]],
                                                      [i for i in todo if i >= hopeless[0]]]
            for chunk in chunks:
                if hopeless is not None and chunk is chunks[-1] and hopeless[1](fits):
                    break
                train_students(X.shape[1], net.layers, X, Y, seeds, theta0s, indices=chunk, engine=self.engine,
                               train_options=train_opts, torch_options=torch_opts, n_jobs=self.n_jobs,
                               scheduler=self.scheduler, backend=backend, progress=self.progress, frozen_layers=layer,
                               polish_options=self.train_options if self.engine == "torch" else None,
                               on_result=finished)
                fits.sort(key=lambda f: f.index)
        self.timings_["students_s"] += time.perf_counter() - t
        return fits

    def _students_at_floor(self, layer, net, X, Y, sizes, incoming, backend, torch_opts, rng) -> list:
        """The second fit's students of one stage: those at the floor, more trained (fresh starts, ``n_students``
        at a time, up to ``max_students``) while fewer than ``ceil(gamma * n_students)`` are; all of them if
        fewer than two get there. ``students_[layer]`` holds every student trained, ``floor_students_`` which."""
        floor = self.search_tol * output_variance(Y)
        need = min_students(self.gamma, self.n_students)
        pool = self.students_[layer]
        while sum(f.loss <= floor for f in pool) < need and len(pool) < self.max_students:
            seeds, starts = self._fresh_starts(X.shape[1], sizes, Y, rng, backend, incoming)
            n = min(len(seeds), self.max_students - len(pool))
            more = self._train_stage(layer, net, X, Y, seeds[:n], starts[:n], backend, torch_opts)
            self.students_.pop()
            pool.extend([dataclasses.replace(f, index=len(pool) + i) for i, f in enumerate(more)])
        at = [f for f in pool if f.loss <= floor]
        self.floor_students_.append({"trained": len(pool), "at_floor": [f.index for f in at],
                                     "clustered": "students at the floor" if len(at) >= 2 else "all students"})
        return at if len(at) >= 2 else pool

    def _search(self, X, Y, y_var, rng, backend, guess=None):
        """The first stage's search: with no guess the width (and depth), with one the expansion (up to
        ``max_expansion``), the first configuration whose students reach the floor (:mod:`.search`); returns the
        chosen sizes and (seeds, starts) of its students, whose fits become ``students_[0]``."""
        need = min_students(self.gamma, self.n_students)
        chosen = {}

        def cannot_pass(fits):  # none of the first n - need + 1 students reached the floor
            return not any(f.loss <= self.search_tol * y_var for f in fits)

        def stage_net(sizes):
            return self._stage_net(X.shape[1], [], list(sizes), Y.shape[1], backend)

        def train(sizes):
            seeds, starts = self._fresh_starts(X.shape[1], list(sizes), Y, rng, backend, [])
            fits = self._train_stage(0, stage_net(sizes), X, Y, seeds, starts, backend,
                                     torch_options_per_layer(self.torch_options, len(sizes))[0],
                                     hopeless=(self.n_students - need + 1, cannot_pass))
            self.students_.pop()
            chosen[sizes] = (seeds, starts, fits)
            return fits

        if guess is None:
            deepest, narrowest = self._deepest_fitting(X, Y, backend)
            if self.depth is not None and self.depth > deepest:
                raise ValueError(f"X, depth: {Y.size} probe outputs are fewer than the "
                                 f"{short_count(narrowest(self.depth))} parameters of the narrowest student of "
                                 f"depth={short_count(self.depth)} (hidden layers of 2 units); give more probes or "
                                 "fewer layers")
            depths = range(int(self.depth), int(self.depth) + 1) if self.depth is not None else \
                range(1, min(int(self.max_depth), deepest + 1) + 1)
            configs = ((w,) * d for d in depths for w in doubling(2, int(self.max_width)))
            describe, advice = describe_sizes, f"{ADVICE['search']}, train longer or {ADVICE['probes']}"
        else:
            factor = {}
            for e in doubling(float(self.expansion), float(self.max_expansion)):
                factor.setdefault(self._expanded(guess, e), e)
            configs = list(factor)

            def describe(sizes):
                return f"{describe_sizes(sizes)} ({factor[tuple(sizes)]:g} x the guess {guess})"

            advice = f"{ADVICE['expansion']}, train longer or {ADVICE['probes']}"
        self.search_, _ = first_at_floor(train, configs, need=need, floor=self.search_tol, y_var=y_var,
                                         n_params=lambda c: stage_net(c).n_params, max_params=Y.size,
                                         describe=describe, advice=advice)
        sizes = self.search_.sizes
        if guess is not None:
            self.expansion_ = factor[sizes]
        seeds, starts, fits = chosen[sizes]
        self.students_.append(fits)
        return list(sizes), (seeds, starts)

    def _expanded(self, guess, expansion) -> tuple:
        return tuple(expanded_width(expansion, g) for g in guess)

    def _deepest_fitting(self, X, Y, backend):
        """``(deepest, narrowest)``: the most hidden layers whose narrowest students (2 units each) have no more
        parameters than the probe outputs ``Y.size``, and ``narrowest(depth)``, those students' parameter count.
        Every deeper configuration of the width search would be skipped, so none is built (a max_depth of 1e308
        is searched up to ``deepest + 1``, not as tuples of 1e308 widths)."""
        one = self._stage_net(X.shape[1], [], [2], Y.shape[1], backend).n_params
        per_layer = self._stage_net(X.shape[1], [], [2, 2], Y.shape[1], backend).n_params - one

        def narrowest(depth):
            return one + per_layer * (int(depth) - 1)

        return (0 if one > Y.size else 1 + (Y.size - one) // per_layer), narrowest

    def _cluster(self, layer, net, fits, H, X, Y, y_var, sign, depth, n=None, cut="most"):
        """Cluster one layer's student neurons; an automatic cut at a gap is checked by least squares. ``n``: the
        students a cluster's share is counted of (``n_students``; the second fit: the k at the floor, so a
        cluster needs ceil(gamma * k) of them, at least two)."""
        act = self.activation
        u, ids = student_neurons([net.unpack(f.theta) for f in fits], [f.index for f in fits], H, layer,
                                 self.activation, sign=sign, prune_tol=self.prune_tol)
        n = self.n_students if n is None else n
        gamma = max(self.gamma, 2.0 / n)
        result = cluster_neurons(u, ids, n, act, gamma=gamma, beta=self.beta, method=self.clusterer, sign=sign,
                                 cut=cut)
        last = layer == depth - 1
        if layer > 0 and result.beta_rule == "no gap" and result.dropped_by_beta:
            # a deep net's later layer: its students' neurons are loose because the layer below holds spare
            # units that share their inputs, not because they are not shared. The reduced net is judged neuron
            # by neuron at zero loss (least squares, fine-tunes, pruning of every layer), so a loose cluster
            # kept costs a pruning trial while a real neuron dropped never comes back: with no clear gap,
            # none is dropped for its spread
            result = cluster_neurons(u, ids, n, act, gamma=gamma, beta=math.pi, method=self.clusterer, sign=sign,
                                     cut=cut)
            result.beta_rule = "no gap: kept (later layer)"
        if result.beta_rule == "gap" and not last:
            # an inner layer: the cut is judged, where the students are at the loss floor, by the inner layers' own
            # test on the output (their pre-activations carry leftover neurons that cancel only at the output: the
            # softplus 4-9-4-3-1 teacher of the deep suite lost a first-layer neuron whose removal raised the
            # least-squares residual of those pre-activations 3.3x, inside check_gap's factor, and the students'
            # substituted loss from 3e-7 to 7e-4, against their own floor of 1.5e-13)
            judged = judge_inner_cut(result, [net.unpack(f.theta) for f in fits], H, layer, Y, [f.loss for f in fits],
                                     act, loss_tol=self.loss_tol, floor_tol=self.search_tol)
            if judged is not None and not judged["accepted"]:
                result = cluster_neurons(u, ids, n, act, gamma=gamma, beta=AUTO_FALLBACK, method=self.clusterer,
                                         sign=sign, cut=cut)
                result.beta_rule = "gap rejected"
            if judged is not None:
                result.gap_check = judged
        if result.beta_rule == "gap" and result.gap_check is None:
            # last hidden layer: the targets are Y, which the students themselves fit to this level
            level = float(np.median([f.loss for f in fits])) / max(y_var, 1e-300) if last else math.inf
            targets = Y if last else np.hstack([next_preactivations(net.unpack(f.theta), H, layer, act) for f in fits])
            result = check_gap(result, u, ids, H, X if (last and depth == 1 and needs_skip(act)) else None, targets,
                               level, activation=act, n_students=n, gamma=gamma,
                               clusterer=self.clusterer, sign=sign, loss_tol=self.loss_tol, cut=cut)
        self.clusters_.append(result)
        if result.size == 0:
            raise IdentificationError(
                f"layer {layer}: no neuron was shared by {result.min_students} of {n} students "
                f"(student losses relative to the target variance: "
                f"{[float(f'{s.loss / max(y_var, 1e-300):.2e}') for s in fits]}); {NO_NEURON_ADVICE}")
        return result

    def _reduce_layer(self, layer, net, fits, H, X, Y, y_var, sign, depth, n):
        """One layer's neurons: the clusters of its students' neurons (:meth:`_cluster`), and below the last
        hidden layer only those its students need (:func:`~neuroflow.identify.selection.eliminate_inner`)."""
        centres = self._cluster(layer, net, fits, H, X, Y, y_var, sign, depth, n).centres
        if self.prune and layer < depth - 1:
            keep, record = eliminate_inner(centres, [net.unpack(f.theta) for f in fits], H, layer, Y,
                                           [f.loss for f in fits], self.activation, loss_tol=self.loss_tol,
                                           floor_tol=self.search_tol)
            self.selection_.append(record)
            self.pruned_.extend({"layer": layer, "by": "students' substituted loss"}
                                for _ in range(centres.shape[0] - len(keep)))
            centres = centres[keep]
        return centres

    def _refine(self, layer, net, fits, centres, H, X, Y, y_var, sign, depth, n, backend, torch_opts):
        """``refine_rounds``: while an inner layer's kept clusters are nearly degenerate and its students stopped
        above the floor, train the students another budget from where they stopped and cluster again; returns the
        fits and centres to go on with. ``refined_[layer]`` records the rounds."""
        record = {"rounds": 0, "unsteered": [unsteered_directions(centres)],
                  "rel_loss": [float(np.median([f.loss for f in fits])) / max(y_var, 1e-300)]}
        self.refined_.append(record)
        while (layer < depth - 1 and record["rounds"] < self.refine_rounds and record["unsteered"][-1] > 0
               and record["rel_loss"][-1] > self.search_tol):
            self.students_.pop()
            fits = self._train_stage(layer, net, X, Y, [f.seed for f in fits], [net.unpack(f.theta) for f in fits],
                                     backend, torch_opts)
            self.failed_students_.pop()
            self._flag_failed(fits, y_var, layer)
            self.clusters_.pop()
            if self.prune:
                self.selection_.pop()
                self.pruned_ = [p for p in self.pruned_ if p["layer"] != layer]
            centres = self._reduce_layer(layer, net, fits, H, X, Y, y_var, sign, depth, n)
            record["rounds"] += 1
            record["unsteered"].append(unsteered_directions(centres))
            record["rel_loss"].append(float(np.median([f.loss for f in fits])) / max(y_var, 1e-300))
        return fits, centres

    def _finish(self, incoming, H, X, Y, y_var, deep, backend, clustered) -> None:
        """The reduced network: output layer by least squares, then :func:`reconstruct`."""
        skip = (not deep) and needs_skip(self.activation)
        out = least_squares_output(H, X if skip else None, Y)
        mats, S = incoming + [out["matrix"]], out["skip"]
        self.cluster_sizes_ = [c.size for c in self.clusters_]
        self.finetune_ = self.polish_ = None
        if self.finetune:
            rec = reconstruct(mats, S, H, X, Y, activation=self.activation, backend=backend,
                              finetune_options=self.finetune_options, prune=self.prune, polish_small=self.polish,
                              prune_tol_rel=self.prune_tol_rel,
                              students_rel_loss=min(float(np.median([f.loss for f in fits])) / max(v, 1e-300)
                                                    for fits, v in zip(clustered, self.target_var_)))
            mats, S = rec.mats, rec.skip
            self.finetune_, self.polish_ = rec.finetune, rec.polish
            self.pruned_.extend(rec.pruned)
            self.timings_.update(rec.timings)
        self.layer_sizes_ = [int(m.shape[0]) for m in mats[:-1]]
        self.net_ = reduced_net(X.shape[1], mats, self.activation, backend)
        self.theta_ = self.net_.pack(mats)
        self.skip_ = None if S is None else np.asarray(S, dtype=float)
        self.input_dim_, self.output_dim_ = X.shape[1], Y.shape[1]
        self.train_rel_mse_ = relative_mse(Y, self.predict(X))

    def _flag_failed(self, fits, y_var: float, layer: int) -> None:
        rel = [f.loss / max(y_var, 1e-300) for f in fits]
        bad = [(f.index, r) for f, r in zip(fits, rel) if not (r <= self.loss_tol)]
        self.failed_students_.append([i for i, _ in bad])
        if bad:
            desc = ", ".join(f"#{i} ({r:.1e})" for i, r in bad)
            warnings.warn(
                f"layer {layer}: {len(bad)} of {len(fits)} students did not reach low loss (relative loss above "
                f"loss_tol={self.loss_tol:g}): {desc}; their neurons are still clustered, but recovery may "
                f"suffer ({ADVICE['budgets']}, or {ADVICE['probes']})",
                RuntimeWarning, stacklevel=4,
            )

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

    def to_teacher(self) -> Teacher:
        """The identified network as a :class:`Teacher` (without its skip path, which a Teacher lacks)."""
        self._check_fitted()
        return Teacher.from_mlp(self.net_, self.theta_)

    def incoming(self, layer: int) -> np.ndarray:
        """Identified incoming vectors [w | b] of hidden layer ``layer`` (rows)."""
        self._check_fitted()
        n = len(self.layer_sizes_)
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not 0 <= layer < n:
            raise ValueError(f"layer: expected an integer in [0, {n - 1}] (a hidden layer), got {layer!r}")
        return np.array(self.net_.unpack(self.theta_)[layer])

    def report(self, teacher: Teacher, *, X_test=None, n_test: int = 2000, seed=0,
               match_tol_deg: float = 10.0) -> IdentificationReport:
        """Compare with a known ``teacher``: per teacher neuron the smallest symmetry-aware angle to a
        recovered neuron, excess neurons, overhead per layer and the functional relative MSE on fresh
        probes (``X_test``, or ``n_test`` Gaussian probes drawn with ``seed``); see
        :func:`~neuroflow.identify.report.compare_networks`."""
        self._check_fitted()
        if not isinstance(teacher, Teacher):
            raise ValueError(f"teacher: expected a neuroflow.identify.Teacher, got {type(teacher).__name__}")
        if teacher.input_dim != self.net_.input_dim or teacher.output_dim != self.net_.output_dim:
            raise ValueError(f"teacher: expected input/output dims {self.net_.input_dim}/{self.net_.output_dim}, "
                             f"got {teacher.input_dim}/{teacher.output_dim}")
        check_positive(match_tol_deg, "match_tol_deg")
        if X_test is None:
            check_positive(n_test, "n_test", integer=True)
            # the probes and both networks' activations on them ("Unable to allocate 218. TiB" for 1e13)
            check_memory(8 * int(n_test) * (teacher.input_dim + 2 * sum(teacher.hidden_sizes) + 2 * teacher.output_dim),
                         "n_test")
            X_test = gaussian_probes(n_test, teacher.input_dim, seed)
        X_test = check_array(X_test, "X_test", shape=(None, teacher.input_dim))
        recovered = [self.incoming(l) for l in range(len(self.layer_sizes_))]
        sign = sign_mode(len(self.layer_sizes_), self.activation)
        rep = compare_networks(teacher, recovered, self.activation, match_tol_deg=match_tol_deg, sign=sign)
        rel = relative_mse(teacher.forward(X_test), self.predict(X_test))
        losses = [[f.loss for f in fits] for fits in self.students_]
        return IdentificationReport(rep, rel, int(X_test.shape[0]), float(match_tol_deg), losses)
