"""What stops a copy, each said in one line by the command line (never a traceback).

    ReplicationError
     ├── UsageError          a command line that cannot work (exit status 2)
     │    └── RuleError      a rewrite rule that cannot be read
     ├── PackageError        a pilot package that is not one, or is damaged
     └── BrokerError         a broker that answered with an error where a copy cannot go on
          └── BrokerUnavailable   a broker that cannot be reached (or went away): run again to resume
"""

from __future__ import annotations

__all__ = ["BrokerError", "BrokerUnavailable", "PackageError", "ReplicationError", "RuleError", "UsageError"]


class ReplicationError(Exception):
    """A copy that cannot be done or go on; its message is one line for the user."""


class UsageError(ReplicationError):
    pass


class RuleError(UsageError):
    pass


class PackageError(ReplicationError):
    pass


class BrokerError(ReplicationError):
    pass


class BrokerUnavailable(BrokerError):
    pass
