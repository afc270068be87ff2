"""lnpilot: the monitor and controller of a Lightning node run through LNbits."""

__version__ = "0.1.0"
