"""The console's verifier (static/tlog.js) in a real browser: the published Merkle proof
vectors, the signed-note vectors of Go's note package and of the C2SP spec, and the leaf it
makes of an envelope, byte for byte the leaf the log makes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from concord.tlog.leaves import leaf_bytes
from concord.tlog.merkle import consistency_proof, inclusion_proof, root_of
from concord.tlog.notes import Checkpoint, Signer, sign_checkpoint
from tests.api.console import DemoServer, launch, start_demo

sync_api = pytest.importorskip("playwright.sync_api", reason="the dev extra installs playwright")

VECTORS = Path(__file__).parent.parent / "vectors"
# Its roots are the 12 ASCII bytes "don't care 2", not hashes: like the log's own verifier
# (tests/tlog/test_merkle.py), the browser's refuses any root that is not a 32-byte hash.
REJECTED_PLACEHOLDER = "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, DemoServer]]:
    """A page of a real server (WebCrypto needs a secure origin) with tlog.js loaded as
    `window.tlog` and witness.js as `window.witness`; and the server."""
    directory = tmp_path_factory.mktemp("tlog-js")
    server = start_demo(directory / "data", directory / "server.log")
    try:
        with sync_api.sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page()
            page.goto(server.url + "/")
            page.evaluate("async () => { window.tlog = await import('/static/tlog.js'); "
                          "window.witness = await import('/static/witness.js'); "
                          "await window.witness.logChecked; }")
            yield page, server
            browser.close()
    finally:
        server.stop()


@pytest.fixture
def tlog(demo_page: tuple[Any, DemoServer]) -> Any:
    return demo_page[0]


def _vectors(kind: str) -> list[dict[str, Any]]:
    found = []
    for path in sorted((VECTORS / "merkle" / kind).rglob("*.json")):
        name = path.relative_to(VECTORS / "merkle").as_posix()
        found.append({**json.loads(path.read_text()), "name": name})
    return found


def test_every_merkle_vector_gives_the_browser_the_published_answer(tlog: Any) -> None:
    results = tlog.evaluate(
        """async ([inclusion, consistency]) => {
          const t = window.tlog, hashes = (p) => (p || []).map(t.fromBase64), out = {};
          const run = async (name, check) => {
            try { out[name] = await check(); } catch (e) { out[name] = false; }
          };
          for (const v of inclusion) await run(v.name, () => t.verifyInclusion(
            v.leafIdx, v.treeSize, t.fromBase64(v.leafHash), hashes(v.proof),
            t.fromBase64(v.root)));
          for (const v of consistency) await run(v.name, () => t.verifyConsistency(
            v.size1, v.size2, hashes(v.proof), t.fromBase64(v.root1), t.fromBase64(v.root2)));
          return out;
        }""", [_vectors("inclusion"), _vectors("consistency")])
    assert len(results) == 196
    for vector in _vectors("inclusion") + _vectors("consistency"):
        accepted = not vector["wantErr"] and vector["name"] != REJECTED_PLACEHOLDER
        assert results[vector["name"]] is accepted, vector["name"]


def test_the_browser_opens_the_notes_go_and_the_spec_signed(tlog: Any) -> None:
    notes = json.loads((VECTORS / "signed-note.json").read_text())
    go, spec = notes["go_note_example"], notes["c2sp_example"]
    spec_note = f"{spec['message']}\n— example.com/foo {spec['signature_base64']}\n"
    answers = tlog.evaluate(
        """async (cases) => {
          const out = [];
          for (const [key, note] of cases) {
            try {
              const verifier = await window.tlog.parseVerifierKey(key);
              const opened = await window.tlog.openNote(note, verifier);
              out.push(opened.text);
            } catch (e) { out.push('refused: ' + e.message); }
          }
          return out;
        }""", [[go["verifier_key"], go["signed_note"]], [spec["verifier_key"], spec_note],
               [go["verifier_key"], go["signed_note"].replace("cryptography", "cryptograph")],
               [spec["verifier_key"], go["signed_note"]],
               [go["verifier_key"].replace("c74f20a3", "c74f20a4"), go["signed_note"]]])
    assert answers[:2] == [go["text"], spec["message"]]
    assert answers[2] == "refused: the signature of PeterNeumann on the checkpoint is not valid"
    assert answers[3].startswith("refused: no signature of the key example.com/foo")
    assert answers[4].startswith("refused: the key ID c74f20a4 is not the one")


TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
# Keys are the catalogue's field names: ASCII. (For other keys RFC 8785 orders by UTF-16
# code units, as the browser does, where orjson orders by code points: the two differ only
# between keys holding U+E000..U+FFFF and keys holding characters beyond U+FFFF.)
KEY = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEY, inner, max_size=4),
    max_leaves=12)


ENVELOPE = st.builds(
    lambda data, position: {
        "position": position, "leaf_index": position - 1, "type": "StateJoinedNetwork",
        "stream": "network:N", "version": 1, "effective_date": "2023-09-12",
        "recorded_at": "2026-11-28T10:15:03.120Z", "recorded_by": "a", "source": None,
        "data": data},
    st.dictionaries(KEY, JSON_VALUE, max_size=6), st.integers(1, 2**53 - 1))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(envelopes=st.lists(ENVELOPE, min_size=1, max_size=20))
def test_the_browser_makes_the_leaf_the_log_makes_of_any_envelope(
    tlog: Any, envelopes: list[dict[str, Any]]
) -> None:
    # The page reads an envelope as JSON text, as the entry's page does.
    made = tlog.evaluate("texts => texts.map(t => Array.from(window.tlog.leafOf(JSON.parse(t))))",
                         [json.dumps(e) for e in envelopes])
    assert [bytes(m) for m in made] == [leaf_bytes(e) for e in envelopes]


WITNESS = """async ([previous, current]) => {
  const t = window.tlog, w = window.witness;
  const parsed = async (note) => {
    const key = await t.parseVerifierKey(await w.fetchText('/v1/log/public-key'));
    const { text } = await t.openNote(note, key);
    return { note, ...t.parseCheckpoint(text) };
  };
  localStorage.removeItem('concord.checkpoint');
  await w.witness(await parsed(previous));
  const kept = () => JSON.parse(localStorage['concord.checkpoint']).size;
  try {
    const seen = await w.witness(await parsed(current));
    return [seen.kind, kept()];
  } catch (e) {
    return [e.constructor.name + ': ' + e.message, kept()];
  }
}"""


def test_the_browser_accepts_an_older_checkpoint_the_one_it_remembers_extends(
    demo_page: tuple[Any, DemoServer]
) -> None:
    page, server = demo_page
    older = server.http.get("/v1/log/checkpoint").text
    size = int(older.split("\n")[1])
    appended = server.http.post("/v1/events", json={"type": "StateLeftNetwork", "data": {
        "network": "RELACOPAZ", "state": "PER"}, "effective_date": "2024-05-01"})
    assert appended.status_code == 201, appended.text
    newer = server.http.get("/v1/log/checkpoint",
                            params={"min_position": appended.json()["position"]}).text
    # A log with witnesses serves the largest checkpoint they cosigned, which may be older
    # than one this browser verified on an entry's page: no alarm, and nothing forgotten.
    assert page.evaluate(WITNESS, [newer, older]) == ["older", size + 1]
    assert page.evaluate(WITNESS, [older, newer]) == ["grew", size + 1]
    # An older checkpoint of another history, signed with the log's own key, is caught.
    signer = Signer.parse((server.data_dir / "signing.key").read_text().strip())
    forged = sign_checkpoint(signer, Checkpoint(signer.name, size, bytes(range(32))))
    kind, kept = page.evaluate(WITNESS, [newer, forged])
    assert kind.startswith(f"Alarm: The log serves a checkpoint of {size} entries that the "
                           f"one of {size + 1} this browser verified"), kind
    assert kept == size + 1


def test_proofs_made_of_the_log_s_tiles_are_the_rfc_s_for_every_size(
    demo_page: tuple[Any, DemoServer]
) -> None:
    page, server = demo_page
    size = int(server.http.get("/v1/log/checkpoint").text.split("\n")[1])
    hashes = [base64.b64decode(server.http.get(f"/v1/log/leaves/{i}").headers["X-Leaf-Hash"])
              for i in range(size)]

    def subtree(start: int, end: int) -> bytes:
        return root_of(hashes[start:end])

    made = page.evaluate(
        """async (size) => {
          const t = window.tlog, w = window.witness, out = {};
          for (let n = 1; n <= size; n++) {
            const tree = w.treeOf(n);
            for (let i = 0; i < n; i++) {
              out[`i ${i} ${n}`] = (await tree.inclusion(i)).map(t.toBase64);
            }
            for (let m = 1; m < n; m++) {
              out[`c ${m} ${n}`] = (await tree.consistency(m)).map(t.toBase64);
            }
          }
          return out;
        }""", size)
    expected = {}
    for n in range(1, size + 1):
        for i in range(n):
            expected[f"i {i} {n}"] = [base64.b64encode(h).decode()
                                      for h in inclusion_proof(subtree, i, n)]
        for m in range(1, n):
            expected[f"c {m} {n}"] = [base64.b64encode(h).decode()
                                      for h in consistency_proof(subtree, m, n)]
    assert made == expected


def test_proofs_made_of_tiles_two_levels_up_are_the_rfc_s(
    demo_page: tuple[Any, DemoServer]
) -> None:
    page, server = demo_page
    adopted = server.http.post("/v1/events/batch", json={"events": [
        {"type": "DeclarationAdopted", "data": {"declaration": f"T-{i}", "title": f"T {i}"}}
        for i in range(700)]})
    assert adopted.status_code == 201, adopted.text
    size = adopted.json()["events"][-1]["position"]
    assert size > 512
    server.http.get("/v1/log/checkpoint", params={"min_position": size})
    full, rest = divmod(size, 256)
    tiles = [server.http.get(f"/v1/log/tile/0/{n:03d}") for n in range(full)]
    tiles += [server.http.get(f"/v1/log/tile/0/{full:03d}.p/{rest}")] if rest else []
    assert all(t.status_code == 200 for t in tiles), [t.text for t in tiles]
    leaves = b"".join(t.content for t in tiles)
    hashes = [leaves[i:i + 32] for i in range(0, len(leaves), 32)]
    assert len(hashes) == size

    def subtree(start: int, end: int) -> bytes:
        return root_of(hashes[start:end])

    asked = [(i, n) for n in (256, 257, 511, 512, 513, size) for i in (0, 1, 255, 256, n - 1)
             if i < n]
    made = page.evaluate(
        """async (asked) => {
          const t = window.tlog, w = window.witness, out = [];
          for (const [i, n] of asked) {
            const tree = w.treeOf(n);
            out.push([(await tree.inclusion(i)).map(t.toBase64),
                      i > 0 ? (await tree.consistency(i)).map(t.toBase64) : []]);
          }
          return out;
        }""", asked)
    expected = [[[base64.b64encode(h).decode() for h in inclusion_proof(subtree, i, n)],
                 [base64.b64encode(h).decode() for h in consistency_proof(subtree, i, n)]
                 if i > 0 else []] for i, n in asked]
    assert made == expected
