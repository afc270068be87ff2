"""One registration per strategy: everything else about it is derived from here.

A strategy module declares its parameter table (a :class:`~lnpilot.fees.values.StrictModel`)
and decorates its function with :func:`strategy`. From that one registration come the names
the policy file accepts (``strategy = ...`` / ``inbound = ...``), the ``[rule.<table>]``
parameter table and its validation, the parameters a rule cannot do without, the history
windows the gatherer must read for it, and whether it needs the network graph. Before this,
a strategy was named in five places that had to agree; now a new one is a module of its own
plus its line in :mod:`lnpilot.fees.strategies`.

A registered strategy is called with the context only (``proportional(ctx)``): it finds its
own parameters in the rule's merged settings, the defaults of its table when the rule has
none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from lnpilot.fees.strategies.base import StrategyContext, Target
from lnpilot.fees.values import StrictModel

if TYPE_CHECKING:
    from lnpilot.fees.policy import RuleSettings

P = TypeVar("P", bound=StrictModel)
Side = Literal["outbound", "inbound"]


def params_in(settings: RuleSettings, table: str, params: type[P]) -> P:
    """The parameter table `table` of merged rule settings, or its defaults when unset."""
    value = getattr(settings, table, None)
    return value if isinstance(value, params) else params()


@dataclass(frozen=True)
class Strategy(Generic[P]):
    """A registered strategy.

    ``table`` is the key of its parameter table in a rule (``[rule.<table>]``), by default
    its name; ``needs`` are the fields of that table that have no usable default and must
    be set by the rule or by an earlier unconditional one; ``windows`` gives the trailing
    windows (seconds) of history it reads for given parameters; ``reads_graph`` says it
    compares with other channels in the network graph.
    """

    name: str
    side: Side
    function: Callable[[StrategyContext, P], Target]
    params: type[P]
    table: str
    needs: tuple[str, ...] = ()
    windows: Callable[[P], Iterable[int]] | None = None
    reads_graph: bool = False

    def params_in(self, settings: RuleSettings) -> P:
        return params_in(settings, self.table, self.params)

    def windows_s(self, settings: RuleSettings | None = None) -> set[int]:
        """The windows it reads with `settings` (its table's defaults when None)."""
        if self.windows is None:
            return set()
        params = self.params() if settings is None else self.params_in(settings)
        return set(self.windows(params))

    def __call__(self, ctx: StrategyContext) -> Target:
        return self.function(ctx, self.params_in(ctx.settings))


OUTBOUND: dict[str, Strategy[Any]] = {}
INBOUND: dict[str, Strategy[Any]] = {}


def strategy(
    name: str,
    params: type[P],
    *,
    side: Side = "outbound",
    table: str | None = None,
    needs: tuple[str, ...] = (),
    windows: Callable[[P], Iterable[int]] | None = None,
    reads_graph: bool = False,
) -> Callable[[Callable[[StrategyContext, P], Target]], Strategy[P]]:
    """Register the decorated ``function(ctx, params) -> Target`` under `name`."""

    def register(function: Callable[[StrategyContext, P], Target]) -> Strategy[P]:
        registry = OUTBOUND if side == "outbound" else INBOUND
        if name in registry:
            raise ValueError(f"{side} strategy {name!r} is registered twice")
        missing = [field for field in needs if field not in params.model_fields]
        if missing:
            raise ValueError(f"strategy {name!r} needs unknown fields of its table: {missing}")
        registered = Strategy(
            name, side, function, params, table or name, needs, windows, reads_graph
        )
        for other in (*OUTBOUND.values(), *INBOUND.values()):
            if other.table == registered.table and other.params is not params:
                raise ValueError(
                    f"strategy {name!r}: table {registered.table!r} is already "
                    f"{other.params.__name__} (of {other.name!r})"
                )
        registry[name] = registered
        return registered

    return register


def tables() -> dict[str, type[StrictModel]]:
    """Every parameter table a rule may hold, by key (strategies may share one)."""
    return {s.table: s.params for s in (*OUTBOUND.values(), *INBOUND.values())}
