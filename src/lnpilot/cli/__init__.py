"""The ``lnpilot`` command line: typer + rich, human tables by default, ``--json`` for scripts.

The entry point is :data:`lnpilot.cli.main.app`; each command group lives in its own module.
"""
