"""The limits every part of creditcore enforces, in one place.

- :data:`MAX_CREDITS`: the largest credit amount one request may name, and the largest balance an
  account may hold.
- :data:`MAX_ID_LENGTH`: the longest identifier or key (user ids, idempotency keys, payment ids,
  tiers, hold, transaction and operation ids), in characters. Every store accepts every text up to
  this length (PostgreSQL's index entries hold it with room to spare), so a long id gets the same
  named :class:`~creditcore.InvalidInput` on every store instead of a store-specific failure.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MAX_CREDITS", "MAX_ID_LENGTH", "MAX_RUNNING_TOTAL"]

MAX_CREDITS: Final = 2**53 - 1
"""The largest amount one call may move and the largest balance one account may hold: the largest
integer a JSON number (a double) holds exactly, so every client reads balances exactly, and far
inside the 64-bit columns of SQL stores."""

MAX_ID_LENGTH: Final = 255
"""The longest id or key, in characters (code points). At most 4 bytes each in UTF-8 (8 when a
store escapes it), two of them fit in one PostgreSQL index entry (2,704 bytes)."""

MAX_RUNNING_TOTAL: Final = 2**62
"""The bound on any running total of the journal (the system accounts ``issued``, ``consumed``
... grow with every transaction): inside a signed 64-bit SQL integer with room for one more
:data:`MAX_CREDITS` step."""
