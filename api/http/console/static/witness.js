// The browser as a witness: on every page, check the log's signed checkpoint with the key
// this browser pinned on first use, and that the log extends the last checkpoint this
// browser verified (a consistency proof); remember the new one. A failure is shown loudly,
// with both signed checkpoints to keep as evidence.

import {
  CheckFailed, COSIGNATURE_V1, fingerprint, fromBase64, openNote, parseCheckpoint,
  parseVerifierKey, TileHashes, toBase64, validCosignatures, verifyConsistency,
} from "./tlog.js";

const PINNED = "concord.pinned-key";
const SEEN = "concord.checkpoint";
const TRUSTED = "concord.witnesses"; // {keys: [verifier key text], quorum}

export class Alarm extends Error {
  // A failure that shows the log misbehaving (not a network error): evidence to keep.
  constructor(message, evidence = []) {
    super(message);
    this.evidence = evidence; // [{label, name, text}]
  }
}

export async function fetchText(url) {
  let answer;
  try {
    answer = await fetch(url, { cache: "no-store" });
  } catch (e) {
    throw new CheckFailed(`could not reach the server for ${url}`);
  }
  if (!answer.ok) throw new CheckFailed(`the server answered ${url} with ${answer.status}`);
  return answer.text();
}

// The log's tiles (C2SP tlog-tiles, under /v1/log), by path.
export async function readTile(path) {
  let answer;
  try {
    answer = await fetch(`/v1/log/${path}`);
  } catch (e) {
    throw new CheckFailed(`could not reach the server for the tile ${path}`);
  }
  if (!answer.ok) throw new CheckFailed(`the server answered the tile ${path} with ${answer.status}`);
  return new Uint8Array(await answer.arrayBuffer());
}

// The tree of `size` leaves, as its tiles hold it.
export function treeOf(size) {
  return new TileHashes(size, readTile);
}

export class Unremembered extends Error {}

// What this browser keeps: null if nothing was kept; Unremembered if what was kept cannot
// be read (never taken as "nothing": that would pin anew whatever is served).
function load(name) {
  let raw;
  try {
    raw = localStorage.getItem(name);
  } catch (e) {
    return null; // a browser that keeps nothing: save() says so
  }
  if (!raw) return null;
  try {
    return JSON.parse(raw);
  } catch (e) {
    throw new Unremembered(`what this browser kept as ${name} cannot be read`);
  }
}

// Keep `value`; false if this browser does not let the page keep anything.
function save(name, value) {
  try {
    localStorage.setItem(name, JSON.stringify(value));
    return true;
  } catch (e) {
    return false;
  }
}

export function forget() {
  localStorage.removeItem(PINNED);
  localStorage.removeItem(SEEN);
}

export function pinned() {
  try {
    return load(PINNED);
  } catch (e) {
    return null;
  }
}

// The witnesses the reader trusts (their cosignature/v1 keys, given by hand) and how many
// must cosign: null if none.
export async function trustedWitnesses() {
  let kept = null;
  try {
    kept = load(TRUSTED);
  } catch (e) {
    return null;
  }
  if (!kept || !kept.keys || !kept.keys.length) return null;
  const keys = [];
  for (const text of kept.keys) keys.push(await parseVerifierKey(text, COSIGNATURE_V1));
  return { keys, quorum: kept.quorum };
}

// How the checkpoint stands with the witnesses the reader trusts: {asked, cosigned, quorum,
// met, words}; asked false when the reader trusts none.
export async function witnessed(checkpoint) {
  const trusted = await trustedWitnesses();
  if (!trusted) {
    return { asked: false, met: true,
             words: checkpoint.cosigners.length
               ? `It carries the cosignatures of ${checkpoint.cosigners.join(", ")}; add the ` +
                 "keys of the witnesses you trust (below) to have them checked."
               : "It carries no witness's cosignature." };
  }
  const cosigned = await validCosignatures(checkpoint.note, trusted.keys);
  const met = cosigned.length >= trusted.quorum;
  const who = cosigned.map((c) => c.name).join(", ") || "none";
  return { asked: true, met, cosigned, quorum: trusted.quorum,
           words: `${cosigned.length} of the ${trusted.keys.length} witnesses this browser ` +
                  `trusts cosigned it (${who}); ${trusted.quorum} must.` };
}

