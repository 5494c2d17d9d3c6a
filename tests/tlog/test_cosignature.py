"""Witness cosignatures follow C2SP tlog-cosignature (Ed25519 cosignature/v1) byte for byte:
checked here with the `cryptography` package and hashlib directly, not through Concord."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from concord.tlog.cosignature import CosignatureVerifier, Cosigner, cosigned_message
from concord.tlog.notes import Checkpoint, NoteError, Signer, Verifier, sign_checkpoint

ROOT = hashlib.sha256(b"a root").digest()
BODY = Checkpoint("example.com/behind-the-sofa", 20852163, ROOT).body()
TIME = 1679315147

# The example of the spec: a checkpoint cosigned by witness.example.com/w1.
SPEC_COSIGNATURE = ("jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZ"
                    "qhf5nNo0xUe+mbIUBkBIfZ+qnA==")


def test_the_spec_example_holds_a_key_id_then_its_timestamp_big_endian() -> None:
    payload = base64.b64decode(SPEC_COSIGNATURE)

    assert len(payload) == 4 + 8 + 64
    assert int.from_bytes(payload[4:12], "big") == TIME  # the spec's `time 1679315147`


def test_a_cosignature_is_the_ed25519_signature_of_the_header_time_and_body() -> None:
    cosigner = Cosigner.generate("witness.example/w1")
    line = cosigner.cosign(BODY, TIME)

    assert line.startswith("\u2014 witness.example/w1 ") and line.endswith("\n")
    payload = base64.b64decode(line.split(" ")[2])
    public_key = cosigner.public_key
    key_id = hashlib.sha256(b"witness.example/w1\n\x04" + public_key).digest()[:4]
    assert payload[:4] == key_id
    assert payload[4:12] == TIME.to_bytes(8, "big")
    message = f"cosignature/v1\ntime {TIME}\n{BODY}".encode()
    Ed25519PublicKey.from_public_bytes(public_key).verify(payload[12:], message)  # no raise


def test_the_verifier_key_has_type_0x04_and_round_trips() -> None:
    cosigner = Cosigner.generate("witness.example/w1")
    key = cosigner.verifier().key_string()
    name, key_id, encoded = key.split("+", 2)

    raw = base64.b64decode(encoded)
    assert name == "witness.example/w1" and raw[0] == 0x04 and raw[1:] == cosigner.public_key
    expected = hashlib.sha256(b"witness.example/w1\n\x04" + raw[1:]).digest()[:4]
    assert bytes.fromhex(key_id) == expected
    assert CosignatureVerifier.parse(key) == cosigner.verifier()


def test_a_log_key_is_not_a_witness_key_nor_the_reverse() -> None:
    log = Signer.generate("example.com/log")
    witness = Cosigner.generate("witness.example/w1")

    with pytest.raises(NoteError, match="0x04"):
        CosignatureVerifier.parse(log.verifier_key_string())
    with pytest.raises(NoteError, match="0x01"):
        Verifier.parse(witness.verifier().key_string())


def test_the_private_key_is_kept_as_a_note_signer_key_and_read_back() -> None:
    cosigner = Cosigner.generate("witness.example/w1")
    kept = cosigner.private_key_string()

    assert kept.startswith("PRIVATE+KEY+witness.example/w1+")
    assert Signer.parse(kept).public_key == cosigner.public_key
    assert Cosigner.parse(kept).verifier() == cosigner.verifier()


def test_a_cosigned_checkpoint_verifies_and_an_edited_one_does_not() -> None:
    log = Signer.generate("example.com/behind-the-sofa")
    cosigner = Cosigner.generate("witness.example/w1")
    note = sign_checkpoint(log, Checkpoint.parse(BODY)) + cosigner.cosign(BODY, TIME)

    found = cosigner.verifier().find(note)
    assert found is not None and found.timestamp == TIME
    assert log.verifier().verify(note) == BODY  # the log's signature still verifies

    edited = note.replace("20852163", "20852164")
    with pytest.raises(NoteError, match="does not verify"):
        cosigner.verifier().find(edited)


def test_a_note_without_the_witness_s_cosignature_has_none() -> None:
    log = Signer.generate("example.com/log")
    note = sign_checkpoint(log, Checkpoint("example.com/log", 1, ROOT))

    assert Cosigner.generate("w").verifier().find(note) is None


def test_a_timestamp_of_zero_or_beyond_2_63_is_refused() -> None:
    with pytest.raises(NoteError, match="timestamp"):
        cosigned_message(BODY, 0)
    with pytest.raises(NoteError, match="timestamp"):
        Cosigner.generate("w").cosign(BODY, 2**63)
