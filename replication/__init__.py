"""`scifi replicate` and `scifi pilot export|import|diff`: clone a pilot from one city's broker (or tenant) to
another's over HTTP, with id and attribute rewriting; see `replication.cli`."""

from replication.cli import add_pilot_parser, add_replicate_parser, pilot_command, replicate_command
from replication.rules import Rules, parse_rules

__all__ = ["Rules", "add_pilot_parser", "add_replicate_parser", "parse_rules", "pilot_command", "replicate_command"]