// The log's verifier key, pinned on first use: {verifier, pin, firstUse, kept}. An Alarm
// if the server now presents another key than the one pinned.
export async function pinnedVerifier() {
  const served = (await fetchText("/v1/log/public-key")).trim();
  const pin = load(PINNED);
  if (pin && pin.text !== served) {
    throw new Alarm(
      `The log's verifier key is not the one this browser pinned on ${pin.pinnedAt} ` +
      `(fingerprint ${pin.fingerprint}); the server now presents ${served}. Unless the ` +
      "secretariat announced a new key, treat the log as untrusted.",
      [{ label: "the key pinned", name: "pinned-key.vkey", text: `${pin.text}\n` },
       { label: "the key served now", name: "served-key.vkey", text: `${served}\n` }]);
  }
  const verifier = await parseVerifierKey(served);
  if (pin) return { verifier, pin, firstUse: false, kept: true };
  const made = { text: served, fingerprint: await fingerprint(served),
                 pinnedAt: new Date().toISOString() };
  return { verifier, pin: made, firstUse: true, kept: save(PINNED, made) };
}

// The signed checkpoint the server serves (covering `minPosition` entries at least), its
// signature checked, and its origin the key's name: {note, origin, size, root, cosigners}.
export async function signedCheckpoint(verifier, minPosition = 0) {
  const query = minPosition ? `?min_position=${minPosition}` : "";
  const note = await fetchText(`/v1/log/checkpoint${query}`);
  const { text, cosigners } = await openNote(note, verifier);
  const checkpoint = parseCheckpoint(text);
  if (checkpoint.origin !== verifier.name) {
    throw new CheckFailed(`the checkpoint is of the log ${checkpoint.origin}, not of ` +
                          `${verifier.name} whose key signed it`);
  }
  return { note, ...checkpoint, cosigners };
}

async function consistencyPath(first, second, evidence) {
  // The proof is made here of the larger tree's tiles. A log that signed a larger tree but
  // cannot show the tiles that prove it extends the smaller one is not trusted: the
  // checkpoints are kept as evidence, whatever the reason.
  try {
    return await treeOf(second).consistency(first);
  } catch (e) {
    throw new Alarm(`The log did not show that its tree of ${second} entries extends the ` +
                    `one of ${first} (${e.message}).`, evidence);
  }
}

// Whether `current` and the checkpoint this browser verified last are of one history (the
// larger extending the smaller); remembers the larger. {previous, kind: "first" | "same" |
// "grew" | "older", kept}; an Alarm if they are not of one history.
export async function witness(current) {
  const previous = load(SEEN);
  const entry = { note: current.note, origin: current.origin, size: current.size,
                  root: toBase64(current.root), verifiedAt: new Date().toISOString() };
  // Another tab may have remembered a larger one meanwhile: never go back.
  const remember = () => {
    const latest = load(SEEN);
    return latest && latest.size > entry.size ? true : save(SEEN, entry);
  };
  if (!previous) return { previous, kind: "first", kept: remember() };
  const evidence = [
    { label: "the checkpoint verified before", name: `checkpoint-${previous.size}-verified.txt`,
      text: previous.note },
    { label: "the checkpoint served now", name: `checkpoint-${current.size}-served.txt`,
      text: current.note }];
  const before = fromBase64(previous.root);
  if (previous.origin !== current.origin) {
    throw new Alarm(`The log at this address now calls itself ${current.origin}, not ` +
                    `${previous.origin} as when this browser verified it.`, evidence);
  }
  if (current.size === previous.size) {
    if (toBase64(current.root) !== previous.root) {
      throw new Alarm(`The log signed two different roots for ${current.size} entries: the ` +
                      `one this browser verified on ${previous.verifiedAt} and the one it ` +
                      "serves now. Its history was rewritten.", evidence);
    }
    return { previous, kind: "same", kept: true };
  }
  if (current.size < previous.size) {
    // An older checkpoint (the one its witnesses cosigned, say, or a cache's copy) is no
    // harm if the one verified before extends it.
    const path = current.size > 0
      ? await consistencyPath(current.size, previous.size, evidence) : [];
    if (!await verifyConsistency(current.size, previous.size, path, current.root, before)) {
      throw new Alarm(`The log serves a checkpoint of ${current.size} entries that the one ` +
                      `of ${previous.size} this browser verified on ${previous.verifiedAt} ` +
                      "does not extend: its history was rewritten.", evidence);
    }
    return { previous, kind: "older", kept: true };
  }
  const path = previous.size > 0
    ? await consistencyPath(previous.size, current.size, evidence) : [];
  if (!await verifyConsistency(previous.size, current.size, path, before, current.root)) {
    throw new Alarm(`The log of ${current.size} entries does not extend the one of ` +
                    `${previous.size} entries this browser verified on ` +
                    `${previous.verifiedAt}: the consistency proof fails. Its history was ` +
                    "rewritten.", evidence);
  }
  return { previous, kind: "grew", kept: remember() };
}

