# The exact Hessian of the MLP loss (see mlp.jl for the network, its layout and the loss), column by
# column with Pearlmutter's R-operator (forward-over-reverse), symmetrised.

# Column j of the Hessian is H e_j, the directional derivative of the gradient along e_j
# (Pearlmutter's R-operator): one forward and one backward sweep of the "R" buffers, batched over
# samples. Layers before the one that owns θ_j do not move, so the forward sweep starts there.
function _hessian_column!(hv::Vector{Float64}, ws::Workspace, net::MLP, θ::Vector{Float64},
                          X::Matrix{Float64}, j::Int)
    L = n_layers(net)
    m = searchsortedlast(net.offsets, j - 1)       # layer that owns parameter j
    local_index = j - net.offsets[m]               # 1-based index inside layer m's matrix
    width_m = net.layers[m].width
    row = (local_index - 1) % width_m + 1
    col = (local_index - 1) ÷ width_m + 1
    k_m = fan_in(net, m)

    # forward sweep
    for l in 1:L
        RA = ws.RA[l]
        RH = ws.RH[l]
        if l < m
            fill!(RA, 0.0)
            fill!(RH, 0.0)
            continue
        elseif l == m
            fill!(RA, 0.0)
            if col <= k_m
                prev = m == 1 ? X : ws.H[m-1]
                @inbounds for n in axes(RA, 2)   # RA, prev have N columns; row ≤ width, col ≤ rows(prev)
                    RA[row, n] = prev[col, n]
                end
            else
                view(RA, row, :) .= 1.0
            end
        else
            M = layer_matrix(net, θ, l)
            mul!(RA, view(M, :, 1:fan_in(net, l)), ws.RH[l-1])
        end
        RH .= ws.D1[l] .* RA
    end

    # backward sweep
    ws.RGH[L] .= 2.0 .* ws.RH[L] .* transpose(ws.c)
    for l in L:-1:1
        layer = net.layers[l]
        k = fan_in(net, l)
        RDA = ws.RDA[l]
        RDA .= ws.RGH[l] .* ws.D1[l] .+ ws.GH[l] .* ws.D2[l] .* ws.RA[l]
        Hl = layer_matrix(net, hv, l)
        Wpart = view(Hl, :, 1:k)
        prev = l == 1 ? X : ws.H[l-1]
        mul!(Wpart, RDA, transpose(prev))
        if l > 1 && l > m        # R{h_{l-1}} is zero for l-1 < m
            mul!(Wpart, ws.DA[l], transpose(ws.RH[l-1]), 1.0, 1.0)
        end
        if layer.bias
            sum!(view(Hl, :, k + 1:k + 1), RDA)
        end
        if l > 1
            RGH = ws.RGH[l-1]
            mul!(RGH, transpose(view(layer_matrix(net, θ, l), :, 1:k)), RDA)
            if l == m && col <= k_m
                # the direction itself moves W_m[row, col]: R{∂L/∂h_{m-1}} gains e_col ⊗ δ_m[row, :]
                DA = ws.DA[l]
                @inbounds for n in axes(RGH, 2)   # RGH, DA have N columns; col ≤ fan_in, row ≤ width
                    RGH[col, n] += DA[row, n]
                end
            end
        end
    end
    return hv
end

"""
    hessian!(Hm, net, θ, X, Y; weights=nothing, workspace=nothing) -> Float64

Write the exact Hessian ∇²L(θ) into the square matrix `Hm` and return L(θ). Exact for every
activation (second derivatives included), computed column by column with the R-operator and
symmetrised at the end.
"""
function hessian!(Hm::AbstractMatrix{Float64}, net::MLP, θ::AbstractVector{<:Real}, X::AbstractMatrix{<:Real},
                  Y::AbstractMatrix{<:Real}; weights=nothing, workspace::Union{Nothing,Workspace}=nothing)
    _check_data(net, θ, X, Y, weights)
    P = n_params(net)
    size(Hm) == (P, P) || throw(DimensionMismatch("H: expected size ($P, $P), got $(size(Hm))"))
    ws = workspace === nothing || workspace.N != size(X, 2) ? Workspace(net, size(X, 2)) : workspace
    θv = _param_vector(θ)
    Xm = _input_matrix(X)
    L = _loss!(ws, net, θv, Xm, _input_matrix(Y), weights)
    _backward!(ws.hv, ws, net, θv, Xm)    # fills ws.DA and ws.GH, which every column needs
    for j in 1:P
        _hessian_column!(ws.hv, ws, net, θv, Xm, j)
        copyto!(view(Hm, :, j), ws.hv)
    end
    @inbounds for j in 1:P, i in (j+1):P  # Hm is P × P (checked above)
        s = 0.5 * (Hm[i, j] + Hm[j, i])
        Hm[i, j] = s
        Hm[j, i] = s
    end
    return L
end

"""
    hessian(net, θ, X, Y; weights=nothing) -> Matrix{Float64}

The exact Hessian ∇²L(θ) as a new matrix (see [`hessian!`](@ref)).
"""
function hessian(net::MLP, θ::AbstractVector{<:Real}, X::AbstractMatrix{<:Real}, Y::AbstractMatrix{<:Real};
                 weights=nothing)
    P = n_params(net)
    Hm = zeros(P, P)
    hessian!(Hm, net, θ, X, Y; weights=weights)
    return Hm
end

"""
    glorot_init(net; rng=Random.default_rng()) -> Vector{Float64}

Glorot-normal weights (standard deviation √(2/(fan_in + fan_out))) and zero biases, in the flat
layout. The Python `MLP.init_params` uses NumPy's generator, so the draws differ; the distribution
is the same.
"""
function glorot_init(net::MLP; rng::AbstractRNG=Random.default_rng())
    θ = zeros(n_params(net))
    for l in 1:n_layers(net)
        M = layer_matrix(net, θ, l)
        k = fan_in(net, l)
        sd = sqrt(2.0 / (k + net.layers[l].width))
        W = view(M, :, 1:k)
        randn!(rng, W)
        W .*= sd
    end
    return θ
end
