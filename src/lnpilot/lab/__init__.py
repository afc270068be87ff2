"""The lab: lnpilot's daemon loops run over a simulated network in virtual time."""

from lnpilot.lab.run import ACTING_LOOPS, Figures, Intervals, Lab
from lnpilot.lab.transport import InProcessTransport

__all__ = ["ACTING_LOOPS", "Figures", "InProcessTransport", "Intervals", "Lab"]
