"""neuroflow: gradient flow for MLPs, Expand-and-Cluster, memristive actor-critic agents and
spiking voice activity detection, with an optional Julia core.

Heavy submodules (torch, librosa, juliacall) are imported lazily: ``import neuroflow`` is cheap and
never starts Julia.
"""
from __future__ import annotations

from neuroflow._lazy import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it (resolved on first access)
_LAZY = {
    "MLP": "neuroflow.mlp",
    "train": "neuroflow.flow",
    "TrainResult": "neuroflow.flow",
    "ExpandAndCluster": "neuroflow.identify",
    "VCMDevice": "neuroflow.memristor",
    "Crossbar": "neuroflow.memristor",
    "ActorCritic": "neuroflow.rl",
}

__all__ = ["__version__", *_LAZY]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
