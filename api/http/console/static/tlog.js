// The verifiable log's checks, in the browser, with WebCrypto alone (SHA-256 and Ed25519):
// C2SP signed notes and checkpoints, RFC 9162 inclusion and consistency proofs, and an
// entry's leaf (RFC 8785 canonical JSON). No I/O here: the pages fetch, these functions check.

const encoder = new TextEncoder();

export class CheckFailed extends Error {}

export function fromBase64(text) {
  // Standard, padded base64 only: any other spelling of the same bytes is refused.
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) {
    throw new CheckFailed(`not standard base64: ${text.slice(0, 40)}`);
  }
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  if (toBase64(bytes) !== text) {  // padding bits that are not zero
    throw new CheckFailed(`not canonical base64: ${text.slice(0, 40)}`);
  }
  return bytes;
}

export function toBase64(bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

// RFC 9162 §2.1.1: a leaf's hash, and a node's.
export const leafHash = (leaf) => sha256(concat(new Uint8Array([0]), leaf));
export const nodeHash = (left, right) => sha256(concat(new Uint8Array([1]), left, right));

// An entry's leaf: the RFC 8785 canonical JSON of its envelope without leaf_index. Entries
// hold no floats; keys sort by UTF-16 code units, strings are written as JSON.stringify
// writes them, which is what RFC 8785 specifies.
export function canonicalJson(value) {
  if (value === null || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new CheckFailed(`the number ${value} is not an integer this browser holds exactly`);
    }
    return String(value);
  }
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
}

export function leafOf(envelope) {
  const { leaf_index: _, ...rest } = envelope;
  return encoder.encode(canonicalJson(rest));
}

// C2SP signed-note verifier keys: name+keyid+base64(type || Ed25519 public key), the type
// 0x01 for a note signer (the log), 0x04 for a witness's cosignature/v1.
export const NOTE_SIGNER = 1;
export const COSIGNATURE_V1 = 4;

export async function parseVerifierKey(text, type = NOTE_SIGNER) {
  // The name and key ID end at the first two plus signs; base64 may hold more.
  const match = /^([^+\s]+)\+([0-9a-f]{8})\+(\S+)$/.exec(text.trim());
  if (!match) throw new CheckFailed("the verifier key is not name+keyid+base64");
  const [, name, keyIdHex, encoded] = match;
  const raw = fromBase64(encoded);
  if (raw.length !== 33 || raw[0] !== type) {
    throw new CheckFailed(`the verifier key ${name} is not an Ed25519 key of type 0x0${type}` +
                          (type === COSIGNATURE_V1 ? " (a witness's cosignature/v1 key)" : ""));
  }
  const computed = (await sha256(concat(encoder.encode(`${name}\n`), raw))).slice(0, 4);
  // (the type byte is part of what the key ID hashes: raw starts with it)
  if (toHex(computed) !== keyIdHex) {
    throw new CheckFailed(`the key ID ${keyIdHex} is not the one its name and key give`);
  }
  const key = await crypto.subtle.importKey("raw", raw.slice(1), { name: "Ed25519" }, false,
                                            ["verify"]);
  return { name, keyId: computed, key, text: text.trim() };
}

// A signed note: its text, then a blank line, then lines "— name base64(keyid || sig)".
export function splitNote(note) {
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) {
    throw new CheckFailed("the note has no signature block");
  }
  const text = note.slice(0, split + 1);
  const signatures = note.slice(split + 2, -1).split("\n").map((line) => {
    const match = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!match) throw new CheckFailed(`a signature line is malformed: ${line.slice(0, 60)}`);
    return { name: match[1], payload: fromBase64(match[2]) };
  });
  return { text, signatures };
}

// The note's text if `verifier` signed it, else CheckFailed saying why.
export async function openNote(note, verifier) {
  const { text, signatures } = splitNote(note);
  const mine = signatures.filter((s) => s.name === verifier.name && s.payload.length === 68
                                        && equalBytes(s.payload.slice(0, 4), verifier.keyId));
  if (mine.length === 0) {
    throw new CheckFailed(`no signature of the key ${verifier.name} is on the checkpoint`);
  }
  for (const s of mine) {
    if (await crypto.subtle.verify({ name: "Ed25519" }, verifier.key, s.payload.slice(4),
                                   encoder.encode(text))) {
      return { text, cosigners: signatures.filter((x) => x.name !== verifier.name)
                                          .map((x) => x.name) };
    }
  }
  throw new CheckFailed(`the signature of ${verifier.name} on the checkpoint is not valid`);
}

