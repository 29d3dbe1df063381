"""Emulated analogue VCM memristors: device model and presets, crossbar with pulse programming, in-memory TD error.

>>> from neuroflow.memristor import Crossbar, get_device
>>> xb = Crossbar(9, 1, get_device("portner2025"), rng=0)
>>> pulses = xb.program([[0.2]] + [[0.0]] * 8)
"""
from neuroflow.memristor.crossbar import Crossbar, td_error_current
from neuroflow.memristor.device import PRESETS, DeviceTable, VCMDevice, device_table, get_device, portner2025_roles

__all__ = ["VCMDevice", "Crossbar", "td_error_current", "get_device", "device_table", "DeviceTable", "PRESETS",
           "portner2025_roles"]
