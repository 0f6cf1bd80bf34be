"""Checkpoints: the C2SP ``tlog-checkpoint`` text of a tree (origin, size, root), as a signed
note.

The text is ``<origin>\\n<size>\\n<base64 root>\\n``, optionally followed by extension lines; a
signed checkpoint is that text signed as a note (``signed_note.py``). Whoever holds a checkpoint
and the verifier key can check any proof against it without the log.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

import attrs

from .merkle import HASH_SIZE
from .signed_note import NoteError, Signer, Verifier, check_text, open_note, sign


class CheckpointError(NoteError):
    """A checkpoint whose text or signature cannot be used."""


@attrs.frozen
class Checkpoint:
    """The tree of ``size`` leaves of the log named ``origin`` has this ``root``."""

    origin: str
    size: int
    root: bytes = attrs.field(repr=lambda value: base64.b64encode(value).decode())
    extensions: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The note text that is signed."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """The checkpoint in a note's text; ``CheckpointError`` says what is wrong."""
        if not text.endswith("\n"):
            raise CheckpointError("not a checkpoint: the text does not end in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("not a checkpoint: expected an origin, a size and a root hash")
        origin, size, root, *extensions = lines
        if not origin:
            raise CheckpointError("not a checkpoint: the origin line is empty")
        if not size.isdigit() or not size.isascii() or (size.startswith("0") and size != "0"):
            raise CheckpointError(f"not a checkpoint: the size {size!r} is not a whole number")
        try:
            digest = base64.b64decode(root, validate=True)
        except (binascii.Error, ValueError):
            raise CheckpointError(f"not a checkpoint: the root {root!r} is not base64") from None
        if len(digest) != HASH_SIZE:
            raise CheckpointError(f"not a checkpoint: the root has {len(digest)} bytes, not "
                                  f"{HASH_SIZE}")
        if any(not line for line in extensions):
            raise CheckpointError("not a checkpoint: an empty line among its extension lines")
        return cls(origin, int(size), digest, tuple(extensions))

    def signed(self, signers: Sequence[Signer]) -> str:
        """The signed note of this checkpoint."""
        check_text(self.text)
        return sign(self.text, signers)


def open_checkpoint(message: str | bytes, verifiers: Sequence[Verifier]) -> Checkpoint:
    """The checkpoint of a signed note whose signature by one of ``verifiers`` holds."""
    try:
        note = open_note(message, verifiers)
    except NoteError as error:
        raise CheckpointError(f"checkpoint: {error}") from None
    return Checkpoint.parse(note.text)
