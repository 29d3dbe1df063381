"""Voice activity detection: noisy-speech corpora (eSpeak, and real speech from Debian packages), log-mel
features, metrics, baseline detectors and (in the modules of the spiking-VAD part) spiking networks.

Modules are imported on use: ``neuroflow.vad.corpus`` (generate/load the corpus),
``neuroflow.vad.sources`` (the real-speech packages and the split by speaker), ``neuroflow.vad.realspeech``
(``benchmark_set``: the held-out real-speech evaluation set), ``neuroflow.vad.roomtone``,
``neuroflow.vad.features`` (``logmel``; frame alignment), ``neuroflow.vad.audio`` (``load_audio``),
``neuroflow.vad.speech`` (eSpeak NG synthesis), ``neuroflow.vad.noise``, ``neuroflow.vad.metrics``,
``neuroflow.vad.evaluation`` (``evaluate_system``, ``compare_systems``), ``neuroflow.vad.registry``
(``get_system("webrtc:3")``, ``available_systems()``) and ``neuroflow.vad.detect`` (``detect``,
``SpikingVADSystem``, streams).
"""
from __future__ import annotations

from neuroflow._lazy import lazy_exports

_LAZY = {
    "load_audio": "neuroflow.vad.audio",
    "logmel": "neuroflow.vad.features",
    "n_frames": "neuroflow.vad.features",
    "generate_corpus": "neuroflow.vad.corpus",
    "load_corpus": "neuroflow.vad.corpus",
    "benchmark_set": "neuroflow.vad.realspeech",
    "scan_sources": "neuroflow.vad.packages",
    "room_tone": "neuroflow.vad.roomtone",
    "synthesize": "neuroflow.vad.speech",
    "make_noise": "neuroflow.vad.noise",
    "frame_metrics": "neuroflow.vad.metrics",
    "collar_mask": "neuroflow.vad.metrics",
    "evaluate_system": "neuroflow.vad.evaluation",
    "compare_systems": "neuroflow.vad.evaluation",
    "get_system": "neuroflow.vad.registry",
    "available_systems": "neuroflow.vad.registry",
    "VADSystem": "neuroflow.vad.systems",
    "detect": "neuroflow.vad.detect",
    "SpikingVADSystem": "neuroflow.vad.detect",
}

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
