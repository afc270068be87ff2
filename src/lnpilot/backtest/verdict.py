"""The verdict: is the candidate better than the current policy, and how sure is that?

Both policies run over the same seeds (the same payments, the same network moves), so the
runs pair up and the comparison is on paired differences of net profit per seed, which
cancels what the seed alone decides. The rule is deliberately plain:

- every seed's difference has the same sign, and the largest relative difference is at
  least :data:`NEGLIGIBLE_PCT`: "better by 12–30% on 5 seeds" (the range is min..max of
  the per-seed relative differences; with N seeds all agreeing by chance when there is no
  real effect has probability 2·0.5^N: 6% at 5 seeds, so 5 is the least to believe);
- anything else: "no clear difference", with the range of the differences, so the reader
  sees how far apart the policies could be.

A relative difference needs a non-zero base; where the current policy netted 0 on a seed
the range is given in sats instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

#: Per-seed relative differences all below this (in %) are no clear difference.
NEGLIGIBLE_PCT = 1.0


@dataclass(frozen=True)
class Verdict:
    outcome: Literal["better", "worse", "no clear difference", "identical"]
    text: str
    #: candidate − current, net profit per seed (msat).
    differences_msat: tuple[int, ...]
    #: The same relative to |current| in %, None where current netted 0.
    differences_pct: tuple[float | None, ...]


def _range(low: float, high: float, unit: str) -> str:
    if round(low) == round(high):
        return f"{round(low):,}{unit}"
    return f"{round(low):,}–{round(high):,}{unit}"


def judge(current_net_msat: Sequence[int], candidate_net_msat: Sequence[int]) -> Verdict:
    """Compare the per-seed net profits of the two policies (same seeds, same order)."""
    if len(current_net_msat) != len(candidate_net_msat) or not current_net_msat:
        raise ValueError(
            f"need the same, non-zero number of seeds for both policies: "
            f"{len(current_net_msat)} and {len(candidate_net_msat)}"
        )
    n = len(current_net_msat)
    diffs = tuple(c - k for k, c in zip(current_net_msat, candidate_net_msat, strict=True))
    pcts = tuple(
        (d / abs(k) * 100 if k else None) for d, k in zip(diffs, current_net_msat, strict=True)
    )
    seeds = f"{n} seed" + ("s" if n > 1 else "")
    if all(d == 0 for d in diffs):
        return Verdict("identical", f"no difference on {seeds}: identical results", diffs, pcts)
    known = [p for p in pcts if p is not None]
    relative = len(known) == n

    def spread(values: Sequence[float]) -> str:
        if relative:
            return _range(min(values), max(values), "%")
        sats = [abs(d) / 1000 for d in diffs]
        return _range(min(sats), max(sats), " sat")

    same_sign = all(d > 0 for d in diffs) or all(d < 0 for d in diffs)
    negligible = relative and max(abs(p) for p in known) < NEGLIGIBLE_PCT
    if same_sign and not negligible:
        better = diffs[0] > 0
        word = "better" if better else "worse"
        text = f"{word} by {spread([abs(p) for p in known])} on {seeds}"
        if n < 5:
            text += " (too few seeds to be sure: use --seeds 5 or more)"
        return Verdict("better" if better else "worse", text, diffs, pcts)
    if relative:
        detail = f"per-seed differences {min(known):+.0f}% to {max(known):+.0f}%"
    else:
        low, high = min(diffs) / 1000, max(diffs) / 1000
        detail = f"per-seed differences {low:+,.0f} to {high:+,.0f} sat"
    return Verdict("no clear difference", f"no clear difference on {seeds} ({detail})", diffs, pcts)
