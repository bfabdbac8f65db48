"""Session affinity across replicas by rendezvous (highest-random-weight) hashing.

Each (session, replica) pair gets a stable score; a session goes to the replica with the highest.
Scores depend only on the session key and the replica's URL, so the choice survives restarts and
reordering, and adding one replica to N moves only the sessions the new one wins (about 1/(N+1)).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def score(session_key: str, replica: str) -> int:
    digest = hashlib.blake2b(f"{session_key}\x00{replica}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def pick(session_key: str, replicas: Sequence[str]) -> int:
    """Index of the replica that serves this session."""
    if len(replicas) == 1:
        return 0  # no hash on every turn of the common single-replica upstream
    return max(range(len(replicas)), key=lambda i: score(session_key, replicas[i]))
