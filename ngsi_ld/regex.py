"""The regular expressions of users (idPattern, the `~=` of q), run by RE2: its time is linear in the text, so
no pattern, however written, can hold a worker (Python's `re` backtracks: `(a+)+$` on 40 letters takes hours).

RE2's syntax is Perl's without backreferences and lookaround; a pattern it cannot compile, or longer than the
limit max_regex_length, is refused when the request is read (`checked`). Matching is a search, as `re.search`.
"""

from __future__ import annotations

from functools import lru_cache

from re2 import _re2  # the RE2 binding itself: its `re`-like wrapper costs ~10 us more per search

from ngsi_ld.errors import BadRequestData
from ngsi_ld.limits import LIMITS

__all__ = ["checked", "refusal", "search"]

_UNANCHORED = _re2.RE2.Anchor.UNANCHORED
_NO_MATCH = (-1, -1)
_MEMORY = 1 << 20
"""Bytes one compiled pattern may take (RE2's default is 8 MB): a pattern too large for it is refused, and a
search whose DFA outgrows it goes on with RE2's NFA, slower but still linear. At most _CACHED are kept."""
_CACHED = 256


def _options() -> _re2.RE2.Options:
    options = _re2.RE2.Options()
    options.log_errors = False  # RE2 writes every refused pattern to stderr otherwise
    options.never_capture = True
    options.max_mem = _MEMORY
    return options


_OPTIONS = _options()


@lru_cache(maxsize=_CACHED)
def _compiled(pattern: str) -> _re2.RE2:
    return _re2.RE2(_utf8(pattern), _OPTIONS)


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def refusal(pattern: str) -> str | None:
    """Why the broker does not run `pattern` (too long, or not RE2's syntax), or None when it does."""
    if len(pattern) > LIMITS.regex_length:
        return f"it has {len(pattern)} characters: the limit max_regex_length is {LIMITS.regex_length}"
    regexp = _compiled(pattern)
    if regexp.ok():
        return None
    reason = regexp.error().decode("utf-8", "replace")
    return f"{reason} (the syntax is RE2's: no backreferences or lookaround)"


def checked(pattern: str, what: str) -> str:
    """The pattern, once the broker runs it (`refusal`); BadRequestData naming `what` otherwise."""
    reason = refusal(pattern)
    if reason is not None:
        raise BadRequestData(f"{what} is not a regular expression the broker runs: {reason}")
    return pattern


def search(pattern: str, text: str) -> bool:
    """Whether `pattern` (a checked one) matches somewhere in `text`."""
    data = _utf8(text)
    found: tuple[int, int] = _compiled(pattern).Match(_UNANCHORED, data, 0, len(data))[0]
    return found != _NO_MATCH
