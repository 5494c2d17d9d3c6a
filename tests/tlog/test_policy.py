"""Verifier policies (C2SP tlog-policy): parsing the file format and deciding whether a
checkpoint's cosignatures make the quorum."""

from __future__ import annotations

import hashlib

import pytest

from concord.tlog.cosignature import Cosigner
from concord.tlog.notes import Checkpoint, NoteError, Signer, sign_checkpoint
from concord.tlog.policy import Policy, PolicyError, open_witnessed
from concord.tlog.proof import TlogProof

LOG = Signer.generate("example.com/log")
WITNESSES = {name: Cosigner.generate(f"{name.lower()}.example") for name in
             ("X1", "X2", "X3", "Y1", "Y2", "Y3")}
ROOT = hashlib.sha256(b"root").digest()
BODY = Checkpoint("example.com/log", 42, ROOT).body()


def cosigned(*names: str) -> str:
    """The checkpoint signed by the log and cosigned by the witnesses named."""
    return sign_checkpoint(LOG, Checkpoint.parse(BODY)) + "".join(
        WITNESSES[name].cosign(BODY, 1_700_000_000) for name in names)


def spec_example() -> Policy:
    """The two-level example of the spec, with real keys."""
    lines = [f"log {LOG.verifier_key_string()}", ""]
    lines += [f"witness {name} {w.verifier().key_string()}" for name, w in WITNESSES.items()]
    lines += ["group X-witnesses 2 X1 X2 X3", "group Y-witnesses any Y1 Y2 Y3",
              "  # a comment, indented", "group X-and-Y all X-witnesses Y-witnesses",
              "quorum X-and-Y", ""]
    return Policy.parse("\n".join(lines))


@pytest.mark.parametrize(("names", "met"), [
    ((), False), (("X1", "X2"), False), (("X1", "Y1"), False),
    (("X1", "X2", "Y3"), True), (("X1", "X2", "X3", "Y1", "Y2", "Y3"), True),
    (("Y1", "Y2", "Y3"), False),
])
def test_the_spec_s_two_level_quorum(names: tuple[str, ...], met: bool) -> None:
    policy = spec_example()
    note = cosigned(*names)

    assert set(policy.cosigners(note)) == set(names)
    if met:
        assert open_witnessed(note, None, policy).checkpoint.size == 42
    else:
        with pytest.raises(PolicyError, match="not witnessed enough"):
            open_witnessed(note, None, policy)


def test_k_of_the_given_witnesses() -> None:
    keys = [WITNESSES[name].verifier() for name in ("X1", "X2", "X3")]
    two = Policy.of(keys, 2)

    assert open_witnessed(cosigned("X1", "X3"), LOG.verifier(), two).cosigned == (
        keys[0].label, keys[2].label)
    with pytest.raises(PolicyError, match=r"2 of \("):
        open_witnessed(cosigned("X2", "Y1"), LOG.verifier(), two)
    # Quorum 0 needs no cosignature; none at all needs the log's signature still.
    assert open_witnessed(cosigned(), LOG.verifier(), Policy.of(keys, 0)).cosigned == ()
    with pytest.raises(PolicyError, match="not possible"):
        Policy.of(keys, 4)


def test_a_checkpoint_needs_a_trusted_log_for_its_origin() -> None:
    other = Signer.generate("example.com/log")  # the same origin, another key
    with pytest.raises(NoteError, match="no signature by"):
        open_witnessed(cosigned("X1"), other.verifier(), None)
    with pytest.raises(PolicyError, match="no log of that origin"):
        open_witnessed(cosigned("X1"), None, Policy.parse("quorum none\n"))


def test_a_forged_cosignature_of_a_policy_witness_is_an_error() -> None:
    note = cosigned("X1")
    line = note.splitlines()[-1]
    forged = note.replace(line, line[:-6] + ("AAAA==" if not line.endswith("AAAA==") else "BBBB=="))
    with pytest.raises(NoteError, match="does not verify"):
        open_witnessed(forged, LOG.verifier(), spec_example())


@pytest.mark.parametrize(("text", "reason"), [
    ("", "no quorum line"),
    ("quorum none\nquorum none\n", "exactly one quorum"),
    ("quorum X1\n", "not a witness or group"),
    ("group G any X1\nquorum G\n", "not a witness or group"),
    ("witness none {X1}\nquorum none\n", "reserved"),
    ("witness A {X1}\nwitness A {X2}\nquorum A\n", "defined twice"),
    ("witness A {X1}\nwitness B {X1}\nquorum A\n", "listed twice"),
    ("witness A {X1}\ngroup G 2 A\nquorum G\n", "threshold"),
    ("witness A {X1}\ngroup G 01 A\nquorum G\n", "threshold"),
    ("witness A {X1}\ngroup G any A A\nquorum G\n", "twice"),
    ("witness A {X1}\nwitness B {X2}\ngroup G1 any A\ngroup G2 any A B\n"
     "group Q all G1 G2\nquorum Q\n", "already a member of another group"),
    ("witness A {LOG}\nquorum A\n", "0x04"),
    ("log {X1}\nquorum none\n", "0x01"),
    ("witness A\nquorum none\n", "not a log, witness"),
    ("bogus line\nquorum none\n", "not a log, witness"),
    ("quorum none\x0b\n", "control character"),
])
def test_malformed_policies_are_refused_naming_the_problem(text: str, reason: str) -> None:
    text = text.replace("{X1}", WITNESSES["X1"].verifier().key_string()).replace(
        "{X2}", WITNESSES["X2"].verifier().key_string()).replace(
        "{LOG}", LOG.verifier_key_string())
    with pytest.raises(PolicyError, match=reason):
        Policy.parse(text)


def test_urls_and_tabs_are_allowed() -> None:
    key = WITNESSES["X1"].verifier().key_string()
    policy = Policy.parse(f"\tlog {LOG.verifier_key_string()} https://log.example/\n"
                          f"witness A\t{key}   https://w.example/\nquorum A\n")
    assert policy.describe() == "A"
    assert open_witnessed(cosigned("X1"), None, policy).cosigned == ("A",)


def test_a_tlog_proof_round_trips_and_refuses_malformed_text() -> None:
    note = cosigned("X1")
    proof = TlogProof(7, (ROOT, hashlib.sha256(b"x").digest()), note, b'{"position":8}')
    text = proof.encode()

    assert text.startswith("c2sp.org/tlog-proof@v1\nextra ")
    assert TlogProof.parse(text) == proof
    assert TlogProof.parse(TlogProof(0, (), note).encode()) == TlogProof(0, (), note)
    for broken, reason in [
        (text.replace("c2sp.org/tlog-proof@v1", "tlog-proof"), "starts with"),
        (text.replace("index 7", "index 07"), "index line"),
        (text.split("\n\n")[0], "empty line"),
        (text.replace("extra ", "extra !"), "base64"),
    ]:
        with pytest.raises(NoteError, match=reason):
            TlogProof.parse(broken)
