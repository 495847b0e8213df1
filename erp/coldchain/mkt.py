"""Mean kinetic temperature (USP <1079>): the single temperature that would degrade a
product as much as the temperatures it went through,

    MKT = (ΔH/R) / ( -ln( (Σ e^(-ΔH/(R·T_i))) / n ) )

with T_i the readings in kelvin, ΔH the activation energy (J/mol; the item's storage
condition gives it in kJ/mol, 83.144 by default) and R the gas constant. Readings are
taken as equally spaced, as loggers record them.

The sum is kept as a running total (`Accumulator`): a binding's MKT over months of
readings is updated batch by batch without reading the old readings again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

R = 8.3144598  # J/(mol·K), CODATA 2014, as USP <1079> uses
KELVIN = 273.15


def factor(activation_energy_kj: float) -> float:
    """ΔH/R in kelvin."""
    return float(activation_energy_kj) * 1000.0 / R


def term(temperature_c: float, activation_energy_kj: float) -> float:
    """e^(-ΔH/(R·T)) of one reading."""
    return math.exp(-factor(activation_energy_kj) / (float(temperature_c) + KELVIN))


def from_sum(total: float, count: int, activation_energy_kj: float) -> float | None:
    """The MKT in °C from the running sum of terms and their count; None with no readings."""
    if count <= 0 or total <= 0:
        return None
    return factor(activation_energy_kj) / -math.log(total / count) - KELVIN


def mean_kinetic_temperature(temperatures_c: Iterable[float], activation_energy_kj: float) -> float | None:
    """The MKT in °C of the temperatures (°C); None for none."""
    total, count = 0.0, 0
    for value in temperatures_c:
        total += term(value, activation_energy_kj)
        count += 1
    return from_sum(total, count, activation_energy_kj)


@dataclass
class Accumulator:
    activation_energy_kj: float
    total: float = 0.0
    count: int = 0

    def add(self, temperature_c: float) -> None:
        self.total += term(temperature_c, self.activation_energy_kj)
        self.count += 1

    @property
    def value(self) -> float | None:
        return from_sum(self.total, self.count, self.activation_energy_kj)