// The witnesses among `witnesses` (keys of type 0x04) whose cosignature/v1 of the note is
// valid: [{name, timestamp}] (C2SP tlog-cosignature: the signed message is the header
// line, the time line, and the note's text).
export async function validCosignatures(note, witnesses) {
  const { text, signatures } = splitNote(note);
  const found = [];
  for (const witness of witnesses) {
    for (const s of signatures) {
      if (s.name !== witness.name || s.payload.length !== 76
          || !equalBytes(s.payload.slice(0, 4), witness.keyId)) continue;
      const timestamp = Number(new DataView(s.payload.buffer, s.payload.byteOffset + 4, 8)
        .getBigUint64(0));
      const message = encoder.encode(`cosignature/v1\ntime ${timestamp}\n${text}`);
      if (await crypto.subtle.verify({ name: "Ed25519" }, witness.key, s.payload.slice(12),
                                     message)) {
        found.push({ name: witness.name, timestamp });
        break;
      }
    }
  }
  return found;
}

// A C2SP tlog-checkpoint body: origin, tree size, base64 root, any extension lines.
export function parseCheckpoint(text) {
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) {
    throw new CheckFailed("the checkpoint's body is not origin, size and root");
  }
  if (!lines[0]) throw new CheckFailed("the checkpoint names no origin");
  const size = Number(lines[1]);
  if (!Number.isSafeInteger(size)) throw new CheckFailed("the tree size is too large here");
  const root = fromBase64(lines[2]);
  if (root.length !== 32) throw new CheckFailed("the root hash is not 32 bytes");
  return { origin: lines[0], size, root };
}

const odd = (n) => n % 2 === 1;

function isPowerOfTwo(n) {
  while (n > 1 && n % 2 === 0) n /= 2;
  return n === 1;
}
const half = (n) => Math.floor(n / 2);

// RFC 9162 §2.1.3.2: the root the audit path of leaf `index` in a tree of `size` leaves
// gives, from the leaf's hash.
const isHash = (h) => h instanceof Uint8Array && h.length === 32;

export async function rootFromInclusion(index, size, hash, path) {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0
      || !(index < size)) {
    throw new CheckFailed(`leaf ${index} is not in a tree of ${size}`);
  }
  if (!isHash(hash) || !path.every(isHash)) throw new CheckFailed("a hash is not 32 bytes");
  let fn = index, sn = size - 1, r = hash;
  for (const p of path) {
    if (sn === 0) throw new CheckFailed("the audit path is longer than the tree is high");
    if (odd(fn) || fn === sn) {
      r = await nodeHash(p, r);
      if (!odd(fn)) { while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); } }
    } else {
      r = await nodeHash(r, p);
    }
    fn = half(fn); sn = half(sn);
  }
  if (sn !== 0) throw new CheckFailed("the audit path is shorter than the tree is high");
  return r;
}

export async function verifyInclusion(index, size, hash, path, root) {
  return isHash(root) && equalBytes(await rootFromInclusion(index, size, hash, path), root);
}

// RFC 9162 §2.1.4.2: whether `path` proves that the tree of size2 leaves (root2) extends
// the tree of size1 leaves (root1).
export async function verifyConsistency(size1, size2, path, root1, root2) {
  if (!isHash(root1) || !isHash(root2) || !path.every(isHash) || size1 > size2
      || !Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0) {
    return false;
  }
  if (size1 === size2) return path.length === 0 && equalBytes(root1, root2);
  if (size1 === 0) return path.length === 0;
  if (path.length === 0) return false;
  // When the first tree is a complete subtree of the second, its root starts the path.
  const full = isPowerOfTwo(size1) ? [root1, ...path] : path;
  let fn = size1 - 1, sn = size2 - 1;
  while (odd(fn)) { fn = half(fn); sn = half(sn); }
  let fr = full[0], sr = full[0];
  for (const c of full.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if (!odd(fn)) { while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); } }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = half(fn); sn = half(sn);
  }
  return sn === 0 && equalBytes(fr, root1) && equalBytes(sr, root2);
}

// A verifier key's fingerprint: SHA-256 of its text, in groups of four hex digits.
export async function fingerprint(keyText) {
  return toHex(await sha256(encoder.encode(keyText.trim()))).match(/.{4}/g).join(" ");
}

