"""RFC 9162 / RFC 6962 Merkle tree hashing and proofs against the reference values of the 8-leaf
tree that the Certificate Transparency implementations test with (values copied from
transparency-dev/merkle, proof/verify_test.go and the RFC 6962 test data of
google/certificate-transparency-go), and properties over random trees."""

from __future__ import annotations

from hashlib import sha256

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import (EMPTY_ROOT, CompactRange, ProofError, consistency_path,
                           inclusion_path, leaf_hash, node_hash, root_from_inclusion, root_of,
                           subtree_hash, verify_consistency, verify_inclusion)

LEAVES = [bytes.fromhex(text) for text in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f")]
#: The root of the tree of the first n leaves, n = 1..8.
ROOTS = [bytes.fromhex(text) for text in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")]
#: (leaf index, tree size, path)
INCLUSION = [
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
#: (old size, new size, path)
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]


def source(hashes: list[bytes]):
    """MTH of a range of the in-memory leaf hashes: what the stored tree gives the proofs."""
    return lambda start, end: root_of(hashes[start:end])


def test_empty_tree_is_the_hash_of_nothing():
    assert root_of([]) == EMPTY_ROOT == bytes.fromhex(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert CompactRange().root() == EMPTY_ROOT


def test_leaf_and_node_hashes_are_domain_separated():
    assert leaf_hash(b"") == sha256(b"\x00").digest()
    assert node_hash(b"a", b"b") == sha256(b"\x01ab").digest()
    assert leaf_hash(b"\x01ab"[1:]) != node_hash(b"a", b"b")


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_of_every_prefix(size):
    hashes = [leaf_hash(leaf) for leaf in LEAVES[:size]]
    assert root_of(hashes) == ROOTS[size - 1]
    grown = CompactRange()
    for item in hashes:
        grown.push(0, item)
    assert grown.root() == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_vectors(index, size, path):
    hashes = [leaf_hash(leaf) for leaf in LEAVES[:size]]
    expected = [bytes.fromhex(item) for item in path]
    assert inclusion_path(index, size, source(hashes)) == expected
    verify_inclusion(index, size, hashes[index], expected, ROOTS[size - 1])
    for wrong in (index + 1, index ^ 2):
        if wrong < size:
            with pytest.raises(ProofError):
                verify_inclusion(wrong, size, hashes[index], expected, ROOTS[size - 1])
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf_hash(b"WrongLeaf"), expected, ROOTS[size - 1])
    with pytest.raises(ProofError):
        verify_inclusion(index, size, hashes[index], [*expected, ROOTS[size - 1]], ROOTS[size - 1])
    with pytest.raises(ProofError):
        verify_inclusion(index, size * 2, hashes[index], expected, ROOTS[size - 1])
    if expected:
        with pytest.raises(ProofError):
            verify_inclusion(index, size, hashes[index], expected[:-1], ROOTS[size - 1])


@pytest.mark.parametrize(("old", "size", "path"), CONSISTENCY)
def test_consistency_vectors(old, size, path):
    hashes = [leaf_hash(leaf) for leaf in LEAVES[:size]]
    expected = [bytes.fromhex(item) for item in path]
    assert consistency_path(old, size, source(hashes)) == expected
    verify_consistency(old, size, ROOTS[old - 1], ROOTS[size - 1], expected)
    if expected:
        for probe in ([], expected[:-1], [*expected, ROOTS[old - 1]], [ROOTS[size - 1], *expected]):
            with pytest.raises(ProofError):
                verify_consistency(old, size, ROOTS[old - 1], ROOTS[size - 1], probe)
        with pytest.raises(ProofError):
            verify_consistency(old, size, ROOTS[size - 1], ROOTS[old - 1], expected)


def test_edge_sizes():
    verify_consistency(0, 5, EMPTY_ROOT, ROOTS[4], [])
    with pytest.raises(ProofError):
        verify_consistency(5, 3, ROOTS[4], ROOTS[2], [])
    with pytest.raises(ProofError):
        verify_consistency(3, 3, ROOTS[2], ROOTS[3], [])
    with pytest.raises(ProofError):
        inclusion_path(3, 3, source([]))
    with pytest.raises(ProofError):
        verify_inclusion(0, 1, b"short", [], b"short")


leaf_lists = st.lists(st.binary(max_size=12), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(leaf_lists)
def test_every_proof_of_a_random_tree_verifies_and_any_flipped_byte_fails(leaves):
    hashes = [leaf_hash(leaf) for leaf in leaves]
    roots = [root_of(hashes[:size]) for size in range(len(hashes) + 1)]
    mth = source(hashes)
    node = lambda level, index: root_of(hashes[index << level:(index + 1) << level])  # noqa: E731
    for size in range(1, len(hashes) + 1):
        assert subtree_hash(0, size, node) == roots[size]
        for index in range(size):
            path = inclusion_path(index, size, mth)
            verify_inclusion(index, size, hashes[index], path, roots[size])
            flipped = bytearray(leaves[index] or b"\x00")
            flipped[0] ^= 1
            with pytest.raises(ProofError):
                verify_inclusion(index, size, leaf_hash(bytes(flipped)), path, roots[size])
            for at in range(len(path)):
                bad = list(path)
                bad[at] = bytes([bad[at][0] ^ 0x80]) + bad[at][1:]
                with pytest.raises(ProofError):
                    verify_inclusion(index, size, hashes[index], bad, roots[size])
        for old in range(size + 1):
            path = consistency_path(old, size, mth)
            verify_consistency(old, size, roots[old], roots[size], path)
            for at in range(len(path)):
                bad = list(path)
                bad[at] = bad[at][:31] + bytes([bad[at][31] ^ 1])
                with pytest.raises(ProofError):
                    verify_consistency(old, size, roots[old], roots[size], bad)

