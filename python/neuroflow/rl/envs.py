"""The two navigation tasks, with the Gymnasium API (``reset(seed=) -> (obs, info)``, ``step(a) -> (obs, reward,
terminated, truncated, info)``) but without requiring gymnasium. The batched learning kernels in
:mod:`neuroflow.rl.kernels` implement the same dynamics for many seeds at once."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuroflow._utils import as_rng, check_array, check_positive, is_number
from neuroflow.rl.kernels import wm_blocked, wm_in_platform, wm_move

__all__ = ["Discrete", "Box", "TMaze", "WaterMaze", "TMAZE_TRANSITIONS", "WATERMAZE_MOVES"]


@dataclass(frozen=True)
class Discrete:
    """Integers ``0 .. n - 1`` (as ``gymnasium.spaces.Discrete``)."""

    n: int

    def __post_init__(self):
        check_positive(self.n, "n", integer=True)

    def contains(self, x) -> bool:
        return isinstance(x, (int, np.integer)) and not isinstance(x, bool) and 0 <= int(x) < self.n

    def sample(self, rng=None) -> int:
        return int(as_rng(rng, "rng").integers(self.n))


@dataclass(frozen=True)
class Box:
    """Real vectors in ``[low, high]`` of a fixed shape (as ``gymnasium.spaces.Box``)."""

    low: float
    high: float
    shape: tuple

    def __post_init__(self):
        for name in ("low", "high"):
            if not is_number(getattr(self, name), finite=True):
                raise ValueError(f"{name}: expected a finite number, got {getattr(self, name)!r}")
        if not self.low <= self.high:
            raise ValueError(f"low, high: expected low <= high, got {self.low!r} > {self.high!r}")

    def contains(self, x) -> bool:
        x = np.asarray(x, dtype=float)
        return x.shape == self.shape and bool(np.all((x >= self.low) & (x <= self.high)))

    def sample(self, rng=None) -> np.ndarray:
        return as_rng(rng, "rng").uniform(self.low, self.high, self.shape)


#: next state of the T-maze for (state, action): stem 0-4 (action 0 back / 1 forward; the start wall at 0 keeps
#: the agent in place), junction 4 (0 = unrewarded arm 7, 1 = rewarded arm 5), arm 5 -> 6 (reward), arm 7 -> 8
#: (dead end; 8 keeps the agent in place on "forward").
TMAZE_TRANSITIONS = np.array([[0, 1], [0, 2], [1, 3], [2, 4], [7, 5], [4, 6], [5, 6], [4, 8], [7, 8]], dtype=np.int64)

_S = np.sqrt(0.5)
#: the eight moves of the water maze (unit vectors): N, NE, E, SE, S, SW, W, NW
WATERMAZE_MOVES = np.array([[0, 1], [_S, _S], [1, 0], [_S, -_S], [0, -1], [-_S, -_S], [-1, 0], [-_S, _S]])


class _Env:
    max_steps = 300
    reset_options: tuple = ()

    def _check_reset(self, seed, options) -> dict:
        """``reset``'s arguments checked once: a seed as every seed of the library (a negative or fractional one was
        ignored by the T-maze and ended in numpy's TypeError in the water maze), ``options`` a dict of known keys
        (a misspelt ``'strat'`` was ignored, a list ended in AttributeError)."""
        if seed is not None:
            as_rng(seed)
        if options is None:
            return {}
        if not isinstance(options, dict):
            raise ValueError(f"options: expected None or a dict, got {type(options).__name__}")
        unknown = sorted(map(repr, set(options) - set(self.reset_options)))
        if unknown:
            raise ValueError(f"options: unknown key(s) {', '.join(unknown)}; {type(self).__name__} takes "
                             f"{list(self.reset_options) or 'none'}")
        return options

    def _check_action(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action: expected an integer in [0, {self.action_space.n - 1}], got {action!r}")
        if self._done:
            raise ValueError("action: no episode is running (none was started, or the last one ended); call reset() "
                             "first")

    def __repr__(self):
        return f"{type(self).__name__}()"


class TMaze(_Env):
    """T-maze with 9 states: stem 0-4 from the start, junction at 4, rewarded arm 5 -> 6 (r = 1 on reaching 6,
    which ends the episode), unrewarded arm 7 -> 8. Two actions per state; the optimal path takes 6 steps;
    an episode is truncated after ``max_steps`` (300) steps."""

    n_states = 9
    n_actions = 2
    start_state = 0
    reward_state = 6
    optimal_steps = 6

    def __init__(self, max_steps: int = 300):
        self.max_steps = int(check_positive(max_steps, "max_steps", integer=True))
        self.observation_space = Discrete(self.n_states)
        self.action_space = Discrete(self.n_actions)
        self.transitions = TMAZE_TRANSITIONS
        self.state = self.start_state
        self._t = 0
        self._done = False

    def reset(self, *, seed=None, options=None):
        self._check_reset(seed, options)   # the T-maze is deterministic: the seed is checked, then of no use
        self.state, self._t, self._done = self.start_state, 0, False
        return self.state, {"step": 0}

    def step(self, action):
        self._check_action(action)
        self.state = int(self.transitions[self.state, int(action)])
        self._t += 1
        terminated = self.state == self.reward_state
        truncated = not terminated and self._t >= self.max_steps
        self._done = terminated or truncated
        return self.state, (1.0 if terminated else 0.0), terminated, truncated, {"step": self._t}


class WaterMaze(_Env):
    """Morris water maze: arena [-6, 6]^2, platform of radius 0.5 at the origin, U-shaped obstacle (side bars
    1.5 <= |x| <= 2.5 for -2.5 < y < 2, bottom bar |x| <= 1.5 for -2.5 <= y <= -1.5) so the platform is reached
    from above. Eight moves of length 1.5, checked at 10 points and cut at walls; uniform random start outside
    obstacle and platform; r = 1 on reaching the platform; at most 300 steps."""

    n_actions = 8
    reset_options = ("start",)
    half_size = 6.0
    platform_radius = 0.5
    step_length = 1.5

    def __init__(self, max_steps: int = 300):
        self.max_steps = int(check_positive(max_steps, "max_steps", integer=True))
        self.observation_space = Box(-self.half_size, self.half_size, (2,))
        self.action_space = Discrete(self.n_actions)
        self.moves = WATERMAZE_MOVES
        self._rng = np.random.default_rng()
        self.position = np.zeros(2)
        self._t = 0
        self._done = True

    @classmethod
    def grid(cls, resolution: int) -> np.ndarray:
        """A ``resolution`` x ``resolution`` grid of positions over the arena, shape (resolution, resolution, 2):
        rows = y from -half_size to half_size, columns = x (the layout of the value maps)."""
        axis = np.linspace(-cls.half_size, cls.half_size, resolution)
        gx, gy = np.meshgrid(axis, axis)
        return np.stack([gx, gy], -1)

    @staticmethod
    def blocked(x: float, y: float) -> bool:
        return bool(wm_blocked(float(x), float(y), WaterMaze.half_size))

    @staticmethod
    def on_platform(x: float, y: float) -> bool:
        return bool(wm_in_platform(float(x), float(y), WaterMaze.platform_radius))

    def sample_start(self, rng=None) -> np.ndarray:
        rng = self._rng if rng is None else as_rng(rng, "rng")
        while True:
            p = rng.uniform(-self.half_size, self.half_size, 2)
            if not self.blocked(*p) and not self.on_platform(*p):
                return p

    def reset(self, *, seed=None, options=None):
        start = self._check_reset(seed, options).get("start")
        if start is not None:
            start = check_array(start, "options['start']", shape=(2,)).copy()
            if self.blocked(*start):
                raise ValueError(f"options['start']: {start.tolist()} lies inside a wall or outside the arena "
                                 f"[-{self.half_size:g}, {self.half_size:g}]^2")
            if self.on_platform(*start):   # the episode would be over before its first step
                raise ValueError(f"options['start']: {start.tolist()} lies on the platform; expected a start "
                                 f"outside it")
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.position = self.sample_start() if start is None else start
        self._t, self._done = 0, False
        return self.position.copy(), {"step": 0}

    def step(self, action):
        self._check_action(action)
        d = self.step_length * self.moves[int(action)]
        x, y, reward, done = wm_move(float(self.position[0]), float(self.position[1]), float(d[0]), float(d[1]),
                                     self.half_size, self.platform_radius, 10)
        self.position = np.array([x, y])
        self._t += 1
        terminated = bool(done)
        truncated = not terminated and self._t >= self.max_steps
        self._done = terminated or truncated
        return self.position.copy(), float(reward), terminated, truncated, {"step": self._t}
