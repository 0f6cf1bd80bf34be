"""The Merkle tree of RFC 9162 (Certificate Transparency 2.0), section 2.1, with SHA-256: hashes,
inclusion and consistency proofs (made and checked), and the compact range that grows a tree one
leaf at a time.

Pure functions over bytes: the stored tree (``tree.py``) gives them the hashes of complete
subtrees, read from the database, through a ``NodeSource``; nothing here knows about records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from hashlib import sha256

from .errors import LedgerError

HASH_SIZE = 32
#: The root of the empty tree: SHA-256 of nothing.
EMPTY_ROOT = sha256(b"").digest()
#: The hash of a complete subtree: ``node(level, index)`` covers leaves
#: ``[index * 2**level, (index + 1) * 2**level)``.
NodeSource = Callable[[int, int], bytes]


class ProofError(LedgerError, ValueError):
    """A proof does not hold, or cannot be made: the reason in a phrase."""


def leaf_hash(leaf: bytes) -> bytes:
    """SHA-256(0x00 ‖ leaf)."""
    return sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right)."""
    return sha256(b"\x01" + left + right).digest()


def split(size: int) -> int:
    """The largest power of two smaller than ``size`` (``size`` > 1): where RFC 9162 splits a tree."""
    return 1 << ((size - 1).bit_length() - 1)


def root_of(hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes (the tree's shape depends only on their number)."""
    if not hashes:
        return EMPTY_ROOT
    stack: list[tuple[int, bytes]] = []  # (leaves covered, hash), as in a compact range
    for item in hashes:
        width, value = 1, item
        while stack and stack[-1][0] == width:
            left = stack.pop()[1]
            width, value = width * 2, node_hash(left, value)
        stack.append((width, value))
    return fold_right([value for _, value in stack])


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """The root over complete subtrees of decreasing size, left to right (a compact range)."""
    result = hashes[-1]
    for value in reversed(hashes[:-1]):
        result = node_hash(value, result)
    return result


def pieces(start: int, end: int) -> list[tuple[int, int]]:
    """The complete subtrees ``(level, index)``, left to right, whose leaves make
    ``[start, end)``, for a range that starts at a multiple of a power of two at least as large
    as it is (every range RFC 9162's proofs ask for)."""
    found: list[tuple[int, int]] = []
    size = end - start
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            found.append((level, start >> level))
            start += 1 << level
    return found


def subtree_hash(start: int, end: int, node: NodeSource) -> bytes:
    """MTH of the leaves ``[start, end)`` (aligned as ``pieces`` asks)."""
    if end == start:
        return EMPTY_ROOT
    return fold_right([node(level, index) for level, index in pieces(start, end)])


Subtree = Callable[[int, int], bytes]


def inclusion_path(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 section 2.1.3.1; ``subtree(start, end)`` is MTH of a
    range of leaves."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + split(end - start)
        if index < middle:
            path.append(subtree(middle, end))
            end = middle
        else:
            path.append(subtree(start, middle))
            start = middle
    path.reverse()  # the deepest sibling first
    return path


def consistency_path(old_size: int, size: int, subtree: Subtree) -> list[bytes]:
    """PROOF(old_size, D[size]) of RFC 9162 section 2.1.4.1 (empty when either size is 0 or
    they are equal)."""
    if not 0 <= old_size <= size:
        raise ProofError(f"a tree of {old_size} cannot be a prefix of one of {size}")
    if old_size in (0, size):
        return []
    path: list[bytes] = []
    start, end, whole = 0, size, True
    while True:
        if old_size == end:
            if not whole:
                path.append(subtree(start, end))
            break
        middle = start + split(end - start)
        if old_size <= middle:
            path.append(subtree(middle, end))
            end = middle
        else:
            path.append(subtree(start, middle))
            start, whole = middle, False
    path.reverse()
    return path


def _check_hashes(path: Iterable[bytes]) -> None:
    for item in path:
        if len(item) != HASH_SIZE:
            raise ProofError(f"a proof hash has {len(item)} bytes, not {HASH_SIZE}")


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root that an inclusion proof leads to from a leaf hash (RFC 9162 section 2.1.3.2)."""
    _check_hashes([leaf, *path])
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    fn, sn, result = index, size - 1, leaf
    for item in path:
        if sn == 0:
            raise ProofError("the proof has more hashes than the tree is deep")
        if fn & 1 or fn == sn:
            result = node_hash(item, result)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, item)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the proof has fewer hashes than the tree is deep")
    return result


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> None:
    """Raise ``ProofError`` unless the leaf hash is at ``index`` of the tree of ``size`` with
    this root."""
    if root_from_inclusion(index, size, leaf, path) != root:
        raise ProofError(f"the proof does not lead to the root of the tree of {size}")


def verify_consistency(old_size: int, size: int, old_root: bytes, root: bytes,
                       path: Sequence[bytes]) -> None:
    """Raise ``ProofError`` unless the tree of ``old_size`` with ``old_root`` is a prefix of the
    tree of ``size`` with ``root`` (RFC 9162 section 2.1.4.2)."""
    _check_hashes([old_root, root, *path])
    if not 0 <= old_size <= size:
        raise ProofError(f"a tree of {old_size} cannot be a prefix of one of {size}")
    if old_size == size or old_size == 0:
        if path:
            raise ProofError("the proof should be empty")
        if old_size == size and old_root != root:
            raise ProofError(f"two different roots for the tree of {size}")
        if old_size == 0 and old_root != EMPTY_ROOT:
            raise ProofError("the root of the empty tree is wrong")
        return
    if not path:
        raise ProofError("the proof is empty")
    hashes = list(path)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the new tree
        hashes.insert(0, old_root)
    fn, sn = old_size - 1, size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first = second = hashes[0]
    for item in hashes[1:]:
        if sn == 0:
            raise ProofError("the proof has more hashes than the tree is deep")
        if fn & 1 or fn == sn:
            first = node_hash(item, first)
            second = node_hash(item, second)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            second = node_hash(second, item)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the proof has fewer hashes than the tree is deep")
    if first != old_root:
        raise ProofError(f"the proof does not lead to the root of the tree of {old_size}")
    if second != root:
        raise ProofError(f"the proof does not lead to the root of the tree of {size}")


class CompactRange:
    """The right edge of a growing tree: the complete subtrees, largest first, whose leaves are
    all the leaves so far. ``push`` adds one subtree of ``2**level`` leaves (aligned) and returns
    the nodes that became complete, as ``(level, index, hash)``; ``root()`` is MTH of it all."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        self.size = size  # leaves covered
        levels = [level for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1]
        if len(levels) != len(hashes):
            raise ValueError(f"a compact range of {size} leaves has {len(levels)} hashes")
        self.stack: list[tuple[int, bytes]] = list(zip(levels, hashes))

    def push(self, level: int, value: bytes) -> list[tuple[int, int, bytes]]:
        width = 1 << level
        if self.size % width:
            raise ValueError(f"a subtree of {width} leaves cannot start at leaf {self.size}")
        self.size += width
        made: list[tuple[int, int, bytes]] = []
        stack = self.stack
        while stack and stack[-1][0] == level:
            value = node_hash(stack.pop()[1], value)
            level += 1
            made.append((level, (self.size >> level) - 1, value))
        stack.append((level, value))
        return made

    def root(self) -> bytes:
        return fold_right([value for _, value in self.stack]) if self.stack else EMPTY_ROOT
