# Activation functions with their first and second derivatives, mirroring
# neuroflow.mlp.activations (same names, same definitions).
#
# Each activation is a singleton type so that the elementwise loops in `activate!` compile to
# straight-line code; `ActivationKind` is the compact tag stored in a layer, and `activate!` is the
# one function barrier that turns the tag into the singleton.

"""
    ActivationKind

Tag of an activation function stored in a [`Layer`](@ref). Build it from a name with
[`activation_kind`](@ref); the names are listed in [`ACTIVATION_NAMES`](@ref).
"""
@enum ActivationKind begin
    IDENTITY
    RELU
    SOFTPLUS
    SIGMOID
    TANH
    GELU
    SILU
    ERF
    NORMAL_CDF
    SQUARE
    CUBE
    G_FUNCTION
end

"""
    ACTIVATION_NAMES

Names accepted by [`activation_kind`](@ref), in the order of `neuroflow.mlp.activations.ACTIVATIONS`.
`"erf"` is `erf(x/√2)` (MLPGradientFlow's `sigmoid2`), `"square"` is `x²/2` and `"g"` is
`sigmoid(4x) + softplus(x)`.
"""
const ACTIVATION_NAMES = ("identity", "relu", "softplus", "sigmoid", "tanh", "gelu", "silu", "erf",
                          "normal_cdf", "square", "cube", "g")

const _KINDS = (IDENTITY, RELU, SOFTPLUS, SIGMOID, TANH, GELU, SILU, ERF, NORMAL_CDF, SQUARE, CUBE, G_FUNCTION)

"""
    activation_kind(name) -> ActivationKind

The activation called `name` (a `String` or `Symbol`, see [`ACTIVATION_NAMES`](@ref)); an
`ArgumentError` lists the known names otherwise.
"""
function activation_kind(name::AbstractString)
    key = lowercase(strip(name))
    for (n, k) in zip(ACTIVATION_NAMES, _KINDS)
        n == key && return k
    end
    throw(ArgumentError("activation: expected one of $(join(ACTIVATION_NAMES, ", ")), got \"$name\""))
end
activation_kind(name::Symbol) = activation_kind(String(name))
activation_kind(kind::ActivationKind) = kind

"""
    activation_name(kind::ActivationKind) -> String

The name of `kind`, as accepted by [`activation_kind`](@ref).
"""
activation_name(kind::ActivationKind) = ACTIVATION_NAMES[Int(kind) + 1]

# ----------------------------------------------------------------------------- special functions
# Julia's standard library has no erf, so it is computed here to full double precision (relative
# error below 5e-16 for erf and erfc on [-6, 27] against 40-digit mpmath values):
# * |x| < 0.5: the series erf(x) = 2/√π e^{-x²} Σ_n 2^n x^{2n+1} / (1·3···(2n+1)), whose terms are all
#   positive (no cancellation); erfc = 1 - erf loses nothing there, since erfc ≥ 0.47;
# * 0.5 ≤ |x| < 2.5: erfc(x) = e^{-x²} erfcx(x) with erfcx(x) = e^{x²} erfc(x) (smooth and slowly
#   varying) as a degree-22 Chebyshev series on [0.5, 2.5], its coefficients computed from 40-digit
#   values at the Chebyshev points (the last one is 2e-18);
# * |x| ≥ 2.5: the continued fraction of erfc evaluated from its tail with 60 terms.
# e^{-x²} is computed as e^{-h²} e^{-(2h + l) l} with x = h + l and h holding 26 bits, so that h² is
# exact and x² adds no rounding error of relative size x² eps. erf(x) = 1 - erfc(x) above 0.5.
# (1 - erf, as before, lost accuracy to 2e-12 relative just below 2.5.)

const _TWO_OVER_SQRTPI = 1.1283791670955126   # 2/√π
const _INV_SQRTPI = 0.5641895835477563        # 1/√π
const _INV_SQRT2 = 0.7071067811865476         # 1/√2
const _INV_SQRT2PI = 0.3989422804014327       # 1/√(2π)
const _ERF_LOW = 0.5
const _ERF_SWITCH = 2.5
const _ERFC_TERMS = 60
# Chebyshev coefficients of erfcx on [_ERF_LOW, _ERF_SWITCH], c_0 ... c_22 (c_0 already halved)
const _ERFCX_CHEB = (
    0.3653340484264038, -0.19193849097078522, 0.04575625752295691, -0.010084325230687821,
    0.0020805695406878066, -0.0004054756398509782, 7.515242494392495e-05, -1.3317484946394297e-05,
    2.2659766469553907e-06, -3.7150571054939534e-07, 5.886088510400192e-08, -9.034870951013967e-09,
    1.3464260802079644e-09, -1.9517255570619438e-10, 2.756399308745827e-11, -3.798241291395194e-12,
    5.113305147353336e-13, -6.73292461692943e-14, 8.680480245600252e-15, -1.0968181294090123e-15,
    1.3594139589099807e-16, -1.653722695128399e-17, 1.9502150591753587e-18,
)

