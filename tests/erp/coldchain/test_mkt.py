"""Mean kinetic temperature (USP <1079>) against a case worked by hand."""

import math

import pytest

from erp.coldchain import mkt


def test_mkt_of_20_and_30_degrees_worked_by_hand():
    # ΔH = 83.144 kJ/mol, R = 8.3144598 J/(mol·K): ΔH/R = 83144 / 8.3144598 = 9999.928 K.
    # 20 °C = 293.15 K: e^(-9999.928/293.15) = e^(-34.11198) = 1.5323e-15
    # 30 °C = 303.15 K: e^(-9999.928/303.15) = e^(-32.98673) = 4.7211e-15
    # mean = 3.1267e-15; -ln(mean) = 33.39879; 9999.928 / 33.39879 = 299.41 K = 26.26 °C
    assert mkt.mean_kinetic_temperature([20, 30], 83.144) == pytest.approx(26.26, abs=0.01)
    assert math.exp(-9999.928 / 293.15) == pytest.approx(1.5323e-15, rel=1e-3)


def test_a_constant_temperature_is_its_own_mkt_and_the_running_sum_agrees():
    assert mkt.mean_kinetic_temperature([5.0] * 10, 83.144) == pytest.approx(5.0, abs=1e-9)
    values = [2.0, 3.5, 9.0, 12.0, 4.0]
    running = mkt.Accumulator(83.144)
    for v in values:
        running.add(v)
    assert running.value == pytest.approx(mkt.mean_kinetic_temperature(values, 83.144))
    # The MKT weighs warm readings more than the arithmetic mean does.
    assert running.value > sum(values) / len(values)
    assert mkt.mean_kinetic_temperature([], 83.144) is None
