"""Signed notes and checkpoints match Go's sumdb/note and the C2SP examples byte for byte."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from concord.api.keyfile import load_or_create_signer
from concord.tlog.notes import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    open_checkpoint,
    sign_checkpoint,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "signed-note.json").read_text(encoding="utf-8")
)
GO: dict[str, str] = VECTORS["go_note_example"]
C2SP: dict[str, str] = VECTORS["c2sp_example"]
ROOT = hashlib.sha256(b"a root").digest()


def c2sp_note() -> str:
    return f"{C2SP['message']}\n\u2014 example.com/foo {C2SP['signature_base64']}\n"


# Go's example


def test_the_go_private_key_gives_the_go_verifier_key_byte_for_byte() -> None:
    signer = Signer.parse(GO["private_key"])

    assert signer.name == "PeterNeumann"
    assert signer.key_id == bytes.fromhex("c74f20a3")
    assert signer.verifier_key_string() == GO["verifier_key"]
    assert signer.private_key_string() == GO["private_key"]


def test_signing_the_go_text_gives_exactly_the_go_signed_note() -> None:
    assert Signer.parse(GO["private_key"]).sign(GO["text"]) == GO["signed_note"]


def test_the_go_signed_note_verifies_to_its_text() -> None:
    assert Verifier.parse(GO["verifier_key"]).verify(GO["signed_note"]) == GO["text"]


# The C2SP example


def test_the_c2sp_key_id_is_the_hash_of_name_newline_type_and_key() -> None:
    verifier = Verifier.parse(C2SP["verifier_key"])
    encoded_key = base64.b64decode(C2SP["verifier_key"].split("+")[2])

    assert verifier.name == "example.com/foo"
    assert encoded_key[0] == 0x01
    assert verifier.public_key == encoded_key[1:]
    expected = hashlib.sha256(b"example.com/foo\n\x01" + verifier.public_key).digest()[:4]
    assert verifier.key_id == expected == bytes.fromhex("530d903a")
    assert verifier.key_string() == C2SP["verifier_key"]


def test_the_c2sp_signature_verifies_the_c2sp_message() -> None:
    assert Verifier.parse(C2SP["verifier_key"]).verify(c2sp_note()) == C2SP["message"]


# Notes signed here


def test_a_note_verifies_with_its_signers_key_and_keeps_blank_lines_in_its_text() -> None:
    signer = Signer.generate("example.com/log")
    text = "first\n\nafter a blank line\n"

    assert Verifier.parse(signer.verifier_key_string()).verify(signer.sign(text)) == text


def test_signatures_by_unknown_keys_are_ignored() -> None:
    cosigned = GO["signed_note"] + c2sp_note().splitlines(keepends=True)[-1]

    assert Verifier.parse(GO["verifier_key"]).verify(cosigned) == GO["text"]


def test_a_signer_refuses_text_that_does_not_end_with_a_newline() -> None:
    with pytest.raises(NoteError, match="newline"):
        Signer.generate("example.com/log").sign("no newline")


@pytest.mark.parametrize("name", ["", "has space", "has+plus", "tab\there", "nbsp\u00a0"])
def test_a_key_name_cannot_be_empty_or_hold_spaces_or_plus(name: str) -> None:
    with pytest.raises(NoteError):
        Signer.generate(name)


# Rejections


def other_signature_only() -> str:
    return Signer.generate("PeterNeumann").sign(GO["text"])


def known_and_bad_signature() -> str:
    line = GO["signed_note"].splitlines(keepends=True)[-1]
    payload = bytearray(base64.b64decode(line.split(" ")[2]))
    payload[-1] ^= 1
    return GO["signed_note"] + f"\u2014 PeterNeumann {base64.b64encode(payload).decode()}\n"


def rejected_notes() -> dict[str, str]:
    note = GO["signed_note"]
    signature_line = note.splitlines(keepends=True)[-1]
    return {
        "changed-byte-of-text": note.replace("cryptography", "cryptographY"),
        "another-key-only": other_signature_only(),
        "signature-short-by-3-bytes": note.replace(signature_line,
                                                   signature_line[:-5] + "\n"),
        "signature-cut-mid-base64": note.replace(signature_line, signature_line[:-10] + "\n"),
        "missing-blank-line": note.replace("\n\n", "\n"),
        "no-signature-lines": GO["text"] + "\n",
        "no-final-newline": note[:-1],
        "hyphen-not-em-dash": note.replace("\u2014", "-"),
        "control-character": note.replace("If you", "If\tyou"),
        "one-known-signature-fails": known_and_bad_signature(),
    }


@pytest.mark.parametrize("case", list(rejected_notes()))
def test_a_malformed_or_badly_signed_note_is_rejected(case: str) -> None:
    verifier = Verifier.parse(GO["verifier_key"])

    with pytest.raises(NoteError):
        verifier.verify(rejected_notes()[case])


def test_a_note_signed_by_another_key_only_says_so() -> None:
    with pytest.raises(NoteError, match="no signature by PeterNeumann\\+c74f20a3"):
        Verifier.parse(GO["verifier_key"]).verify(other_signature_only())


def test_a_verifier_key_string_with_a_wrong_key_id_is_rejected() -> None:
    name, _, key = C2SP["verifier_key"].split("+", 2)

    with pytest.raises(NoteError, match="key ID 530d903b"):
        Verifier.parse(f"{name}+530d903b+{key}")


def test_a_private_key_string_with_a_wrong_key_id_is_rejected() -> None:
    wrong = GO["private_key"].replace("c74f20a3", "c74f20a4")

    with pytest.raises(NoteError, match="key ID c74f20a4"):
        Signer.parse(wrong)


# Checkpoints


def test_a_checkpoint_body_is_origin_size_and_base64_root_each_on_a_line() -> None:
    checkpoint = Checkpoint("origin", 5, ROOT)

    assert checkpoint.body() == f"origin\n5\n{base64.b64encode(ROOT).decode()}\n"
    assert Checkpoint.parse(checkpoint.body()) == checkpoint


def test_a_signed_checkpoint_opens_to_the_same_checkpoint() -> None:
    signer = Signer.generate("example.com/log")
    checkpoint = Checkpoint("example.com/log", 0, ROOT, ("extension one", "two"))
    note = sign_checkpoint(signer, checkpoint)

    assert note.startswith(checkpoint.body() + "\n\u2014 example.com/log ")
    assert open_checkpoint(note, signer.verifier(), origin="example.com/log") == checkpoint
    assert open_checkpoint(note, Verifier.parse(signer.verifier_key_string())) == checkpoint


def test_a_checkpoint_of_another_origin_is_rejected() -> None:
    signer = Signer.generate("example.com/log")
    note = sign_checkpoint(signer, Checkpoint("example.com/other", 3, ROOT))

    with pytest.raises(NoteError, match="not 'example.com/log'"):
        open_checkpoint(note, signer.verifier(), origin="example.com/log")


def body(size: str = "5", root: str = base64.b64encode(ROOT).decode()) -> str:
    return f"example.com/log\n{size}\n{root}\n"


@pytest.mark.parametrize("text", [
    body(size="01"),
    body(size="+5"),
    body(size=" 5"),
    body(size="-1"),
    body(size="\u0665"),
    body(size=str(2**64)),
    body(root=base64.b64encode(ROOT[:31]).decode()),
    body(root=base64.b64encode(ROOT).decode().rstrip("=")),
    body(root=base64.urlsafe_b64encode(b"\xff" * 32).decode()),
    "example.com/log\n5\n",
    body()[:-1],
    body() + "\n",
    "\n" + body(),
], ids=["size-01", "size-plus", "size-space", "size-negative", "size-arabic-digit",
        "size-2**64", "root-31-bytes", "root-unpadded", "root-urlsafe", "missing-root",
        "no-final-newline", "empty-extension", "empty-origin"])
def test_a_non_canonical_checkpoint_body_is_rejected(text: str) -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse(text)


def test_a_checkpoint_root_must_have_32_bytes() -> None:
    with pytest.raises(NoteError, match="31 bytes"):
        Checkpoint("example.com/log", 5, ROOT[:31])


# The key file


def test_a_missing_key_file_is_created_with_mode_0600_and_loads_to_the_same_key(
        tmp_path: Path) -> None:
    path = tmp_path / "data" / "keys" / "signing.key"

    created = load_or_create_signer(path, "example.com/log")
    loaded = load_or_create_signer(path, "example.com/log")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text(encoding="utf-8") == created.private_key_string() + "\n"
    assert loaded.private_key_string() == created.private_key_string()
    assert os.listdir(path.parent) == ["signing.key"]


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    load_or_create_signer(path, "example.com/log")
    path.chmod(0o644)

    with pytest.raises(NoteError, match="mode 0644.*chmod 600"):
        load_or_create_signer(path, "example.com/log")


def test_a_key_file_of_another_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    load_or_create_signer(path, "example.com/log")

    with pytest.raises(NoteError, match="named 'example.com/log', not 'example.com/other'"):
        load_or_create_signer(path, "example.com/other")


def test_a_key_file_holding_the_go_key_loads_it(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    path.write_text(GO["private_key"] + "\n", encoding="utf-8")
    path.chmod(0o600)

    assert load_or_create_signer(path, "PeterNeumann").verifier_key_string() == GO["verifier_key"]