function _erf_series(ax::Float64)
    x2 = 2.0 * ax * ax
    term = ax
    total = ax
    n = 0
    while term > 1.0e-17 * total
        n += 1
        term *= x2 / (2n + 1)
        total += term
    end
    return _TWO_OVER_SQRTPI * exp(-ax * ax) * total
end

# exp(-x²) for x ≥ 0 without the rounding error of x*x (Dekker's split: h has 26 significant bits)
function _exp_minus_square(ax::Float64)
    c = 134217729.0 * ax            # 2^27 + 1
    h = c - (c - ax)
    l = ax - h
    return exp(-h * h) * exp(-(2.0 * h + l) * l)
end

# erfcx(ax) = exp(ax²) erfc(ax) for _ERF_LOW ≤ ax ≤ _ERF_SWITCH: Clenshaw's recurrence
function _erfcx_chebyshev(ax::Float64)
    t = (2.0 * ax - (_ERF_LOW + _ERF_SWITCH)) / (_ERF_SWITCH - _ERF_LOW)
    b1 = 0.0
    b2 = 0.0
    for k in length(_ERFCX_CHEB):-1:2
        b1, b2 = 2.0 * t * b1 - b2 + _ERFCX_CHEB[k], b1
    end
    return t * b1 - b2 + _ERFCX_CHEB[1]
end

# erfc(ax) for ax ≥ _ERF_SWITCH
function _erfc_fraction(ax::Float64)
    t = ax
    for k in _ERFC_TERMS:-1:1
        t = ax + (0.5 * k) / t
    end
    return _INV_SQRTPI * _exp_minus_square(ax) / t
end

# erfc(ax) for ax ≥ _ERF_LOW
_erfc_positive(ax::Float64) = ax < _ERF_SWITCH ? _exp_minus_square(ax) * _erfcx_chebyshev(ax) : _erfc_fraction(ax)

"""
    erf(x::Float64)

The error function (the standard library has none; this one is accurate to about 5e-16 relative).
"""
function erf(x::Float64)
    ax = abs(x)
    r = ax < _ERF_LOW ? _erf_series(ax) : 1.0 - _erfc_positive(ax)
    return copysign(r, x)
end
erf(x::Real) = erf(Float64(x))

"""
    erfc(x::Float64)

The complementary error function `1 - erf(x)`, accurate to about 5e-16 relative for every x up to
its underflow near 27 (no cancellation: it is never computed as `1 - erf` where it is small).
"""
function erfc(x::Float64)
    ax = abs(x)
    if ax < _ERF_LOW
        return 1.0 - copysign(_erf_series(ax), x)
    end
    r = _erfc_positive(ax)
    return x > 0 ? r : 2.0 - r
end
erfc(x::Real) = erfc(Float64(x))

@inline _sigmoid(x::Float64) = x >= 0 ? 1.0 / (1.0 + exp(-x)) : (e = exp(x); e / (1.0 + e))
@inline _softplus(x::Float64) = x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))
@inline _normal_pdf(x::Float64) = _INV_SQRT2PI * exp(-0.5 * x * x)
@inline _normal_cdf(x::Float64) = 0.5 * erfc(-x * _INV_SQRT2)

# ----------------------------------------------------------------------------- singleton types
abstract type AbstractActivation end
struct Identity <: AbstractActivation end
struct Relu <: AbstractActivation end
struct Softplus <: AbstractActivation end
struct Sigmoid <: AbstractActivation end
struct Tanh <: AbstractActivation end
struct Gelu <: AbstractActivation end
struct Silu <: AbstractActivation end
struct Erf <: AbstractActivation end
struct NormalCDF <: AbstractActivation end
struct Square <: AbstractActivation end
struct Cube <: AbstractActivation end
struct GFun <: AbstractActivation end

