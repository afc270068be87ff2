"""The client's name for the shared retry policy: the resources pass ``NO_RETRY`` (or their
own :class:`RetryPolicy`) per call. The policy and the rules live in
:mod:`lnpilot.base.retry`, beside the one transport LND REST uses too."""

from lnpilot.base.retry import NO_RETRY, RetryPolicy

__all__ = ["NO_RETRY", "RetryPolicy"]
