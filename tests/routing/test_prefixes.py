"""Prefix records: chained block hashes of the prompt, per replica, with a TTL."""

from __future__ import annotations

from splitlane.core.parts import Message, Role, TextPart
from splitlane.core.request import ChatRequest
from splitlane.routing.prefixes import PrefixIndex, block_hashes

SYSTEM = "You are a coding agent. " * 100  # 2,400 characters shared by every session


def request(*texts: str) -> ChatRequest:
    messages = [Message(Role.SYSTEM, (TextPart(SYSTEM),))]
    messages += [Message(Role.USER, (TextPart(text),)) for text in texts]
    return ChatRequest("coder", tuple(messages))


def test_equal_prefixes_share_leading_hashes_and_diverge_after() -> None:
    one = block_hashes(request("fix the parser " * 40), 256)
    two = block_hashes(request("write the docs " * 40), 256)
    shared = next(i for i, (a, b) in enumerate(zip(one, two, strict=False)) if a != b)
    assert shared == len(SYSTEM) // 256  # the system prompt's whole blocks, then they part
    assert one[shared:] != two[shared:]


def test_a_hash_depends_on_everything_before_it() -> None:
    one = block_hashes(request("a" * 1000), 256)
    changed = block_hashes(ChatRequest("coder", (Message(Role.SYSTEM, (TextPart("X" + SYSTEM[1:]),)),)), 256)
    assert not set(one) & set(changed)  # one character in the first block changes every hash after it


def test_a_partial_last_block_is_not_counted() -> None:
    assert len(block_hashes(request(), 256)) == len(SYSTEM) // 256
    assert block_hashes(ChatRequest("coder", (Message(Role.USER, (TextPart("short"),)),)), 256) == []


def test_matched_counts_leading_blocks_recorded_for_that_replica_only() -> None:
    index = PrefixIndex(ttl_s=60)
    turn1 = block_hashes(request("read main.py"), 256)
    turn2 = block_hashes(request("read main.py " * 30, "now fix it " * 30), 256)
    index.record(turn1, "r1", now=0.0)
    assert index.matched(turn2, "r1", now=1.0) == len(turn1)  # turn 2 extends turn 1's prefix
    assert index.matched(turn2, "r2", now=1.0) == 0
    index.record(turn2, "r2", now=1.0)
    assert index.matched(turn2, "r2", now=2.0) == len(turn2)


def test_records_expire_and_a_lost_replica_is_forgotten() -> None:
    index = PrefixIndex(ttl_s=10)
    hashes = block_hashes(request("x" * 600), 256)
    index.record(hashes, "r1", now=0.0)
    index.record(hashes, "r2", now=5.0)
    assert index.matched(hashes, "r1", now=11.0) == 0  # r1's record is past its TTL
    assert index.matched(hashes, "r2", now=11.0) == len(hashes)
    index.forget("r2")
    assert index.matched(hashes, "r2", now=11.0) == 0


def test_the_index_is_bounded() -> None:
    index = PrefixIndex(ttl_s=60, max_blocks=8)
    prompts = [
        block_hashes(ChatRequest("coder", (Message(Role.USER, (TextPart(str(n) * 600),)),)), 256) for n in range(5)
    ]
    for hashes in prompts:
        index.record(hashes, "r1", now=0.0)
    assert len(index) == 8  # five prompts of two blocks each, bounded to eight
    assert index.matched(prompts[0], "r1", now=1.0) == 0  # the least recently recorded went first
    assert index.matched(prompts[4], "r1", now=1.0) == 2
