"""A simulated Lightning network in which one node is ours (see docs/simnet.md).

The LND REST face (`lnpilot.simnet.lnd_rest`) serves `OurNode`; the demo, the integration
tests and the strategy benchmark run on `Simulation`.
"""
