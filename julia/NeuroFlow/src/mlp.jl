# Multilayer perceptrons with one flat parameter vector in MLPGradientFlow.jl's layout, and fused
# kernels for the loss, its gradient and its exact Hessian (samples in columns).
#
# Layout (the same as neuroflow.mlp.MLP.pack/unpack): layer l owns a matrix of size
# (width_l, fan_in_l + has_bias_l) whose last column is the bias; it is stored column-major and the
# layers are concatenated. Column-major storage means `reshape(view(θ, range), out, cols)` *is*
# the layer matrix, so no kernel ever copies parameters.
#
# Loss: L(θ) = Σ_n c_n Σ_k (ŷ_kn - y_kn)² with c_n = 1/N, or c_n = w_n / Σ_m w_m with per-sample
# weights w: the (weighted) mean over samples of the summed squared error, as in MLPGradientFlow
# and neuroflow.mlp.MLP.loss.

"""
    Layer(width, activation, bias=true)

One layer of an [`MLP`](@ref): `width` units, an activation (name, `Symbol` or
[`ActivationKind`](@ref)) and whether it has a bias.
"""
struct Layer
    width::Int
    activation::ActivationKind
    bias::Bool
    function Layer(width::Integer, activation, bias::Bool=true)
        width >= 1 || throw(ArgumentError("width: expected a positive integer, got $width"))
        return new(Int(width), activation_kind(activation), bias)
    end
end

_as_layer(l::Layer) = l
_as_layer(t::Tuple) = Layer(t...)

"""
    MLP(input_dim, layers)
    MLP(input_dim, widths, activations, biases)

A fully connected network with `input_dim` inputs and the given layers, each a [`Layer`](@ref) or
a tuple `(width, activation, has_bias)` as in Python's `neuroflow.MLP`. The second form takes the
three columns separately (`activations` may be one comma-separated string), which is how the
Python bridge builds it.

Fields: `input_dim`, `layers`, `offsets` (`θ[offsets[l]+1:offsets[l+1]]` is layer `l`).
See also [`n_params`](@ref), [`layer_matrix`](@ref), [`output_dim`](@ref).
"""
struct MLP
    input_dim::Int
    layers::Vector{Layer}
    offsets::Vector{Int}
    function MLP(input_dim::Integer, layers::AbstractVector)
        input_dim >= 1 || throw(ArgumentError("input_dim: expected a positive integer, got $input_dim"))
        isempty(layers) && throw(ArgumentError("layers: expected at least one layer, got none"))
        specs = Layer[_as_layer(l) for l in layers]
        offsets = zeros(Int, length(specs) + 1)
        d_in = Int(input_dim)
        for (l, layer) in enumerate(specs)
            offsets[l+1] = offsets[l] + layer.width * (d_in + layer.bias)
            d_in = layer.width
        end
        return new(Int(input_dim), specs, offsets)
    end
end

function MLP(input_dim::Integer, widths::AbstractVector, activations::AbstractVector, biases::AbstractVector)
    n = length(widths)
    (length(activations) == n && length(biases) == n) || throw(ArgumentError(
        "layers: widths, activations and biases must have one entry per layer, got lengths " *
        "$(length(widths)), $(length(activations)), $(length(biases))"))
    return MLP(input_dim, [Layer(Int(widths[i]), string(activations[i]), Bool(biases[i])) for i in 1:n])
end

function MLP(input_dim::Integer, widths::AbstractVector, activations::AbstractString, biases::AbstractVector)
    return MLP(input_dim, widths, String.(split(activations, ',')), biases)
end

"""
    n_params(net::MLP) -> Int

Length of the flat parameter vector.
"""
n_params(net::MLP) = net.offsets[end]

"""
    output_dim(net::MLP) -> Int

Width of the last layer.
"""
output_dim(net::MLP) = net.layers[end].width

n_layers(net::MLP) = length(net.layers)
fan_in(net::MLP, l::Int) = l == 1 ? net.input_dim : net.layers[l-1].width

"""
    layer_matrix(net, θ, l)

Layer `l`'s `(width, fan_in + has_bias)` matrix as a view into `θ` (bias = last column).
"""
function layer_matrix(net::MLP, θ::AbstractVector, l::Int)
    layer = net.layers[l]
    return reshape(view(θ, (net.offsets[l]+1):net.offsets[l+1]), layer.width, fan_in(net, l) + layer.bias)
end