// C2SP tlog-tiles: the tree's hashes read from its tiles, for the proofs to be computed in
// the browser. Tiles are an untrusted source: every proof made of them is checked against
// the signed roots, and a wrong hash only makes that check fail.

const TILE_WIDTH = 256;
const TILE_HEIGHT = 8;

// `tile/<L>/<N>[.p/<W>]`, N in 3-digit groups, all but the last prefixed with x.
export function tilePath(level, index, width = TILE_WIDTH) {
  const groups = [String(index % 1000).padStart(3, "0")];
  for (let rest = Math.floor(index / 1000); rest > 0; rest = Math.floor(rest / 1000)) {
    groups.unshift(`x${String(rest % 1000).padStart(3, "0")}`);
  }
  return `tile/${level}/${groups.join("/")}${width < TILE_WIDTH ? `.p/${width}` : ""}`;
}

function largestPowerOfTwoBelow(n) {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export class TileHashes {
  // The hashes of the tree of `size` leaves, read with `readTile(path)` (its bytes).
  constructor(size, readTile) {
    this.size = size;
    this.readTile = readTile;
    this.tiles = new Map();
    this.hashes = new Map(); // full subtrees' hashes, once each
  }

  async tile(level, index) {
    // Hashes of tree level TILE_HEIGHT * level the tree has: those of full subtrees.
    const count = Math.floor(this.size / TILE_WIDTH ** level);
    const width = Math.min(TILE_WIDTH, count - index * TILE_WIDTH);
    if (width < 1) throw new CheckFailed(`the tree of ${this.size} has no tile ${level}/${index}`);
    const path = tilePath(level, index, width);
    if (!this.tiles.has(path)) {
      this.tiles.set(path, this.readTile(path).then((bytes) => {
        if (bytes.length !== width * 32) {
          throw new CheckFailed(`${path} has ${bytes.length} bytes, not ${width * 32}`);
        }
        return bytes;
      }));
    }
    return this.tiles.get(path);
  }

  // The hash of the full subtree of 2**level leaves that starts at leaf index * 2**level.
  stored(level, index) {
    const key = `${level}/${index}`;
    if (!this.hashes.has(key)) this.hashes.set(key, this.subtree(level, index));
    return this.hashes.get(key);
  }

  async subtree(level, index) {
    const tileLevel = Math.floor(level / TILE_HEIGHT);
    const span = 2 ** (level % TILE_HEIGHT);
    const first = index * span;
    const bytes = await this.tile(tileLevel, Math.floor(first / TILE_WIDTH));
    const at = first % TILE_WIDTH;
    let hashes = [];
    for (let i = at; i < at + span; i++) hashes.push(bytes.slice(i * 32, (i + 1) * 32));
    while (hashes.length > 1) {
      const up = [];
      for (let i = 0; i < hashes.length; i += 2) up.push(await nodeHash(hashes[i], hashes[i + 1]));
      hashes = up;
    }
    return hashes[0];
  }

  // MTH(D[lo:hi]) of RFC 9162, for the ranges its recursions ask for.
  async range(lo, hi) {
    const n = hi - lo;
    if (isPowerOfTwo(n) && lo % n === 0) {
      return this.stored(Math.log2(n), lo / n);
    }
    const k = largestPowerOfTwoBelow(n);
    return nodeHash(await this.range(lo, lo + k), await this.range(lo + k, hi));
  }

  // RFC 9162 §2.1.3.1: the audit path of leaf m in the tree.
  async inclusion(m, lo = 0, hi = this.size) {
    const n = hi - lo;
    if (n <= 1) return [];
    const k = largestPowerOfTwoBelow(n);
    return m < k
      ? [...await this.inclusion(m, lo, lo + k), await this.range(lo + k, hi)]
      : [...await this.inclusion(m - k, lo + k, hi), await this.range(lo, lo + k)];
  }

  // RFC 9162 §2.1.4.1: the proof that the tree extends its first m leaves.
  async consistency(m, lo = 0, hi = this.size, complete = true) {
    const n = hi - lo;
    if (m === n) return complete ? [] : [await this.range(lo, hi)];
    const k = largestPowerOfTwoBelow(n);
    return m <= k
      ? [...await this.consistency(m, lo, lo + k, complete), await this.range(lo + k, hi)]
      : [...await this.consistency(m - k, lo + k, hi, false), await this.range(lo, lo + k)];
  }
}