# fdd(σ, x) = (σ(x), σ'(x), σ''(x))
@inline fdd(::Identity, x::Float64) = (x, 1.0, 0.0)
@inline fdd(::Relu, x::Float64) = x > 0 ? (x, 1.0, 0.0) : (0.0, 0.0, 0.0)
@inline function fdd(::Softplus, x::Float64)
    s = _sigmoid(x)
    return (_softplus(x), s, s * (1.0 - s))
end
@inline function fdd(::Sigmoid, x::Float64)
    s = _sigmoid(x)
    d = s * (1.0 - s)
    return (s, d, d * (1.0 - 2.0 * s))
end
@inline function fdd(::Tanh, x::Float64)
    t = tanh(x)
    d = 1.0 - t * t
    return (t, d, -2.0 * t * d)
end
@inline function fdd(::Gelu, x::Float64)
    p = _normal_pdf(x)
    c = _normal_cdf(x)
    return (x * c, c + x * p, p * (2.0 - x * x))
end
@inline function fdd(::Silu, x::Float64)
    s = _sigmoid(x)
    d = s * (1.0 - s)
    return (x * s, s + x * d, 2.0 * d + x * d * (1.0 - 2.0 * s))
end
@inline function fdd(::Erf, x::Float64)
    d = 2.0 * _normal_pdf(x)       # d/dx erf(x/√2) = √(2/π) e^{-x²/2}
    return (erf(x * _INV_SQRT2), d, -x * d)
end
@inline function fdd(::NormalCDF, x::Float64)
    p = _normal_pdf(x)
    return (_normal_cdf(x), p, -x * p)
end
@inline fdd(::Square, x::Float64) = (0.5 * x * x, x, 1.0)
@inline fdd(::Cube, x::Float64) = (x * x * x, 3.0 * x * x, 6.0 * x)
@inline function fdd(::GFun, x::Float64)
    s4 = _sigmoid(4.0 * x)
    d4 = s4 * (1.0 - s4)
    s = _sigmoid(x)
    d = s * (1.0 - s)
    return (s4 + _softplus(x), 4.0 * d4 + s, 16.0 * d4 * (1.0 - 2.0 * s4) + d)
end

function _activate!(F, D1, D2, σ::S, A) where {S<:AbstractActivation}
    @inbounds for i in eachindex(F, D1, D2, A)   # eachindex checks that all four agree
        f, d1, d2 = fdd(σ, Float64(A[i]))
        F[i] = f
        D1[i] = d1
        D2[i] = d2
    end
    return nothing
end

"""
    activate!(F, D1, D2, kind, A)

Write `σ.(A)`, `σ'.(A)` and `σ''.(A)` into `F`, `D1` and `D2` for the activation `kind`
(all arrays of one shape; no allocation).
"""
function activate!(F::AbstractArray{Float64}, D1::AbstractArray{Float64}, D2::AbstractArray{Float64},
                   kind::ActivationKind, A::AbstractArray{<:Real})
    kind === IDENTITY && return _activate!(F, D1, D2, Identity(), A)
    kind === RELU && return _activate!(F, D1, D2, Relu(), A)
    kind === SOFTPLUS && return _activate!(F, D1, D2, Softplus(), A)
    kind === SIGMOID && return _activate!(F, D1, D2, Sigmoid(), A)
    kind === TANH && return _activate!(F, D1, D2, Tanh(), A)
    kind === GELU && return _activate!(F, D1, D2, Gelu(), A)
    kind === SILU && return _activate!(F, D1, D2, Silu(), A)
    kind === ERF && return _activate!(F, D1, D2, Erf(), A)
    kind === NORMAL_CDF && return _activate!(F, D1, D2, NormalCDF(), A)
    kind === SQUARE && return _activate!(F, D1, D2, Square(), A)
    kind === CUBE && return _activate!(F, D1, D2, Cube(), A)
    return _activate!(F, D1, D2, GFun(), A)
end

"""
    activate(name, x::AbstractArray) -> (f, df, d2f)

The activation `name` and its first two derivatives at every element of `x` (new arrays);
the bridge uses it to compare with `neuroflow.mlp.activations`.
"""
function activate(name, x::AbstractArray{<:Real})
    F = Array{Float64}(undef, size(x))
    D1 = similar(F)
    D2 = similar(F)
    activate!(F, D1, D2, activation_kind(name), x)
    return F, D1, D2
end
