"""Every VAD system by name: ``get_system("webrtc:3")``, and which of them can run here.

Specs: ``energy``, ``webrtc`` / ``webrtc:0`` .. ``webrtc:3`` (aggressiveness), ``silero``, and the
spiking detectors ``snu`` and ``bin`` (the shipped models) or ``snu:PATH`` / ``bin:PATH`` (a saved
model of that kind: a file of the other kind is refused). This module sits above
:mod:`neuroflow.vad.systems` (the baselines) and :mod:`neuroflow.vad.detect` (the spiking systems),
so neither needs the other.
"""
from __future__ import annotations

from neuroflow.vad.systems import EnergyVAD, SileroVAD, SystemUnavailable, VADSystem, WebRTCVAD

#: the specs ``vad compare`` tries, in order
DEFAULT_SPECS = ("energy", "webrtc:0", "webrtc:1", "webrtc:2", "webrtc:3", "silero", "snu", "bin")
#: spec names, for help texts and errors
SPEC_HELP = "energy, webrtc[:0-3], silero, snu[:PATH] or bin[:PATH]"


def parse_spec(spec) -> tuple[str, str]:
    """``(kind, argument)`` of a spec, checked without building the system (ValueError names ``system``)."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"system: expected a spec such as 'webrtc:3' ({SPEC_HELP}), got {spec!r}")
    kind, colon, arg = spec.strip().partition(":")
    kind = kind.lower()
    if kind not in ("energy", "webrtc", "silero", "snu", "bin"):
        raise ValueError(f"system: unknown spec {spec!r}; expected {SPEC_HELP}")
    if kind in ("energy", "silero") and colon:
        raise ValueError(f"system: {kind!r} takes no argument, got {spec!r}")
    if colon and not arg.strip():
        raise ValueError(f"system: {spec!r} has nothing after the colon; expected "
                         f"{'a mode 0-3' if kind == 'webrtc' else 'a model path'} there, or {kind!r} alone")
    if kind == "webrtc" and arg and arg not in ("0", "1", "2", "3"):
        raise ValueError(f"system: webrtc mode must be 0, 1, 2 or 3, got {spec!r}")
    return kind, arg


def get_system(spec) -> VADSystem:
    """Build a system from a spec (see the module docstring); a :class:`VADSystem` passes through.

    Parameters
    ----------
    spec : str or VADSystem

    Returns
    -------
    VADSystem

    Raises ValueError for an unknown spec and :class:`~neuroflow.vad.systems.SystemUnavailable` when
    the system's extra or model file is missing.
    """
    if isinstance(spec, VADSystem):
        return spec
    kind, arg = parse_spec(spec)
    if kind == "energy":
        return EnergyVAD()
    if kind == "webrtc":
        return WebRTCVAD(int(arg) if arg else 3)
    if kind == "silero":
        return SileroVAD()
    from neuroflow.vad.detect import SpikingVADSystem  # torch: imported only when asked for

    try:
        system = SpikingVADSystem(arg if arg else kind)
    except FileNotFoundError as exc:
        raise SystemUnavailable(f"{kind}: model not found ({exc})") from None
    actual = getattr(getattr(system, "model", None), "kind", kind)
    if actual != kind:  # snu:PATH of a bin model would run and be reported as bin
        raise ValueError(f"{arg}: a {actual} model, not {kind}; use {actual}:{arg}")
    return system


def spec_key(spec) -> tuple:
    """What system a spec names, for finding the same one given twice: ``("webrtc", "3")`` for both "webrtc" and
    "webrtc:3", the kind and the resolved model file for "snu:PATH" and "bin:PATH"."""
    if isinstance(spec, VADSystem):
        return ("system", id(spec))
    kind, arg = parse_spec(spec)
    if kind == "webrtc":
        return kind, arg or "3"
    if kind in ("snu", "bin") and arg:
        from neuroflow._utils import expanded

        try:
            return kind, str(expanded(arg).resolve())
        except (OSError, RuntimeError):
            return kind, arg
    return kind, ""


def distinct_systems(specs) -> None:
    """ValueError naming ``specs`` when two of them name the same system (its rows would be the same twice, and a
    report keyed by system name would keep one)."""
    if isinstance(specs, (str, bytes)) or not hasattr(specs, "__iter__"):  # a string would be read letter by letter
        raise ValueError(f"specs: expected a list of system specs such as ['energy', 'webrtc:3'], got {specs!r:.60}")
    seen = {}
    for spec in specs:
        key = spec_key(spec)
        if key in seen:
            same = "is given twice" if seen[key] == spec else f"and {seen[key]!r} name the same system"
            raise ValueError(f"specs: {spec!r} {same}; give each system once")
        seen[key] = spec


def _name_apart(systems: list, specs: list) -> None:
    """Give systems whose names collide (two model files of one stem, "snu:a/x.pt" and "snu:b/x.pt") their specs as
    names; ValueError naming both when those collide too."""
    names = [s.name for s in systems]
    for i, s in enumerate(systems):
        if names.count(s.name) > 1 and isinstance(specs[i], str):
            s.name = specs[i].strip()
    final = [s.name for s in systems]
    for i, name in enumerate(final):
        if final.count(name) > 1:
            j = final.index(name, i + 1)
            raise ValueError(f"specs: {specs[i]!r} and {specs[j]!r} would both be reported as {name!r}; "
                             f"give one of them another name (e.g. copy its model file to another name)")


def available_systems(specs=DEFAULT_SPECS) -> tuple[list[VADSystem], list[str]]:
    """Build every system in ``specs`` that can run here: ``(systems, skipped)`` with one line per skipped one.

    The same system given twice is refused (ValueError naming ``specs``); systems whose names would collide (model
    files of one name in two folders) are named by their specs instead."""
    if not isinstance(specs, (str, bytes)) and hasattr(specs, "__iter__"):  # a string was listed letter by letter
        specs = list(specs)
    distinct_systems(specs)
    systems, built, skipped = [], [], []
    for spec in specs:
        try:
            systems.append(get_system(spec))
            built.append(spec)
        except SystemUnavailable as exc:
            skipped.append(f"skipped {spec}: {exc}")
    _name_apart(systems, built)
    return systems, skipped
