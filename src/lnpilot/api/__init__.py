"""The REST API (FastAPI), ``/metrics`` and the health endpoint, served by ``lnpilot run``.

Build the application with :func:`lnpilot.api.app.create_app`. Reference: ``docs/api.md``.
"""
