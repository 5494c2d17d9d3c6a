"""The tlog-witness messages: an add-checkpoint body and a 409's tree size line, encoded
and parsed back, and every malformed one refused."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from concord.tlog.notes import Checkpoint, Signer
from concord.tlog.witnessing import (
    MAX_PROOF_LINES,
    WitnessFormatError,
    encode_add_checkpoint,
    encode_tree_size,
    origin_hash,
    parse_add_checkpoint,
    parse_tree_size,
)

ORIGIN = "relacopaz.example/concord"
SIGNER = Signer.generate(ORIGIN)
ROOT = hashlib.sha256(b"a root").digest()
HASHES = [hashlib.sha256(bytes([i])).digest() for i in range(MAX_PROOF_LINES + 1)]

# The example request of c2sp.org/tlog-witness, as the spec prints it.
SPEC_EXAMPLE = """old 20852014
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
\u2014 example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=
"""  # noqa: E501


def note(size: int = 5, extensions: tuple[str, ...] = ()) -> str:
    return SIGNER.sign(Checkpoint(ORIGIN, size, ROOT, extensions).body())


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


# Round trips


def test_a_request_body_is_the_old_size_the_proof_lines_an_empty_line_and_the_note() -> None:
    body = encode_add_checkpoint(3, HASHES[:2], note())

    assert body == (f"old 3\n{b64(HASHES[0])}\n{b64(HASHES[1])}\n\n{note()}").encode()
    request = parse_add_checkpoint(body)
    assert (request.old_size, request.proof, request.note) == (3, tuple(HASHES[:2]), note())
    assert request.checkpoint == Checkpoint(ORIGIN, 5, ROOT)


def test_the_spec_example_request_parses() -> None:
    request = parse_add_checkpoint(SPEC_EXAMPLE.encode())

    assert request.old_size == 20852014
    assert [b64(digest) for digest in request.proof] == SPEC_EXAMPLE.splitlines()[1:5]
    assert request.checkpoint.origin == "example.com/behind-the-sofa"
    assert request.checkpoint.size == 20852163
    assert request.note == SPEC_EXAMPLE.split("\n\n", 1)[1]
    assert encode_add_checkpoint(request.old_size, request.proof,
                                 request.note) == SPEC_EXAMPLE.encode()


def test_a_request_from_old_size_zero_has_no_proof_lines() -> None:
    body = encode_add_checkpoint(0, [], note(0))

    assert body == f"old 0\n\n{note(0)}".encode()
    assert parse_add_checkpoint(body).proof == ()


def test_a_request_keeps_every_signature_and_the_extension_lines() -> None:
    other = Signer.generate("witness.example/w1")
    text = Checkpoint(ORIGIN, 7, ROOT, ("an extension",)).body()
    signed = SIGNER.sign(text)
    twice = signed + other.sign(text).split("\n\n")[-1]

    request = parse_add_checkpoint(encode_add_checkpoint(2, [HASHES[0]], twice))

    assert request.note == twice
    assert request.checkpoint.extensions == ("an extension",)


def test_a_proof_of_63_hashes_is_the_longest_accepted() -> None:
    body = encode_add_checkpoint(9, HASHES[:MAX_PROOF_LINES], note())

    assert len(parse_add_checkpoint(body).proof) == MAX_PROOF_LINES
    with pytest.raises(WitnessFormatError, match="more than 63"):
        parse_add_checkpoint(body.replace(b"\n\n", f"\n{b64(HASHES[63])}\n\n".encode(), 1))


@given(old_size=st.integers(0, 2**64 - 1), size=st.integers(0, 2**64 - 1),
       proof=st.lists(st.binary(min_size=32, max_size=32), max_size=MAX_PROOF_LINES),
       extensions=st.lists(st.text("abc xyz/+=-", min_size=1, max_size=8), max_size=3))
def test_every_request_body_parses_back_to_what_was_encoded(
        old_size: int, size: int, proof: list[bytes], extensions: list[str]) -> None:
    signed = SIGNER.sign(Checkpoint(ORIGIN, size, ROOT, tuple(extensions)).body())

    request = parse_add_checkpoint(encode_add_checkpoint(old_size, proof, signed))

    assert (request.old_size, request.proof, request.note) == (old_size, tuple(proof), signed)
    assert request.checkpoint == Checkpoint(ORIGIN, size, ROOT, tuple(extensions))


@pytest.mark.parametrize("size", [0, 1, 20852163, 2**64 - 1])
def test_a_tree_size_body_is_the_size_and_a_newline(size: int) -> None:
    assert encode_tree_size(size) == f"{size}\n".encode()
    assert parse_tree_size(encode_tree_size(size)) == size


def test_an_origin_hash_is_the_lowercase_hex_sha256_of_the_origin() -> None:
    assert origin_hash(ORIGIN) == hashlib.sha256(ORIGIN.encode()).hexdigest()
    assert origin_hash("\u00e9.example/log") == hashlib.sha256(
        "\u00e9.example/log".encode()).hexdigest()


# Malformed request bodies


def malformed_bodies() -> dict[str, bytes]:
    good = note()
    proof = b64(HASHES[0])
    urlsafe = base64.urlsafe_b64encode(b"\xfb" * 32).decode()
    size_05 = good.replace(f"{ORIGIN}\n5\n", f"{ORIGIN}\n05\n")
    rootless = SIGNER.sign(f"{ORIGIN}\n5\n")
    hyphen = good.replace("\u2014", "-")
    bell = good.replace(ORIGIN, ORIGIN + "\a", 1)
    cases = {
        "empty": "",
        "no-old-line": good,
        "old-line-without-newline": "old 0",
        "only-the-old-line": "old 0\n",
        "old-leading-zero": f"old 03\n{proof}\n\n{good}",
        "old-zero-zero": f"old 00\n\n{good}",
        "old-plus": f"old +3\n{proof}\n\n{good}",
        "old-negative": f"old -3\n{proof}\n\n{good}",
        "old-two-spaces": f"old  3\n{proof}\n\n{good}",
        "old-trailing-space": f"old 3 \n{proof}\n\n{good}",
        "old-tab": f"old\t3\n{proof}\n\n{good}",
        "old-capitalised": f"Old 3\n{proof}\n\n{good}",
        "old-hex": f"old 0x3\n{proof}\n\n{good}",
        "old-arabic-digit": f"old \u0663\n{proof}\n\n{good}",
        "old-empty": f"old \n\n{good}",
        "old-2**64": f"old {2**64}\n{proof}\n\n{good}",
        "old-21-digits": f"old {'9' * 21}\n{proof}\n\n{good}",
        "old-crlf": f"old 3\r\n{proof}\n\n{good}",
        "proof-not-base64": f"old 3\nnot base64!\n\n{good}",
        "proof-unpadded": f"old 3\n{proof.rstrip('=')}\n\n{good}",
        "proof-urlsafe": f"old 3\n{urlsafe}\n\n{good}",
        "proof-31-bytes": f"old 3\n{b64(HASHES[0][:31])}\n\n{good}",
        "proof-33-bytes": f"old 3\n{b64(HASHES[0] + b'x')}\n\n{good}",
        "proof-two-hashes-on-a-line": f"old 3\n{proof}{proof}\n\n{good}",
        "proof-trailing-space": f"old 3\n{proof} \n\n{good}",
        "proof-crlf": f"old 3\n{proof}\r\n\n{good}",
        "no-empty-line": f"old 3\n{proof}\n",
        "no-empty-line-before-the-note": f"old 3\n{proof}\n{good}",
        "nothing-after-the-empty-line": f"old 3\n{proof}\n\n",
        "two-empty-lines": f"old 3\n{proof}\n\n\n{good}",
        "note-without-signatures": f"old 3\n{proof}\n\n{Checkpoint(ORIGIN, 5, ROOT).body()}",
        "note-without-final-newline": f"old 3\n{proof}\n\n{good[:-1]}",
        "note-signature-not-base64": f"old 3\n{proof}\n\n{good[:-3]}!!\n",
        "note-hyphen-for-em-dash": f"old 3\n{proof}\n\n{hyphen}",
        "note-control-character": f"old 3\n{proof}\n\n{bell}",
        "checkpoint-size-leading-zero": f"old 3\n{proof}\n\n{size_05}",
        "checkpoint-without-root": f"old 3\n{proof}\n\n{rootless}",
    }
    encoded = {name: body.encode() for name, body in cases.items()}
    encoded["not-utf-8"] = f"old 3\n{proof}\n\n".encode() + good.encode().replace(b"concord",
                                                                                 b"c\xffncord")
    return encoded


@pytest.mark.parametrize("case", list(malformed_bodies()))
def test_a_malformed_request_body_is_refused(case: str) -> None:
    with pytest.raises(WitnessFormatError):
        parse_add_checkpoint(malformed_bodies()[case])


def test_a_refusal_says_what_is_wrong() -> None:
    with pytest.raises(WitnessFormatError, match="without leading zeros, not 'old 03'"):
        parse_add_checkpoint(malformed_bodies()["old-leading-zero"])
    with pytest.raises(WitnessFormatError, match="line 1 holds 31 bytes"):
        parse_add_checkpoint(malformed_bodies()["proof-31-bytes"])
    with pytest.raises(WitnessFormatError, match="checkpoint is malformed"):
        parse_add_checkpoint(malformed_bodies()["checkpoint-size-leading-zero"])


@pytest.mark.parametrize(("old_size", "proof", "signed"), [
    (-1, [], note()),
    (2**64, [], note()),
    (True, [], note()),
    (3, HASHES[:MAX_PROOF_LINES + 1], note()),
    (3, [HASHES[0][:31]], note()),
    (3, [], Checkpoint(ORIGIN, 5, ROOT).body()),
    (3, [], note()[:-1]),
], ids=["negative", "2**64", "bool", "64-hashes", "31-byte-hash", "unsigned", "no-newline"])
def test_a_request_that_would_be_malformed_is_not_encoded(
        old_size: int, proof: list[bytes], signed: str) -> None:
    with pytest.raises(ValueError):
        encode_add_checkpoint(old_size, proof, signed)


# Malformed tree size bodies


@pytest.mark.parametrize("body", [
    b"", b"5", b"05\n", b"00\n", b"+5\n", b"-5\n", b" 5\n", b"5 \n", b"5\r\n", b"5\n\n",
    b"0x5\n", "\u0665\n".encode(), str(2**64).encode() + b"\n", b"9" * 21 + b"\n", b"\xff\n",
    b"old 5\n",
])
def test_a_malformed_tree_size_body_is_refused(body: bytes) -> None:
    with pytest.raises(WitnessFormatError):
        parse_tree_size(body)


@pytest.mark.parametrize("size", [-1, 2**64])
def test_a_tree_size_out_of_range_is_not_encoded(size: int) -> None:
    with pytest.raises(ValueError):
        encode_tree_size(size)
