"""Backups, exports and restore: what an operator must never lose.

- :mod:`~lnpilot.backup.scb`: the node's static channel backup, followed on every channel
  open and close, verified by the node, stored and copied to a folder.
- :mod:`~lnpilot.backup.archive`: one archive with the store, the configuration and policy
  files (secrets left out unless asked) and the latest channel backup, with a manifest of
  checksums; verified and restored from.

Layer: engine. It reads the store and talks to the node through ``node/`` only.
"""

from lnpilot.backup.scb import SCB_FILE_NAME, BackupRefused, ScbKeeper

__all__ = ["SCB_FILE_NAME", "BackupRefused", "ScbKeeper"]
