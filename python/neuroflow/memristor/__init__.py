"""Emulated analogue VCM memristors: device model and presets, fitting to measured pulse sequences, crossbar with
pulse programming, in-memory TD error, energy and latency of the updates.

>>> from neuroflow.memristor import Crossbar, get_device
>>> xb = Crossbar(9, 1, get_device("portner2025"), seed=0)
>>> pulses = xb.program([[0.2]] + [[0.0]] * 8)
"""
from neuroflow.memristor.crossbar import Crossbar, td_error_current
from neuroflow.memristor.device import PRESETS, DeviceTable, VCMDevice, device_table, get_device, portner2025_roles
from neuroflow.memristor.energy import EnergyModel, EnergyReport, update_cost
from neuroflow.memristor.fitting import DeviceFit, compare_fits, fit_device, load_devices, save_devices
from neuroflow.memristor.measurement import (PulseMeasurement, read_measurement, simulate_measurement,
                                             write_measurement_csv)

__all__ = ["VCMDevice", "Crossbar", "td_error_current", "get_device", "device_table", "DeviceTable", "PRESETS",
           "portner2025_roles", "fit_device", "read_measurement", "write_measurement_csv", "simulate_measurement",
           "save_devices", "load_devices", "compare_fits",
           "DeviceFit", "PulseMeasurement", "EnergyModel", "EnergyReport", "update_cost"]
