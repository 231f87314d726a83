"""hwsim.sim: mapping, dataflows, the event-driven engine, the analytic model and Stats."""

from hwsim.sim.api import MODES, simulate
from hwsim.sim.dataflow import dataflow_names, get_dataflow, register_dataflow
from hwsim.sim.stats import Stats

__all__ = ["MODES", "Stats", "dataflow_names", "get_dataflow", "register_dataflow", "simulate"]