function Base.show(io::IO, net::MLP)
    print(io, "MLP(", net.input_dim)
    for layer in net.layers
        print(io, " → ", layer.width, " ", activation_name(layer.activation), layer.bias ? "" : " (no bias)")
    end
    print(io, "; ", n_params(net), " parameters)")
end

# ----------------------------------------------------------------------------- workspace
"""
    Workspace(net, N)

Preallocated buffers for `N` samples: pre-activations, activations and their derivatives, the
backward signals, and the directional (R-operator) buffers of the Hessian. Pass one to the `!`
kernels to make repeated evaluations allocation-free; it is rebuilt when `N` changes.
"""
struct Workspace
    N::Int
    A::Vector{Matrix{Float64}}    # pre-activations a_l
    H::Vector{Matrix{Float64}}    # activations h_l = σ(a_l)
    D1::Vector{Matrix{Float64}}   # σ'(a_l)
    D2::Vector{Matrix{Float64}}   # σ''(a_l)
    GH::Vector{Matrix{Float64}}   # ∂L/∂h_l
    DA::Vector{Matrix{Float64}}   # ∂L/∂a_l
    RA::Vector{Matrix{Float64}}   # R-operator (directional derivative) of a_l
    RH::Vector{Matrix{Float64}}
    RGH::Vector{Matrix{Float64}}
    RDA::Vector{Matrix{Float64}}
    c::Vector{Float64}            # per-sample loss coefficients
    hv::Vector{Float64}           # one Hessian column
end

function Workspace(net::MLP, N::Integer)
    mats() = [zeros(layer.width, N) for layer in net.layers]
    return Workspace(Int(N), mats(), mats(), mats(), mats(), mats(), mats(), mats(), mats(), mats(), mats(),
                     zeros(N), zeros(n_params(net)))
end

_input_matrix(X::Matrix{Float64}) = X
_input_matrix(X::AbstractMatrix{<:Real}) = Matrix{Float64}(X)
_param_vector(θ::Vector{Float64}) = θ
_param_vector(θ::AbstractVector{<:Real}) = Vector{Float64}(θ)

function _check_data(net::MLP, θ::AbstractVector, X::AbstractMatrix, Y, weights)
    length(θ) == n_params(net) || throw(DimensionMismatch(
        "theta: expected $(n_params(net)) parameters for $net, got $(length(θ))"))
    size(X, 1) == net.input_dim || throw(DimensionMismatch(
        "X: expected $(net.input_dim) rows (inputs; samples are columns), got size $(size(X))"))
    if Y !== nothing
        size(Y) == (output_dim(net), size(X, 2)) || throw(DimensionMismatch(
            "Y: expected size $((output_dim(net), size(X, 2))) (outputs × samples), got $(size(Y))"))
    end
    if weights !== nothing
        length(weights) == size(X, 2) || throw(DimensionMismatch(
            "weights: expected one weight per sample ($(size(X, 2))), got $(length(weights))"))
        (all(>=(0), weights) && sum(weights) > 0) || throw(ArgumentError(
            "weights: expected non-negative per-sample weights with a positive sum"))
    end
    return nothing
end

function _coefficients!(c::Vector{Float64}, weights)
    N = length(c)
    if weights === nothing
        fill!(c, 1.0 / N)
    else
        total = 0.0
        @inbounds for n in 1:N   # length(weights) == N was checked at the boundary
            c[n] = Float64(weights[n])
            total += c[n]
        end
        c ./= total
    end
    return c
end

# ----------------------------------------------------------------------------- forward
function _forward!(ws::Workspace, net::MLP, θ::AbstractVector{Float64}, X::AbstractMatrix{Float64})
    prev = X
    for l in 1:n_layers(net)
        layer = net.layers[l]
        M = layer_matrix(net, θ, l)
        k = fan_in(net, l)
        A = ws.A[l]
        mul!(A, view(M, :, 1:k), prev)
        if layer.bias
            b = view(M, :, k + 1)
            A .+= b
        end
        activate!(ws.H[l], ws.D1[l], ws.D2[l], layer.activation, A)
        prev = ws.H[l]
    end
    return ws.H[end]
end

"""
    forward(net, θ, X) -> Matrix{Float64}

The network's outputs `(output_dim, N)` for inputs `X` `(input_dim, N)` (samples in columns).
"""
function forward(net::MLP, θ::AbstractVector{<:Real}, X::AbstractMatrix{<:Real})
    _check_data(net, θ, X, nothing, nothing)
    ws = Workspace(net, size(X, 2))
    return copy(_forward!(ws, net, _param_vector(θ), _input_matrix(X)))
end

