"""Commands that prove the log to people who do not hold it: keygen, checkpoint, prove, check.

Keys, checkpoints and proofs are in the formats other transparency logs use (C2SP signed notes,
RFC 9162 proofs), so what they print can be checked by other tools, and the other way round.
"""

from __future__ import annotations

import os

import click

from ..checkpoint import Checkpoint, open_checkpoint
from ..errors import LedgerError
from ..files import removed_on_failure, replacing
from ..proofs import check as check_proof
from ..proofs import ConsistencyProof, Proof, dumps, parse
from ..signed_note import Signer, Verifier
from .base import Seq, WholeNumber, cli, db_argument, open_ledger, progress_bar, quiet_option, read_ledger


def read_text(path: str, what: str) -> str:
    """A small text file (a key, a checkpoint, a proof), or one clear line saying why not."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(1 << 20)
    except OSError as error:
        raise LedgerError(f"cannot read the {what}: {error.strerror}", where=path) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise LedgerError(f"the {what} is not UTF-8 text", where=path) from None


def load_signer(path: str) -> Signer:
    try:
        return Signer.from_text(read_text(path, "signer key"))
    except LedgerError as error:
        raise error.located(path) from None


def load_verifier(path: str) -> Verifier:
    try:
        return Verifier.from_text(read_text(path, "verifier key"))
    except LedgerError as error:
        raise error.located(path) from None


def load_checkpoint(path: str, verifier: Verifier) -> Checkpoint:
    try:
        return open_checkpoint(read_text(path, "checkpoint"), [verifier])
    except LedgerError as error:
        raise error.located(path) from None


@cli.command()
@click.argument("name")
@click.option("-o", "--output", "prefix", metavar="PREFIX",
              help="Write PREFIX.key and PREFIX.pub (default: the key's name).")
def keygen(name: str, prefix: str | None) -> None:
    """Make an Ed25519 key pair named NAME for signing checkpoints.

    Writes PREFIX.key, the signer key (keep it secret; mode 0600), and PREFIX.pub, the verifier
    key to give to whoever checks your proofs. Both are in the text forms of Go's
    golang.org/x/mod/sumdb/note and the C2SP signed-note spec.

    \b
    Example: gigaledger keygen ledger.example.com/deals -o deals
    """
    signer = Signer.generate(name)
    prefix = prefix or name.replace("/", "_")
    secret, public = prefix + ".key", prefix + ".pub"
    for path in (secret, public):
        if os.path.exists(path):
            raise LedgerError(f"{path}: exists; choose another prefix (-o) or remove it")
    with removed_on_failure(secret):  # both keys, or neither
        with replacing(secret, mode=0o600) as out:  # never readable by others, even part-written
            out.write(signer.text + "\n")
        with replacing(public, mode=0o644) as out:  # for whoever checks the proofs
            out.write(signer.verifier.text + "\n")
    click.echo(f"{secret}: signer key (secret)\n{public}: {signer.verifier.text}")


@cli.command()
@db_argument
@click.option("--key", "key_path", required=True, type=click.Path(dir_okay=False),
              help="The signer key file (gigaledger keygen).")
@click.option("--size", type=WholeNumber(min=0), help="The tree of the first N records (default: all).")
@quiet_option
def checkpoint(db: str, key_path: str, size: int | None, quiet: bool) -> None:
    """Print a signed checkpoint of DB's Merkle tree and keep it in the ledger; refused (exit 1)
    when the last record it covers no longer matches the tree.

    \b
    Example: gigaledger checkpoint deals.db --key deals.key > checkpoint-2026-12-02.txt
    """
    signer = load_signer(key_path)
    with open_ledger(db, create=False) as book:
        with progress_bar("building the Merkle tree", quiet) as progress:
            book.build_tree(progress)
        click.echo(book.checkpoint(signer, size), nl=False)


@cli.command()
@db_argument
@click.argument("seq", type=Seq(min=1), required=False)
@click.option("--consistency", "old_size", type=WholeNumber(min=0), metavar="M",
              help="Prove that the tree of the first M records is a prefix of this one.")
@click.option("--size", type=WholeNumber(min=0), help="The tree of the first N records (default: all).")
@quiet_option
def prove(db: str, seq: int | None, old_size: int | None, size: int | None, quiet: bool) -> None:
    """Print a proof, one JSON object: that record SEQ is in the log (inclusion), or with
    --consistency M that the log of M records was only appended to since (consistency).
    The proof is checked against the stored tree first: a record changed since it was stored
    is refused (exit 1; gigaledger verify names the first bad seq).

    \b
    Examples: gigaledger prove deals.db 18 > seq-18.proof
              gigaledger prove deals.db --consistency 36 > since-36.proof
    """
    if (seq is None) == (old_size is None):
        raise click.UsageError("give either SEQ (an inclusion proof) or --consistency M")
    with read_ledger(db, entry_points=False) as book:
        with progress_bar("building the Merkle tree", quiet) as progress:
            book.build_tree(progress)
        proof: Proof = (book.prove(seq, size) if seq is not None
                        else book.prove_consistency(old_size or 0, size))
    click.echo(dumps(proof))


@cli.command()
@click.argument("proof_path", metavar="PROOF", type=click.Path(dir_okay=False))
@click.option("--checkpoint", "checkpoint_path", required=True, type=click.Path(dir_okay=False),
              help="The signed checkpoint the proof is checked against.")
@click.option("--pub", "pub_path", required=True, type=click.Path(dir_okay=False),
              help="The verifier key of the checkpoints' signer.")
@click.option("--old-checkpoint", "old_path", type=click.Path(dir_okay=False),
              help="For a consistency proof (and only there): the earlier signed checkpoint.")
def check(proof_path: str, checkpoint_path: str, pub_path: str, old_path: str | None) -> None:
    """Check a proof offline, from nothing but the proof, the checkpoint(s) and the public key:
    exit 0 and one line when it holds, exit 1 and why when it does not. A consistency proof
    needs --old-checkpoint (the earlier, smaller checkpoint); an inclusion proof takes none.

    \b
    Examples: gigaledger check seq-18.proof --checkpoint today.txt --pub deals.pub
              gigaledger check since-36.proof --checkpoint today.txt --old-checkpoint before.txt --pub deals.pub
    """
    verifier = load_verifier(pub_path)
    try:
        proof = parse(read_text(proof_path, "proof"))
    except LedgerError as error:
        raise error.located(proof_path) from None
    if isinstance(proof, ConsistencyProof) and old_path is None:
        raise click.UsageError(f"{proof_path} is a consistency proof (from {proof.old_size} to "
                               f"{proof.tree_size} records): add --old-checkpoint FILE, the "
                               "earlier signed checkpoint")
    if not isinstance(proof, ConsistencyProof) and old_path is not None:
        raise click.UsageError(f"{proof_path} is an inclusion proof: --old-checkpoint goes with a "
                               "consistency proof only; leave it out")
    current = load_checkpoint(checkpoint_path, verifier)
    old = None if old_path is None else load_checkpoint(old_path, verifier)
    try:
        line = check_proof(proof, current, old)
    except LedgerError as error:
        raise error.located(proof_path) from None
    click.echo(f"ok: {line}")


def check_published(book, checkpoint_path: str, pub_path: str) -> str:
    """``verify --checkpoint``: the log's tree at the checkpoint's size has its root."""
    current = load_checkpoint(checkpoint_path, load_verifier(pub_path))
    book.check_checkpoint(current)
    return f"matches the checkpoint of {current.size} records signed by {current.origin}"
