"""The outcome of a batched maze run: steps per seed and episode, learned values and weights, operation counts."""
from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field

import numpy as np

from neuroflow._utils import check_choice, is_integer

__all__ = ["MazeResult", "CHECKPOINT_EPISODES", "CAPPED_SCORING"]

CHECKPOINT_EPISODES = (1, 10, 50, 100, 200)


@contextlib.contextmanager
def quiet_nans():
    """No warnings for the episodes an interrupted run did not get to (all-NaN columns): np.errstate alone let
    nanmean's "Mean of empty slice" and nanstd's "Degrees of freedom <= 0" through, three lines on the command
    line's stderr after every Ctrl-C."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
#: ways to score an episode that hit the step cap: as the cap (default) or as 0 (published T-maze notebook)
CAPPED_SCORING = ("cap", "zero")


@dataclass
class MazeResult:
    """Outcome of :meth:`ActorCritic.fit` over many seeds. ``steps`` is (n_seeds, n_episodes), NaN where an
    interrupted run did not get to. Steps are the moves taken until the goal.

    Scoring of episodes that hit the cap (``max_steps``) without reaching the goal: by default they count as
    the cap ("cap"), a lower bound on their true length. The published T-maze notebook (Portner et al. 2025,
    ``T-maze_emulation_and_plot.ipynb``) fills a zero-initialised array and writes the step count only when the
    goal is reached, so its failed episodes are averaged in as 0 steps; its T-maze curves (36.1/17.1/9.5/8.7/7.7)
    are in that scoring. ``capped="zero"`` (in :meth:`scored_steps`, :meth:`at_episodes`) reproduces it for
    like-with-like comparisons; it is not a meaningful length. The published water-maze script counts a capped
    episode as the cap, like the default."""

    task: str
    synapse: str
    steps: np.ndarray
    value_map: np.ndarray
    critic_weights: np.ndarray
    actor_weights: np.ndarray
    time_s: float
    seed: int
    params: dict = field(default_factory=dict)
    interrupted: bool = False
    seed_critic_weights: np.ndarray | None = field(default=None, repr=False)   # (n_seeds, n_features)
    #: (n_episodes, 4) operation counts summed over the seeds that finished each episode: SET pulses, RESET
    #: pulses, weight reads, weight updates (see :mod:`neuroflow.rl.kernels`)
    op_counts: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_seeds(self) -> int:
        return self.steps.shape[0]

    @property
    def n_episodes(self) -> int:
        return self.steps.shape[1]

    @property
    def completed_seeds(self) -> int:
        return int(np.sum(np.all(np.isfinite(self.steps), axis=1)))

    @property
    def steps_mean(self) -> np.ndarray:
        with quiet_nans():
            return np.nanmean(self.steps, axis=0) if self.steps.size else np.zeros(0)

    @property
    def steps_std(self) -> np.ndarray:
        with quiet_nans():
            return np.nanstd(self.steps, axis=0) if self.steps.size else np.zeros(0)

    def scored_steps(self, capped: str = "cap") -> np.ndarray:
        """``steps`` with capped episodes scored as the cap (``"cap"``, default) or as 0 (``"zero"``, the
        published T-maze notebook's bookkeeping)."""
        check_choice(capped, "capped", list(CAPPED_SCORING))
        if capped == "cap":
            return self.steps
        cap = self.params.get("max_steps", 300)
        return np.where(self.steps >= cap, 0.0, self.steps)

    def at_episodes(self, episodes=CHECKPOINT_EPISODES, capped: str = "cap") -> dict:
        """Mean steps over seeds at 1-based episode numbers (those within the run); ``capped`` as in
        :meth:`scored_steps`."""
        episodes = list(episodes) if isinstance(episodes, (list, tuple, range, np.ndarray)) else [episodes]
        bad = [e for e in episodes if not is_integer(e) or e < 1]
        if bad:  # 1.5 ended in numpy's IndexError, "a" in a TypeError; 0 and -1 were dropped as "not within the run"
            raise ValueError(f"episodes: expected whole 1-based episode numbers, got {bad[0]!r}")
        with quiet_nans():
            m = np.nanmean(self.scored_steps(capped), axis=0) if self.steps.size else np.zeros(0)
        return {int(e): float(m[e - 1]) for e in episodes if 1 <= e <= m.size}

    def capped_fraction(self) -> np.ndarray:
        """Fraction of seeds whose episode hit the step cap, per episode."""
        cap = self.params.get("max_steps", 300)
        with quiet_nans():
            return np.nanmean(np.where(np.isfinite(self.steps), self.steps >= cap, np.nan), axis=0)

    @property
    def final_steps(self) -> tuple[float, float]:
        """Mean and SD over seeds of the last episode's steps."""
        last = self.steps[:, -1]
        last = last[np.isfinite(last)]
        return (float(last.mean()), float(last.std())) if last.size else (float("nan"), float("nan"))

    def ops_per_episode(self) -> dict:
        """Mean over seeds of the operations of each episode: ``set_pulses``, ``reset_pulses``, ``weight_reads``,
        ``weight_updates`` (arrays of length ``n_episodes``, NaN for episodes no seed finished) and ``steps``."""
        n = np.isfinite(self.steps).sum(0).astype(float)
        with quiet_nans():
            c = self.op_counts / n[:, None] if self.op_counts is not None else np.full((self.n_episodes, 4), np.nan)
            c[n == 0] = np.nan
        return {"steps": self.steps_mean, "set_pulses": c[:, 0], "reset_pulses": c[:, 1], "weight_reads": c[:, 2],
                "weight_updates": c[:, 3]}

    @property
    def seed_episodes_per_s(self) -> float:
        done = float(np.isfinite(self.steps).sum())
        return done / self.time_s if self.time_s > 0 else float("inf")

    def to_dict(self) -> dict:
        fm, fs = self.final_steps
        return {
            "task": self.task, "synapse": self.synapse, "n_seeds": self.n_seeds, "n_episodes": self.n_episodes,
            "seed": self.seed, "steps_mean": self.steps_mean, "steps_std": self.steps_std,
            "steps_at_episode": self.at_episodes(),
            "steps_at_episode_capped_as_zero": self.at_episodes(capped="zero"), "final_steps_mean": fm,
            "final_steps_std": fs,
            "value_map": self.value_map, "time_s": self.time_s, "seed_episodes_per_s": self.seed_episodes_per_s,
            "completed_seeds": self.completed_seeds, "interrupted": self.interrupted, "params": self.params,
        }
