// "Verify in this browser", on an entry's page: each step checked with WebCrypto and shown
// in words, passed or failed.

import {
  CheckFailed, equalBytes, leafHash, leafOf, rootFromInclusion, toBase64, toHex,
} from "./tlog.js";
import {
  Alarm, evidenceLinks, logChecked, pinnedVerifier, signedCheckpoint, treeOf, witness,
  witnessed,
} from "./witness.js";

const STEPS = [
  ["key", "The log's verifier key"],
  ["signature", "The log's signature on its checkpoint"],
  ["witnesses", "The witnesses' cosignatures"],
  ["leaf", "The entry shown is the leaf the log's tree holds"],
  ["root", "The entry's audit path leads to the signed root"],
  ["consistency", "The log extends the checkpoint this browser verified before"],
];

function show(list, step, result, text, extra = null) {
  const item = list.querySelector(`[data-step="${step}"]`);
  item.dataset.result = result;
  const word = { passed: "Passed", failed: "Failed", skipped: "Not checked",
                 pinned: "Pinned now, to be confirmed", unasked: "Not asked" }[result];
  item.replaceChildren();
  const label = STEPS.find(([name]) => name === step)[1];
  const head = document.createElement("strong");
  head.textContent = `${word}: ${label}.`;
  item.append(head, ` ${text}`);
  if (extra) item.append(extra);
}

async function verify(section) {
  const position = Number(section.dataset.position);
  const index = Number(section.dataset.leafIndex);
  const list = document.getElementById("verify-steps");
  const verdict = document.getElementById("verify-result");
  list.replaceChildren(...STEPS.map(([step]) => {
    const item = document.createElement("li");
    item.dataset.step = step;
    item.dataset.result = "pending";
    item.textContent = "…";
    return item;
  }));
  verdict.className = "verdict";
  verdict.setAttribute("role", "status"); // an alert only while a failure stands
  verdict.textContent = "Verifying…";
  let current = "key";
  try {
    await logChecked; // the page's own check first: both remember what they verify
    const { verifier, pin, firstUse } = await pinnedVerifier();
    // A key first seen now is only the server's word: it is pinned, and said to be so.
    show(list, "key", firstUse ? "pinned" : "passed",
         `${verifier.name}, fingerprint ${pin.fingerprint}; ` +
         (firstUse ? "this browser had no key of this log and pinned the one served now."
                   : `the key this browser pinned ${pin.pinnedAt}.`) +
         " Compare the fingerprint with the one your secretariat gave you.");
    current = "signature";
    // The checkpoint the log serves (with witnesses, the largest they cosigned) if it
    // covers the entry; else a newer one, signed by the log alone so far.
    let checkpoint = await signedCheckpoint(verifier);
    if (checkpoint.size <= index) checkpoint = await signedCheckpoint(verifier, position);
    show(list, "signature", "passed", `The checkpoint of ${checkpoint.size} entries, root ` +
         `${toBase64(checkpoint.root)}, is signed by ${verifier.name}.`);
    current = "witnesses";
    const cosigned = await witnessed(checkpoint);
    if (!cosigned.met) {
      throw new CheckFailed(`${cosigned.words}` + (checkpoint.cosigners.length ? "" :
        " The entry may be newer than the last checkpoint they cosigned: try again shortly."));
    }
    show(list, "witnesses", cosigned.asked ? "passed" : "unasked", cosigned.words);
    current = "leaf";
    const envelope = JSON.parse(document.getElementById("envelope").textContent);
    // Positions are dense from 1 and leaves from 0: the entry at a position is one leaf.
    if (!Number.isSafeInteger(position) || position < 1 || envelope.position !== position
        || envelope.leaf_index !== position - 1 || index !== position - 1) {
      throw new CheckFailed("the entry shown is not the one at this position's leaf");
    }
    const shown = await leafHash(leafOf(envelope));
    // The log's tiles (C2SP tlog-tiles) give the leaf's hash and its audit path; the path
    // is made here, and checked against the signed root.
    const tree = treeOf(checkpoint.size);
    const held = await tree.stored(0, index);
    if (!equalBytes(shown, held)) {
      throw new CheckFailed(`The entry shown hashes to ${toHex(shown)}, but the log's tiles ` +
                            `hold ${toHex(held)} for leaf ${index}: the entry shown is not ` +
                            "the one that was recorded.");
    }
    show(list, "leaf", "passed", `The entry shown hashes to ${toHex(shown)}, the hash the ` +
         `log's tiles hold for leaf ${index} (the next step checks it against the signed ` +
         "root).");
    current = "root";
    const path = await tree.inclusion(index);
    const root = await rootFromInclusion(index, checkpoint.size, shown, path);
    if (!equalBytes(root, checkpoint.root)) {
      throw new CheckFailed(`The audit path of ${path.length} hashes, made of the log's ` +
                            `tiles, leads from the entry to ${toBase64(root)}, not to the ` +
                            "signed root.");
    }
    show(list, "root", "passed", `Its audit path of ${path.length} hashes, made of the ` +
         `log's tiles, leads from the entry to the signed root of ${checkpoint.size} entries.`);
    current = "consistency";
    const seen = await witness(checkpoint);
    show(list, "consistency", "passed", {
      first: "This browser had verified no checkpoint of this log before; it remembers this one.",
      same: `It is the checkpoint this browser verified ${seen.previous?.verifiedAt}.`,
      grew: `The log grew from ${seen.previous?.size} to ${checkpoint.size} entries consistently.`,
      older: `The larger checkpoint this browser verified before (${seen.previous?.size} ` +
             "entries) extends it.",
    }[seen.kind]);
    verdict.className = "verdict passed";
    verdict.textContent = `Verified: the entry ${position} shown as JSON above is in the log, ` +
      "under a checkpoint signed with " + (firstUse ? "the key pinned now." : "the pinned key.");
  } catch (e) {
    const at = STEPS.findIndex(([step]) => step === current);
    show(list, current, "failed", e.message,
         e instanceof Alarm ? evidenceLinks(e.evidence) : null);
    for (const [step] of STEPS.slice(at + 1)) show(list, step, "skipped", "");
    verdict.className = "verdict failed";
    verdict.setAttribute("role", "alert");
    verdict.textContent = `Verification failed at step ${at + 1}, ` +
      `“${STEPS[at][1]}”: ${e.message}`;
  }
}

const section = document.getElementById("verify-section");
const button = document.getElementById("verify-button");
if (section && button && window.crypto && crypto.subtle) {
  button.disabled = false;
  button.addEventListener("click", () => verify(section));
}
