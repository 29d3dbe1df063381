"""
    NeuroFlow

The Julia core of neuroflow: multilayer perceptrons with fused loss/gradient/exact-Hessian kernels
in MLPGradientFlow.jl's flat parameter layout, the gradient-flow integrators (Dormand–Prince 5(4),
RK4), Newton trust-region, BFGS and L-BFGS polishing, the `train` pipeline, pulse programming of
memristive crossbars, and batched actor–critic TD steps for the mazes. Standard library only.

Conventions (shared with the Python package `neuroflow`): samples are columns (`X` is
`input_dim × N`); parameters are one `Vector{Float64}`; the loss is the (weighted) mean over
samples of the summed squared error over outputs.
"""
module NeuroFlow

using LinearAlgebra
using Printf
using Random

export ActivationKind, ACTIVATION_NAMES, activation_kind, activation_name, activate, activate!
export Layer, MLP, Workspace, n_params, output_dim, layer_matrix, glorot_init
export forward, loss, gradient, gradient!, loss_and_gradient, hessian, hessian!
export gradient_flow, newton, bfgs, lbfgs, train
export MODE_IDEAL, MODE_MEAN, MODE_CYCLE, rng_uniform!, rng_normal!, program_cell!, crossbar_program!
export TDParams, MazeDevices, MazeState, MazeBuffers, td_step!, tmaze_td_step!, tmaze_run!, watermaze_td_step!,
       watermaze_run!
export wm_blocked, wm_move, place_features!

include("activations.jl")
include("mlp.jl")
include("hessian.jl")
include("gradient_flow.jl")
include("optimizers.jl")
include("train.jl")
include("crossbar.jl")
include("td.jl")

end # module
