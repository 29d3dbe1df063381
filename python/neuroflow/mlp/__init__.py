"""Multi-layer perceptrons in MLPGradientFlow.jl's flat parameter layout, with exact derivatives.

>>> from neuroflow.mlp import MLP
>>> net = MLP(2, [(4, "softplus", True), (1, "identity", True)])
>>> theta = net.init_params(seed=0)

``net.loss``, ``net.gradient`` and ``net.hessian`` are the mean squared error (summed over outputs),
its gradient and its exact Hessian; ``net.objective(X, Y)`` binds them to data for
:func:`neuroflow.flow.train`.
"""
from neuroflow.mlp.activations import ACTIVATIONS, Activation, get_activation
from neuroflow.mlp.network import MLP, BoundObjective

__all__ = ["MLP", "BoundObjective", "ACTIVATIONS", "Activation", "get_activation"]
