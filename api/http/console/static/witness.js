// The browser as a witness: on every page, check the log's signed checkpoint with the key
// this browser pinned on first use, and that the log extends the last checkpoint this
// browser verified (a consistency proof); remember the new one. A failure is shown loudly,
// with both signed checkpoints to keep as evidence.

import {
  CheckFailed, fingerprint, fromBase64, openNote, parseCheckpoint, parseVerifierKey, toBase64,
  verifyConsistency,
} from "./tlog.js";

const PINNED = "concord.pinned-key";
const SEEN = "concord.checkpoint";

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

function load(name) {
  try {
    const raw = localStorage.getItem(name);
    return raw ? JSON.parse(raw) : null;
  } catch (e) {
    return null;
  }
}

function save(name, value) {
  try {
    localStorage.setItem(name, JSON.stringify(value));
  } catch (e) {
    // A browser that keeps nothing still verifies; it only cannot remember.
  }
}

export function forget() {
  localStorage.removeItem(PINNED);
  localStorage.removeItem(SEEN);
}

export function pinned() {
  return load(PINNED);
}

export function remembered() {
  return load(SEEN);
}

// The log's verifier key, pinned on first use: {verifier, pin, firstUse}. An Alarm if the
// server now presents another key than the one pinned.
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
  if (pin) return { verifier, pin, firstUse: false };
  const made = { text: served, fingerprint: await fingerprint(served),
                 pinnedAt: new Date().toISOString() };
  save(PINNED, made);
  return { verifier, pin: made, firstUse: true };
}

// The signed checkpoint the server serves (covering `minPosition` entries at least), its
// signature checked: {note, origin, size, root, cosigners}.
export async function signedCheckpoint(verifier, minPosition = 0) {
  const note = await fetchText(`/v1/log/checkpoint${minPosition ? `?min_position=${minPosition}` : ""}`);
  const { text, cosigners } = await openNote(note, verifier);
  return { note, ...parseCheckpoint(text), cosigners };
}

// Whether `current` extends the checkpoint this browser verified last; remembers `current`
// if it does. {previous, kind: "first" | "same" | "grew"}; an Alarm if it does not.
export async function witness(current) {
  const previous = load(SEEN);
  const remember = () => save(SEEN, { note: current.note, origin: current.origin,
                                      size: current.size, root: toBase64(current.root),
                                      verifiedAt: new Date().toISOString() });
  if (!previous) {
    remember();
    return { previous, kind: "first" };
  }
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
  if (current.size < previous.size) {
    throw new Alarm(`The log now serves a checkpoint of ${current.size} entries, fewer than ` +
                    `the ${previous.size} this browser verified on ${previous.verifiedAt}: ` +
                    "entries it signed for are gone.", evidence);
  }
  if (current.size === previous.size) {
    if (toBase64(current.root) !== previous.root) {
      throw new Alarm(`The log signed two different roots for ${current.size} entries: the ` +
                      `one this browser verified on ${previous.verifiedAt} and the one it ` +
                      "serves now. Its history was rewritten.", evidence);
    }
    return { previous, kind: "same" };
  }
  let path = [];
  if (previous.size > 0) {
    const proof = JSON.parse(await fetchText(
      `/v1/log/proofs/consistency?first=${previous.size}&second=${current.size}`));
    path = proof.proof.map(fromBase64);
  }
  if (!await verifyConsistency(previous.size, current.size, path, before, current.root)) {
    throw new Alarm(`The log of ${current.size} entries does not extend the one of ` +
                    `${previous.size} entries this browser verified on ` +
                    `${previous.verifiedAt}: the consistency proof fails. Its history was ` +
                    "rewritten.", evidence);
  }
  remember();
  return { previous, kind: "grew" };
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
  const reset = element("button", { type: "button", id: "forget-log" },
                        "Forget this log's key and checkpoint");
  reset.addEventListener("click", () => { forget(); location.reload(); });
  details.append(element("p", {}, reset));
  return details;
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
    const count = `${current.size} entr${current.size === 1 ? "y" : "ies"}`;
    const message = seen.kind === "first"
      ? `This browser verified the log's checkpoint of ${count} and will check, on each ` +
        "visit, that the log extends it." + (found.firstUse ? " It pinned the log's key." : "")
      : seen.kind === "same"
        ? `The log's checkpoint of ${count} is the one this browser verified ` +
          `${when(seen.previous.verifiedAt)}.`
        : `The log grew from ${seen.previous.size} to ${count}, consistently with the ` +
          `checkpoint this browser verified ${when(seen.previous.verifiedAt)}.`;
    showStatus("ok", message, { pin });
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
