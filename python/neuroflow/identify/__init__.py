"""Expand-and-Cluster: recover a network's layer sizes and weights from input-output probes.

Public API: :class:`ExpandAndCluster` (scikit-learn style estimator), :class:`Teacher` with
:func:`load_teacher` / :func:`save_teacher` (the ``.npz`` format), :class:`IdentificationReport`,
the problem suites in :mod:`neuroflow.identify.problems`, and the symmetry and clustering building
blocks (:mod:`.symmetry`, :mod:`.clustering`).
"""
from __future__ import annotations

from neuroflow.identify.clustering import ClusterResult, cluster_neurons
from neuroflow.identify.estimator import ExpandAndCluster, IdentificationError
from neuroflow.identify.report import IdentificationReport, LayerReport
from neuroflow.identify.teacher import Teacher, load_teacher, save_teacher

__all__ = ["ExpandAndCluster", "Teacher", "load_teacher", "save_teacher", "IdentificationReport", "LayerReport",
           "ClusterResult", "cluster_neurons", "IdentificationError"]
