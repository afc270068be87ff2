"""The registry of LNbits operations the client implements.

Each resource method is backed by one :class:`Operation` declared here with
:func:`operation`: its HTTP method, path template, the weakest credential that can do it,
whether it is safe to retry, and how it touches the read cache. The registry is what
``make api-coverage`` compares with LNbits' OpenAPI, so coverage is measured from the code
itself, not from a hand-kept list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lnpilot.lnbits.credentials import Credential


@dataclass(frozen=True)
class Operation:
    """One LNbits HTTP operation as the client calls it."""

    method: str
    path: str
    credential: Credential
    #: Distinguishes two uses of one endpoint (LNbits creates and pays on the same path).
    name: str
    #: Safe to send again after a timeout/5xx: repeating it cannot change anything more.
    idempotent: bool
    #: Reads: the cache scope they may be cached in (None: never cached).
    cache_scope: str | None = None
    #: Writes: the cache scopes they make stale.
    invalidates: tuple[str, ...] = field(default_factory=tuple)

    def render_path(self, **params: str | int) -> str:
        """Fill the ``{name}`` placeholders; a missing one is a programming error."""
        return self.path.format(**params)


OPERATIONS: dict[tuple[str, str, str], Operation] = {}


def operation(
    method: str,
    path: str,
    credential: Credential,
    *,
    idempotent: bool | None = None,
    cache_scope: str | None = None,
    invalidates: tuple[str, ...] = (),
    name: str = "",
) -> Operation:
    """Declare (once) and return an operation; GET is idempotent unless said otherwise."""
    method = method.upper()
    op = Operation(
        method=method,
        path=path,
        credential=credential,
        name=name,
        idempotent=method == "GET" if idempotent is None else idempotent,
        cache_scope=cache_scope,
        invalidates=invalidates,
    )
    key = (method, path, name)
    if key in OPERATIONS and OPERATIONS[key] != op:
        raise ValueError(f"operation {method} {path} declared twice with different settings")
    OPERATIONS[key] = op
    return op
