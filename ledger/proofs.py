"""Proofs for third parties: inclusion and consistency proofs as JSON objects, and the checks
anyone can run on them offline, from nothing but the proof, a signed checkpoint and its key.

- inclusion: ``{"kind": "inclusion", "seq": n, "tree_size": N, "leaf": "<exported line>",
  "hashes": ["<base64>", ...]}``, hashes in the order of RFC 9162 section 2.1.3;
- consistency: ``{"kind": "consistency", "old_size": M, "tree_size": N, "hashes": [...]}``,
  the order of RFC 9162 section 2.1.4.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, Union

import attrs

from .checkpoint import Checkpoint
from .merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


@attrs.frozen
class InclusionProof:
    """Record ``seq`` (whose exported line is ``leaf``) is in the tree of ``tree_size``."""

    seq: int
    tree_size: int
    leaf: str
    hashes: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        return {"kind": "inclusion", "seq": self.seq, "tree_size": self.tree_size,
                "leaf": self.leaf, "hashes": [_b64(value) for value in self.hashes]}


@attrs.frozen
class ConsistencyProof:
    """The tree of ``old_size`` is a prefix of the tree of ``tree_size``."""

    old_size: int
    tree_size: int
    hashes: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        return {"kind": "consistency", "old_size": self.old_size, "tree_size": self.tree_size,
                "hashes": [_b64(value) for value in self.hashes]}


Proof = Union[InclusionProof, ConsistencyProof]
_KEYS = {"inclusion": {"kind", "seq", "tree_size", "leaf", "hashes"},
         "consistency": {"kind", "old_size", "tree_size", "hashes"}}


def dumps(proof: Proof) -> str:
    """The proof as one line of JSON."""
    return json.dumps(proof.to_json(), ensure_ascii=False)


def _whole(value: Any, key: str, least: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ProofError(f"proof: {key}: expected a whole number from {least}")
    return value


def parse(value: str | bytes | Mapping[str, Any]) -> Proof:
    """A proof from its JSON text (or the parsed object); ``ProofError`` names what is wrong."""
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError as error:
            raise ProofError(f"proof: not JSON ({error})") from None
    if not isinstance(value, Mapping):
        raise ProofError("proof: expected a JSON object")
    kind = value.get("kind")
    if kind not in _KEYS:
        raise ProofError("proof: kind: expected \"inclusion\" or \"consistency\"")
    if set(value) != _KEYS[kind]:
        keys = ", ".join(sorted(_KEYS[kind]))
        raise ProofError(f"proof: an {kind} proof has exactly the keys {keys}")
    items = value["hashes"]
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ProofError("proof: hashes: expected a list of base64 strings")
    try:
        hashes = tuple(base64.b64decode(item, validate=True) for item in items)
    except (binascii.Error, ValueError):
        raise ProofError("proof: hashes: expected a list of base64 strings") from None
    size = _whole(value["tree_size"], "tree_size", 0)
    if kind == "inclusion":
        if not isinstance(value["leaf"], str):
            raise ProofError("proof: leaf: expected the record's exported line")
        return InclusionProof(_whole(value["seq"], "seq", 1), size, value["leaf"], hashes)
    return ConsistencyProof(_whole(value["old_size"], "old_size", 0), size, hashes)


def leaf_seq(leaf: str) -> int | None:
    """The ``seq`` an exported line names, or None when it names none."""
    try:
        record = json.loads(leaf)
    except ValueError:
        return None
    seq = record.get("seq") if isinstance(record, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def check_inclusion(proof: InclusionProof, checkpoint: Checkpoint) -> None:
    """Raise ``ProofError`` unless the proof's record is in the checkpoint's tree."""
    if proof.tree_size != checkpoint.size:
        raise ProofError(f"the proof is for a tree of {proof.tree_size} records, the checkpoint "
                         f"is of {checkpoint.size}")
    if not 1 <= proof.seq <= proof.tree_size:
        raise ProofError(f"seq {proof.seq} is out of range: in a tree of {proof.tree_size} "
                         f"records, seq must be 1..{proof.tree_size}")
    if leaf_seq(proof.leaf) != proof.seq:
        raise ProofError(f"the leaf is not the exported line of seq {proof.seq}")
    verify_inclusion(proof.seq - 1, proof.tree_size, leaf_hash(proof.leaf.encode("utf-8")),
                     proof.hashes, checkpoint.root)


def check_consistency(proof: ConsistencyProof, old: Checkpoint, new: Checkpoint) -> None:
    """Raise ``ProofError`` unless the old checkpoint's tree is a prefix of the new one's."""
    if (proof.old_size, proof.tree_size) == (new.size, old.size) and old.size > new.size:
        raise ProofError(f"the old checkpoint is of {old.size} records, the new one of "
                         f"{new.size}, and the proof from {proof.old_size} to {proof.tree_size}: "
                         "the checkpoints are given the wrong way round; swap them")
    if (proof.old_size, proof.tree_size) != (old.size, new.size):
        raise ProofError(f"the proof is from {proof.old_size} to {proof.tree_size} records, the "
                         f"checkpoints are of {old.size} (old) and {new.size} (new)")
    if old.origin != new.origin:
        raise ProofError(f"the checkpoints are of two logs: {old.origin!r} and {new.origin!r}")
    verify_consistency(old.size, new.size, old.root, new.root, proof.hashes)


def check(proof: Proof, checkpoint: Checkpoint, old_checkpoint: Checkpoint | None = None) -> str:
    """Check a proof against verified checkpoints (an inclusion proof against ``checkpoint``
    alone, a consistency proof against ``old_checkpoint`` and ``checkpoint``); return one line
    saying what holds."""
    if isinstance(proof, InclusionProof):
        if old_checkpoint is not None:
            raise ProofError("an inclusion proof is checked against one checkpoint: an old "
                             "checkpoint goes with a consistency proof only")
        check_inclusion(proof, checkpoint)
        return f"seq {proof.seq} is in the log {checkpoint.origin} of {checkpoint.size} records"
    if old_checkpoint is None:
        raise ProofError("a consistency proof is checked against two checkpoints: give the old "
                         "one too")
    check_consistency(proof, old_checkpoint, checkpoint)
    return (f"the log {checkpoint.origin} of {checkpoint.size} records extends the one of "
            f"{old_checkpoint.size} records, unchanged")