# L and ∂L/∂h_L from the forward pass already in ws
function _output_loss!(ws::Workspace, Y::AbstractMatrix{Float64})
    out = ws.H[end]
    GH = ws.GH[end]
    c = ws.c
    total = 0.0
    @inbounds for n in axes(out, 2), k in axes(out, 1)   # sizes checked at the boundary
        e = out[k, n] - Y[k, n]
        total += c[n] * e * e
        GH[k, n] = 2.0 * c[n] * e
    end
    return total
end

"""
    loss(net, θ, X, Y; weights=nothing) -> Float64

Mean over samples (columns) of the summed squared error over outputs; with `weights`, the
weighted mean `Σ_n w_n Σ_k (ŷ_kn - y_kn)² / Σ_n w_n`.
"""
function loss(net::MLP, θ::AbstractVector{<:Real}, X::AbstractMatrix{<:Real}, Y::AbstractMatrix{<:Real};
              weights=nothing)
    _check_data(net, θ, X, Y, weights)
    ws = Workspace(net, size(X, 2))
    return _loss!(ws, net, _param_vector(θ), _input_matrix(X), _input_matrix(Y), weights)
end

function _loss!(ws::Workspace, net::MLP, θ::Vector{Float64}, X::Matrix{Float64}, Y::Matrix{Float64}, weights)
    _coefficients!(ws.c, weights)
    _forward!(ws, net, θ, X)
    return _output_loss!(ws, Y)
end

# ----------------------------------------------------------------------------- gradient
# backward pass after _forward!/_output_loss!: fills ws.DA, ws.GH and the gradient g
function _backward!(g::AbstractVector{Float64}, ws::Workspace, net::MLP, θ::AbstractVector{Float64},
                    X::AbstractMatrix{Float64})
    for l in n_layers(net):-1:1
        layer = net.layers[l]
        k = fan_in(net, l)
        DA = ws.DA[l]
        DA .= ws.GH[l] .* ws.D1[l]
        prev = l == 1 ? X : ws.H[l-1]
        Gl = layer_matrix(net, g, l)
        mul!(view(Gl, :, 1:k), DA, transpose(prev))
        if layer.bias
            sum!(view(Gl, :, k + 1:k + 1), DA)
        end
        if l > 1
            mul!(ws.GH[l-1], transpose(view(layer_matrix(net, θ, l), :, 1:k)), DA)
        end
    end
    return g
end

"""
    gradient!(g, net, θ, X, Y; weights=nothing, workspace=nothing) -> Float64

Write ∇L(θ) into `g` and return the loss L(θ) (see [`loss`](@ref)). With a [`Workspace`](@ref)
for `size(X, 2)` samples, `θ::Vector{Float64}` and `X`, `Y` as `Matrix{Float64}`, the call does
not allocate.
"""
function gradient!(g::AbstractVector{Float64}, net::MLP, θ::AbstractVector{<:Real}, X::AbstractMatrix{<:Real},
                   Y::AbstractMatrix{<:Real}; weights=nothing, workspace::Union{Nothing,Workspace}=nothing)
    _check_data(net, θ, X, Y, weights)
    length(g) == n_params(net) || throw(DimensionMismatch("g: expected length $(n_params(net)), got $(length(g))"))
    ws = workspace === nothing || workspace.N != size(X, 2) ? Workspace(net, size(X, 2)) : workspace
    θv = _param_vector(θ)
    Xm = _input_matrix(X)
    L = _loss!(ws, net, θv, Xm, _input_matrix(Y), weights)
    _backward!(g, ws, net, θv, Xm)
    return L
end

"""
    gradient(net, θ, X, Y; weights=nothing) -> Vector{Float64}

∇L(θ) as a new vector (see [`gradient!`](@ref)).
"""
function gradient(net::MLP, θ::AbstractVector{<:Real}, X::AbstractMatrix{<:Real}, Y::AbstractMatrix{<:Real};
                  weights=nothing)
    g = zeros(n_params(net))
    gradient!(g, net, θ, X, Y; weights=weights)
    return g
end

"""
    loss_and_gradient(net, θ, X, Y; weights=nothing) -> (L, ∇L)

The loss and its gradient (a new vector) from one fused forward/backward pass.
"""
function loss_and_gradient(net::MLP, θ::AbstractVector{<:Real}, X::AbstractMatrix{<:Real}, Y::AbstractMatrix{<:Real};
                           weights=nothing)
    g = zeros(n_params(net))
    L = gradient!(g, net, θ, X, Y; weights=weights)
    return L, g
end
