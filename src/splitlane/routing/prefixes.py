"""Which replica holds which prompt prefix: the gateway's own record, by block hashes, with a TTL.

A request's prompt (tools, then each message's role and text, in order) is cut into blocks of
``block_chars`` characters; each block's hash chains the one before it, so two requests share
the first N hashes exactly when they share the first N blocks of prompt. The gateway records the
hashes of every prompt it sent to a replica; a replica's expected reuse for a new request is the
number of its leading hashes recorded there and not yet expired. Characters stand in for tokens
(a server's cache counts tokens in its own blocks: vLLM 16 to 128 tokens, about 4 characters each),
so the estimate is a ranking, not a count.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Iterator

import orjson

from splitlane.core.request import ChatRequest
from splitlane.core.texts import part_texts


def prompt_texts(request: ChatRequest) -> Iterator[str]:
    """The prompt as a stream of text, in the order a chat template lays it out."""
    for tool in request.tools:
        yield tool.name
        yield tool.description
        yield orjson.dumps(dict(tool.parameters), option=orjson.OPT_SORT_KEYS).decode()
    for message in request.messages:
        yield f"\x00{message.role}\x00"
        yield from part_texts(message)


def block_hashes(request: ChatRequest, block_chars: int) -> list[bytes]:
    """One chained hash per whole block of the prompt (a last partial block is not counted)."""
    return chained_hashes("".join(prompt_texts(request)), block_chars)


def chained_hashes(text: str, block_chars: int, partial: bool = False) -> list[bytes]:
    """One hash per ``block_chars`` characters of ``text``, each chaining the one before it;
    ``partial``: the last block too when it is short."""
    hashes: list[bytes] = []
    previous = b""
    end = len(text) if partial else len(text) - block_chars + 1
    for start in range(0, end, block_chars):
        block = text[start : start + block_chars].encode("utf-8", "surrogatepass")
        previous = hashlib.blake2b(previous + block, digest_size=12).digest()
        hashes.append(previous)
    return hashes


class PrefixIndex:
    """Block hash -> the replicas it was sent to, each with when the record expires; bounded
    (least recently recorded hashes go first)."""

    def __init__(self, ttl_s: float, max_blocks: int = 200_000) -> None:
        self.ttl_s = ttl_s
        self.max_blocks = max_blocks
        self._blocks: OrderedDict[bytes, dict[str, float]] = OrderedDict()

    def record(self, hashes: list[bytes], replica: str, now: float | None = None) -> None:
        until = (time.monotonic() if now is None else now) + self.ttl_s
        for digest in hashes:
            holders = self._blocks.get(digest)
            if holders is None:
                holders = self._blocks[digest] = {}
            else:
                self._blocks.move_to_end(digest)
            holders[replica] = until
        while len(self._blocks) > self.max_blocks:
            self._blocks.popitem(last=False)

    def matched(self, hashes: list[bytes], replica: str, now: float | None = None) -> int:
        """How many leading blocks of this prompt the replica was sent within the TTL."""
        now = time.monotonic() if now is None else now
        count = 0
        for digest in hashes:
            holders = self._blocks.get(digest)
            if holders is None or holders.get(replica, 0.0) <= now:
                break
            count += 1
        return count

    def forget(self, replica: str) -> None:
        """The replica lost its cache (it restarted, or failed): nothing is expected there now."""
        for holders in self._blocks.values():
            holders.pop(replica, None)

    def __len__(self) -> int:
        return len(self._blocks)