// The status line every page shows, and its details.

function element(tag, attributes = {}, ...children) {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
  for (const child of children) made.append(child);
  return made;
}

export function evidenceLinks(evidence) {
  const list = element("ul", { class: "evidence" });
  for (const item of evidence) {
    const url = URL.createObjectURL(new Blob([item.text], { type: "text/plain" }));
    list.append(element("li", {}, element("a", { href: url, download: item.name },
                                          `Download ${item.label}`), ` (${item.name})`));
  }
  return list;
}

function keyDetails(pin) {
  const details = element("details", { class: "key-details" });
  details.append(element("summary", {}, "The key this browser pinned"));
  details.append(element("p", {}, `Pinned ${pin.pinnedAt}: `, element("code", { class: "key" },
                                                                      pin.text)));
  details.append(element("p", {}, "Fingerprint: ", element("code", { id: "pinned-fingerprint" },
                                                           pin.fingerprint)));
  const input = element("input", { id: "held-key", size: "40", autocomplete: "off",
                                   "aria-describedby": "held-key-result" });
  const result = element("p", { id: "held-key-result", role: "status" });
  const compare = element("button", { type: "button" }, "Compare");
  compare.addEventListener("click", async () => {
    const given = input.value.trim();
    const spaced = given.toLowerCase().replace(/\s+/g, "");
    const same = given === pin.text || spaced === pin.fingerprint.replace(/ /g, "");
    result.textContent = given === "" ? "Paste a key or a fingerprint first."
      : same ? "It matches the key this browser pinned."
      : "It does NOT match the key this browser pinned: do not trust this log's checks.";
    result.className = given === "" ? "" : same ? "passed" : "failed";
  });
  details.append(element("div", { class: "compare" },
                         element("label", { for: "held-key" }, "A key or fingerprint you hold"),
                         input, compare, result));
  details.append(witnessForm());
  const reset = element("button", { type: "button", id: "forget-log" },
                        "Forget this log's key and checkpoint");
  reset.addEventListener("click", () => {
    // What is forgotten is the evidence and the anchor of every later check.
    if (confirm("Forget the key and the checkpoint this browser verified? Download them " +
                "first if the log was flagged: the next visit trusts whatever it is shown.")) {
      forget();
      location.reload();
    }
  });
  details.append(element("p", {}, reset));
  return details;
}

