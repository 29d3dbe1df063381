"""Actor-critic TD learning on emulated memristors: T-maze and Morris water maze, batched over seeds.

>>> from neuroflow.rl import ActorCritic
>>> agent = ActorCritic("tmaze", synapse="memristor").fit(n_episodes=200, n_seeds=100, seed=0)
>>> agent.result_.at_episodes()          # mean steps at episodes 1/10/50/100/200
"""
from neuroflow.rl.agent import CHECKPOINT_EPISODES, DEFAULTS, SYNAPSES, ActorCritic, MazeResult
from neuroflow.rl.envs import Box, Discrete, TMaze, WaterMaze
from neuroflow.rl.place_cells import PlaceCells
from neuroflow.rl.sweep import SweepResult, maze_sweep

__all__ = ["ActorCritic", "MazeResult", "TMaze", "WaterMaze", "PlaceCells", "Discrete", "Box", "SYNAPSES",
           "DEFAULTS", "CHECKPOINT_EPISODES", "maze_sweep", "SweepResult"]