function witnessForm() {
  let kept = null;
  try {
    kept = load(TRUSTED);
  } catch (e) {
    kept = null;
  }
  const keys = element("textarea", { id: "trusted-witnesses", rows: "3", cols: "60",
                                     "aria-describedby": "trusted-witnesses-help trusted-result" });
  keys.value = kept ? kept.keys.join("\n") : "";
  const quorum = element("input", { id: "witness-quorum", type: "number", min: "1",
                                    size: "3" });
  quorum.value = kept ? String(kept.quorum) : "1";
  const result = element("p", { id: "trusted-result", role: "status" });
  const keep = element("button", { type: "button", id: "keep-witnesses" },
                       "Keep these witnesses");
  keep.addEventListener("click", async () => {
    const texts = keys.value.split("\n").map((line) => line.trim()).filter(Boolean);
    const needed = Number(quorum.value);
    try {
      for (const text of texts) await parseVerifierKey(text, COSIGNATURE_V1);
      if (texts.length && !(Number.isInteger(needed) && needed >= 1 && needed <= texts.length)) {
        throw new CheckFailed(`the quorum must be a number from 1 to ${texts.length}`);
      }
      if (texts.length && !save(TRUSTED, { keys: texts, quorum: needed })) {
        throw new CheckFailed("this browser does not let the page keep anything");
      }
      if (!texts.length) localStorage.removeItem(TRUSTED);
      result.className = "passed";
      result.textContent = texts.length
        ? `Kept: ${needed} of these ${texts.length} witnesses must cosign each checkpoint.`
        : "No witness is trusted any more.";
    } catch (e) {
      result.className = "failed";
      result.textContent = `Not kept: ${e.message}.`;
    }
  });
  return element("fieldset", { class: "witnesses" },
                 element("legend", {}, "Witnesses you trust"),
                 element("p", { id: "trusted-witnesses-help" },
                         "Their verifier keys (name+keyid+key, one a line), as their member " +
                         "states publish them, and how many must cosign."),
                 element("label", { for: "trusted-witnesses" }, "Witness keys"), keys,
                 element("label", { for: "witness-quorum" }, "Quorum"), quorum, keep, result);
}

export function showStatus(kind, message, { pin = null, evidence = [] } = {}) {
  const status = document.getElementById("log-status");
  if (!status) return;
  status.replaceChildren();
  status.dataset.state = kind;
  const line = element("p", kind === "alarm" ? { role: "alert" } : {}, message);
  status.append(line);
  if (evidence.length) status.append(evidenceLinks(evidence));
  if (pin) status.append(keyDetails(pin));
}

function when(iso) {
  return iso ? iso.replace("T", " ").slice(0, 16) + " UTC" : "";
}

// The check every page runs when it opens.
export async function checkLog() {
  if (!window.crypto || !crypto.subtle) {
    showStatus("unavailable", "This browser cannot check the log here: its cryptography " +
                              "(WebCrypto) works only on HTTPS or on this machine.");
    return null;
  }
  showStatus("checking", "Checking the log's signed checkpoint…");
  let pin = null;
  try {
    const found = await pinnedVerifier();
    pin = found.pin;
    const current = await signedCheckpoint(found.verifier);
    const seen = await witness(current);
    if (!found.kept || !seen.kept) {
      showStatus("failed", "This browser verified the log's signed checkpoint, but does not " +
                           "let this page remember it or the log's key: nothing is checked " +
                           "against an earlier visit.", { pin: null });
      return current;
    }
    const count = `${current.size} entr${current.size === 1 ? "y" : "ies"}`;
    const since = seen.previous ? when(seen.previous.verifiedAt) : "";
    const message = {
      first: `This browser verified the log's checkpoint of ${count} and will check, on ` +
             "each visit, that the log extends it." +
             (found.firstUse ? " It pinned the log's key: compare its fingerprint (below) " +
                               "with the one your secretariat gave you." : ""),
      same: `The log's checkpoint of ${count} is the one this browser verified ${since}.`,
      grew: `The log grew from ${seen.previous?.size} to ${count}, consistently with the ` +
            `checkpoint this browser verified ${since}.`,
      older: `The log serves a checkpoint of ${count}, which the larger one this browser ` +
             `verified ${since} (${seen.previous?.size} entries) extends.`,
    }[seen.kind];
    const cosigned = await witnessed(current);
    if (!cosigned.met) {
      showStatus("failed", `${message} But ${cosigned.words}`, { pin });
      return current;
    }
    const said = cosigned.asked || current.cosigners.length;
    showStatus("ok", said ? `${message} ${cosigned.words}` : message, { pin });
    return current;
  } catch (e) {
    // The pinned key's details (and the way to forget it) stay at hand, whatever failed.
    pin = pin || pinned();
    if (e instanceof Alarm) {
      showStatus("alarm", `Warning: ${e.message}`, { pin, evidence: e.evidence });
    } else {
      showStatus("failed", `The log could not be checked: ${e.message}`, { pin });
    }
    return null;
  }
}

export const logChecked = checkLog();
