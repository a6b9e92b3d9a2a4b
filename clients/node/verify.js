#!/usr/bin/env node
// Offline verification of a hashnode ProvenanceBundle with nothing but Node's own crypto.
//
// Written from the wire format in docs/protocol.md ("Verifying a provenance bundle"), independently of the Python
// node: the bytes received are decoded and checked as they are, nothing is re-encoded. No npm dependency, so a
// third party can audit and run this file alone:
//
//   node verify.js bundle.json [--key-id HEX]... [--consortium-id ID]
//
// bundle.json is the proto3 JSON of a ProvenanceBundle (bytes as base64; camelCase or snake_case field names), or
// the object @grpc/proto-loader returns with {keepCase: true, longs: String, bytes: Buffer}. Prints one JSON line
// and exits 0 when the bundle verifies, 1 when it does not, 2 on a usage error.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");

const ENTRY_TAG = Buffer.from("hashnode.entry.v1\0", "ascii");
const RECORD_TAG = Buffer.from("hashnode.record.v1\0", "ascii");
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const FORMAT_VERSION = 1;
const KIND_CONTRIBUTION = 1;
const KIND_RETRACTION = 2;
const KIND_OPINION = 3;
const KIND_APPEAL = 4;
const KIND_DECISION = 5;
const KIND_NAMES = { 1: "contribution", 2: "retraction", 3: "opinion", 4: "appeal", 5: "decision" };
const MAX_ITEMS = 10000;
const MAX_ITEM_BYTES = 4096;
const HASH_SIZE = 32;
// docs/due-process.md: the contributor decides an appeal; stewards may from `window` after it. A consortium
// parameter that bundles carry (`decision_window_ms`); absent, the protocol default of 72 hours.
const DEFAULT_DECISION_WINDOW_MS = 72n * 3600n * 1000n;
const STANCES = { 1: "agree", 2: "disagree", 3: "false_positive" };
const OUTCOMES = { 1: "upheld", 2: "overturned" };
const DECIDED_AS = { 1: "contributor", 2: "steward" };

class VerificationError extends Error {
  constructor(message) {
    super(message);
    this.name = "VerificationError";
  }
}

function fail(message) {
  throw new VerificationError(message);
}

const sha256 = (...parts) => crypto.createHash("sha256").update(Buffer.concat(parts)).digest();

// --- canonical decoding (docs/protocol.md, "Encoding primitives") --------------------------------------------

// Strict UTF-8: invalid bytes are an error, and a leading BOM is kept as a character, not stripped.
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

class Reader {
  constructor(data, what) {
    this.data = data;
    this.pos = 0;
    this.what = what;
  }

  take(size) {
    if (this.pos + size > this.data.length) {
      fail(`${this.what}: truncated at byte ${this.pos}, needed ${size} more`);
    }
    const chunk = this.data.subarray(this.pos, this.pos + size);
    this.pos += size;
    return chunk;
  }

  u8() { return this.take(1).readUInt8(0); }
  u16() { return this.take(2).readUInt16BE(0); }
  u32() { return this.take(4).readUInt32BE(0); }
  u64() { return this.take(8).readBigUInt64BE(0); }
  blob() { return this.take(this.u32()); }
  stringBytes() { return this.take(this.u16()); }

  string() {
    const at = this.pos + 2;
    try {
      return UTF8.decode(this.stringBytes());
    } catch (err) {
      if (err instanceof VerificationError) throw err;
      return fail(`${this.what}: invalid UTF-8 at byte ${at}`);
    }
  }

  // string[]: u16 count, then strings. `sorted` demands strictly ascending UTF-8 bytes (sorted and unique).
  strings(name, sorted) {
    const count = this.u16();
    const out = [];
    let previous = null;
    for (let i = 0; i < count; i++) {
      const start = this.pos;
      const text = this.string();
      const raw = this.data.subarray(start + 2, this.pos);
      if (sorted && previous !== null && Buffer.compare(previous, raw) >= 0) {
        fail(`${this.what}: ${name} not sorted and unique`);
      }
      previous = raw;
      out.push(text);
    }
    return out;
  }

  end() {
    if (this.pos !== this.data.length) {
      fail(`${this.what}: ${this.data.length - this.pos} trailing bytes`);
    }
  }
}

function decodeHeader(bytes) {
  const r = new Reader(bytes, "entry header");
  if (!r.take(ENTRY_TAG.length).equals(ENTRY_TAG)) fail("entry header: wrong domain tag (want hashnode.entry.v1)");
  const header = {
    consortium_id: r.string(),
    author: r.string(),
    key_id: r.take(32),
    seq: r.u64(),
    prev: r.take(32),
    timestamp_ms: r.u64(),
    kind: r.u16(),
    item_count: r.u32(),
    body_root: r.take(32),
  };
  r.end();
  return header;
}

function decodeRecord(bytes) {
  const r = new Reader(bytes, "record item");
  const record = {
    signal_type: r.string(),
    value: r.blob().toString("hex"),
    quality: r.u8(),
    labels: r.strings("labels", true),
    tags: r.strings("tags", true),
    reference: r.string(),
    source: r.string(),
  };
  r.end();
  return record;
}

function decodeRetraction(bytes) {
  const r = new Reader(bytes, "retraction item");
  const item = { record_id: r.take(32), reason: r.string() };
  r.end();
  return item;
}

// Due-process items (node/dueprocess/items.py, docs/due-process.md "Items"): one encoding per value, so an unknown
// enum value, an optional-field flag other than 0 or 1, or trailing bytes are errors.
function enumValue(names, value, what) {
  if (!(value in names)) fail(`${what}: got ${value}, want one of ${Object.keys(names).join(", ")}`);
  return names[value];
}

function decodeOpinion(bytes) {
  const r = new Reader(bytes, "opinion item");
  const item = {
    record_id: r.take(32),
    stance: enumValue(STANCES, r.u8(), "opinion item: stance"),
    reason_code: r.string(),
    text: r.string(),
  };
  r.end();
  return item;
}

function decodeAppeal(bytes) {
  const r = new Reader(bytes, "appeal item");
  const item = { record_id: r.take(32), case_ref: r.string(), match_distance: null };
  const flag = r.u8();
  if (flag !== 0 && flag !== 1) fail(`appeal item: match_distance flag: got ${flag}, want 0 or 1`);
  if (flag === 1) item.match_distance = r.u16();
  r.end();
  return item;
}

function decodeDecision(bytes) {
  const r = new Reader(bytes, "decision item");
  const item = {
    record_id: r.take(32),
    appeal_entry_id: r.take(32),
    outcome: enumValue(OUTCOMES, r.u8(), "decision item: outcome"),
    reason: r.string(),
    decided_as: enumValue(DECIDED_AS, r.u8(), "decision item: decided_as"),
  };
  r.end();
  return item;
}

// For each kind that concerns records: its item decoder and the one-line summary of an item (as the Python node
// words it, so that histories compare equal).
const ITEM_KINDS = {
  [KIND_RETRACTION]: {
    decode: decodeRetraction,
    summary: (item) => `retracted by its contributor: ${item.reason || "no reason given"}`,
  },
  [KIND_OPINION]: {
    decode: decodeOpinion,
    summary: (item) =>
      `opinion: ${item.stance.replace(/_/g, " ")}` +
      (item.reason_code ? ` (${item.reason_code})` : "") +
      (item.text ? `: ${item.text}` : ""),
  },
  [KIND_APPEAL]: {
    decode: decodeAppeal,
    summary: (item) =>
      `appeal received, case ${item.case_ref}` +
      (item.match_distance === null ? "" : `, match distance ${item.match_distance}`),
  },
  [KIND_DECISION]: {
    decode: decodeDecision,
    summary: (item) =>
      `appeal ${item.appeal_entry_id.toString("hex").slice(0, 16)}… ${item.outcome}` +
      ` by the ${item.decided_as}: ${item.reason || "no reason given"}`,
  },
};

// --- Merkle trees, RFC 9162 section 2.1 ------------------------------------------------------------------------

const leafHash = (data) => sha256(Buffer.from([0]), data);
const nodeHash = (left, right) => sha256(Buffer.from([1]), left, right);

function largestPowerOfTwoBelow(n) {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function merkleRoot(leaves) {
  if (leaves.length === 1) return leaves[0];
  const k = largestPowerOfTwoBelow(leaves.length);
  return nodeHash(merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k)));
}

// RFC 9162 section 2.1.3.2; index and size are u32, so `>>> 1` keeps them unsigned.
function rootFromProof(item, index, size, proof) {
  if (!(index < size)) fail(`inclusion proof: leaf index ${index} not below tree size ${size}`);
  let fn = index;
  let sn = size - 1;
  let r = leafHash(item);
  for (const p of proof) {
    if (p.length !== HASH_SIZE) fail("inclusion proof: sibling hash is not 32 bytes");
    if (sn === 0) fail("inclusion proof: longer than the tree is deep");
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn >>>= 1;
          sn >>>= 1;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>>= 1;
    sn >>>= 1;
  }
  if (sn !== 0) fail("inclusion proof: shorter than the tree is deep");
  return r;
}

// --- keys and signatures ---------------------------------------------------------------------------------------

function publicKeyObject(raw) {
  return crypto.createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });
}

// The member's key with id `keyId`, valid at `timestampMs`; from the pinned roster when the caller gives one.
function authorKey(member, header, trusted) {
  let source = member;
  if (trusted) {
    source = (trusted.members || []).find((m) => m.member_id === header.author);
    if (!source) fail(`author ${JSON.stringify(header.author)} is not in the pinned roster`);
  }
  const where = trusted ? "pinned roster" : "bundle's member entry";
  const who = JSON.stringify(header.author);
  for (const key of source.keys || []) {
    const raw = key.public_key;
    if (raw.length !== 32) fail(`member key of ${source.member_id}: got ${raw.length} bytes, want 32`);
    const id = sha256(raw);
    if (key.key_id && key.key_id !== id.toString("hex")) {
      fail(`member key ${key.key_id.slice(0, 16)}… of ${source.member_id}: key_id is not SHA-256(public_key)`);
    }
    if (!id.equals(header.key_id)) continue;
    const from = BigInt(key.valid_from_ms || 0);
    const until = BigInt(key.valid_until_ms || 0);
    if (header.timestamp_ms < from || (until !== 0n && header.timestamp_ms > until)) {
      fail(`key ${id.toString("hex").slice(0, 16)}… of ${who} was not valid when it signed`);
    }
    const cutoff = BigInt(source.revoked_after_ms || 0);
    if (cutoff !== 0n && header.timestamp_ms > cutoff) {
      fail(`author ${who} was revoked before this entry was signed`);
    }
    return raw;
  }
  return fail(`key ${header.key_id.toString("hex").slice(0, 16)}… of ${who} is not in the ${where}`);
}

function verifySignature(rawKey, headerBytes, signature) {
  if (signature.length !== 64) fail(`signature: got ${signature.length} bytes, want 64`);
  if (!crypto.verify(null, headerBytes, publicKeyObject(rawKey), signature)) {
    fail("signature does not verify under the author's key");
  }
}

function recordId(entryId, leafIndex) {
  const index = Buffer.alloc(4);
  index.writeUInt32BE(leafIndex, 0);
  return sha256(RECORD_TAG, entryId, index);
}

// --- bundle verification (docs/protocol.md, "Verifying a provenance bundle") ---------------------------------

function verifyRecord(bundle, trusted) {
  if (bundle.format_version !== FORMAT_VERSION) fail(`format_version: got ${bundle.format_version}, want 1`); // 1
  const header = decodeHeader(bundle.entry_header); // 2
  if (header.consortium_id !== bundle.consortium_id) { // 3
    fail(`entry is of consortium ${JSON.stringify(header.consortium_id)}, not ${JSON.stringify(bundle.consortium_id)}`);
  }
  if (trusted && header.consortium_id !== trusted.consortium_id) fail("entry is not of the pinned consortium");
  if (header.kind !== KIND_CONTRIBUTION) fail(`entry kind ${header.kind} is not a contribution`); // 4
  if (!bundle.author || header.author !== bundle.author.member_id) {
    fail(`entry author ${JSON.stringify(header.author)} differs from the bundle's member entry`);
  }
  const key = authorKey(bundle.author, header, trusted); // 5
  verifySignature(key, bundle.entry_header, bundle.entry_signature); // 6
  if (bundle.leaf_count !== header.item_count) { // 7
    fail(`leaf count ${bundle.leaf_count} differs from the signed ${header.item_count}`);
  }
  const root = rootFromProof(bundle.record_item, bundle.leaf_index, bundle.leaf_count, bundle.inclusion_proof); // 8
  if (!root.equals(header.body_root)) {
    fail("inclusion proof does not lead to the signed body root: record bytes changed");
  }
  const entryId = sha256(bundle.entry_header);
  if (recordId(entryId, bundle.leaf_index).toString("hex") !== bundle.record_id) { // 9
    fail("record id does not derive from the entry id and leaf index");
  }
  return { header, entryId, record: decodeRecord(bundle.record_item) }; // 10
}

// An entry's envelope, checked as in docs/protocol.md "Verifying an entry"; returns its header and id.
function verifyEntry(entry, member, consortiumId, trusted) {
  const header = decodeHeader(entry.header);
  const id = sha256(entry.header).toString("hex");
  const check = (ok, message) => ok || fail(`related entry ${id}: ${message}`);
  check(header.seq >= 1n, "seq must be >= 1");
  check((header.seq === 1n) === header.prev.equals(Buffer.alloc(32)), "prev must be all zeros exactly when seq is 1");
  const items = entry.items;
  check(header.item_count === items.length, `header counts ${header.item_count} items, got ${items.length}`);
  check(items.length >= 1 && items.length <= MAX_ITEMS, `got ${items.length} items, want 1..${MAX_ITEMS}`);
  check(items.every((item) => item.length <= MAX_ITEM_BYTES), `an item exceeds ${MAX_ITEM_BYTES} bytes`);
  check(merkleRoot(items.map(leafHash)).equals(header.body_root), "items do not match the signed body root");
  check(header.consortium_id === consortiumId, "is of another consortium");
  check(member && header.author === member.member_id, "author differs from its member entry");
  verifySignature(authorKey(member, header, trusted), entry.header, entry.signature);
  return { header, id };
}

// A related entry must verify as a whole entry and concern this record (step 11). Returns its history event and
// the decoded items about the record (for the status). An undecodable item before the first one about the record
// refuses the entry; after it, it is skipped, as the node skips items nobody can read.
function verifyRelated(related, bundle, trusted) {
  const entry = related.entry || fail("related entry: missing");
  const { header, id } = verifyEntry(entry, related.author, bundle.consortium_id, trusted);
  let summary = `entry of kind ${header.kind}`;
  const items = [];
  const kind = ITEM_KINDS[header.kind];
  if (kind) {
    for (const raw of entry.items) {
      let item;
      try {
        item = kind.decode(raw);
      } catch (err) {
        if (err instanceof VerificationError && items.length > 0) continue;
        throw err;
      }
      if (item.record_id.toString("hex") === bundle.record_id) items.push(item);
    }
    if (items.length === 0) fail(`related entry ${id} does not concern record ${bundle.record_id}`);
    summary = kind.summary(items[0]);
  }
  const event = {
    kind: KIND_NAMES[header.kind] || String(header.kind),
    author: header.author,
    timestamp_ms: header.timestamp_ms.toString(),
    entry_id: id,
    summary,
  };
  return { event, header, items };
}

// Who may decide appeals about the record: its contributor, and after the window the stewards. Without a pinned
// roster both come from the bundle's claims (its `stewards` and related authors with the steward role), as the
// Python verifier takes them; with one, from the pinned roster.
function decisionAuthority(bundle, contributor, trusted) {
  const stewardsOf = (members) => members.filter((m) => (m.roles || []).includes("steward")).map((m) => m.member_id);
  if (trusted) {
    const window = trusted.decision_window_ms == null ? DEFAULT_DECISION_WINDOW_MS : BigInt(trusted.decision_window_ms);
    return { contributor, stewards: new Set(stewardsOf(trusted.members || [])), window };
  }
  const claimed = [...stewardsOf(bundle.stewards), ...stewardsOf(bundle.related.map((r) => r.author).filter(Boolean))];
  return { contributor, stewards: new Set(claimed), window: bundle.decision_window_ms ?? DEFAULT_DECISION_WINDOW_MS };
}

const compareBigInt = (a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);
const byTimeThenId = (a, b) => compareBigInt(a.timestamp_ms, b.timestamp_ms) || (a.entry_id < b.entry_id ? -1 : a.entry_id > b.entry_id ? 1 : 0);

// Why `decision` is not a valid decision of `appeal` (node/dueprocess/deadlines.py check_decision), or null.
function decisionRefusal(appeal, decision, authority) {
  if (decision.timestamp_ms < appeal.timestamp_ms) return "decided before the appeal";
  if (decision.item.decided_as === "contributor" && decision.author !== authority.contributor) {
    return `decision by ${JSON.stringify(decision.author)} as contributor: the contributor is ${JSON.stringify(authority.contributor)}`;
  }
  if (decision.item.decided_as === "steward") {
    if (!authority.stewards.has(decision.author)) return `${JSON.stringify(decision.author)} is not a steward`;
    const deadline = appeal.timestamp_ms + authority.window;
    if (decision.timestamp_ms < deadline) return `steward decided before the contributor's window closed at ${deadline}`;
  }
  return null;
}

/**
 * The record's consortium-wide status from its verified related items (docs/due-process.md; the rule of
 * node/dueprocess/policy.py `_final`): retracted by its contributor; else overturned when some appeal's effective
 * decision (the first valid one by signed time, then entry id) overturns it; else active. Also the ruling of each
 * decision entry, by entry id.
 */
function deriveStatus(verified, contributor, authority) {
  const byKind = (kind) => verified.filter((v) => v.header.kind === kind)
    .flatMap((v) => v.items.map((item) => ({ author: v.header.author, timestamp_ms: v.header.timestamp_ms, entry_id: v.event.entry_id, item })));
  const rulings = {};
  if (byKind(KIND_RETRACTION).some((r) => r.author === contributor)) return { status: "retracted", rulings };
  const appeals = new Map(); // appeal entry id → its first item about the record
  for (const appeal of byKind(KIND_APPEAL)) if (!appeals.has(appeal.entry_id)) appeals.set(appeal.entry_id, appeal);
  const decisions = byKind(KIND_DECISION).sort(byTimeThenId);
  let status = "active";
  for (const appeal of [...appeals.values()].sort(byTimeThenId)) {
    let effective = null;
    for (const decision of decisions.filter((d) => d.item.appeal_entry_id.toString("hex") === appeal.entry_id)) {
      const refusal = decisionRefusal(appeal, decision, authority);
      if (refusal) rulings[decision.entry_id] = `refused: ${refusal}`;
      else if (effective) rulings[decision.entry_id] = `superseded: decided first by ${JSON.stringify(effective.author)}`;
      else {
        effective = decision;
        rulings[decision.entry_id] = "effective";
      }
    }
    if (effective && effective.item.outcome === "overturned") status = "overturned";
  }
  for (const decision of decisions) {
    if (!(decision.entry_id in rulings)) rulings[decision.entry_id] = "pending: its appeal is not in this bundle";
  }
  return { status, rulings };
}

/**
 * Verifies every byte of a bundle; throws VerificationError naming the first check that fails.
 *
 * Without `trusted`, keys come from the bundle itself: the result proves "signed by the key with id key_id",
 * and the caller compares key_id with one it trusts. With `trusted` ({consortium_id, members: [MemberInfo]}, keys
 * as raw Buffers), the author's key must be in that pinned roster.
 */
function verifyBundle(input, { trusted } = {}) {
  const bundle = normalizeBundle(input);
  const { header, entryId, record } = verifyRecord(bundle, trusted);
  const verified = bundle.related.map((related) => verifyRelated(related, bundle, trusted));
  const authority = decisionAuthority(bundle, header.author, trusted);
  const { status, rulings } = deriveStatus(verified, header.author, authority);
  const history = verified.map(({ event }) => (event.entry_id in rulings ? { ...event, ruling: rulings[event.entry_id] } : event));
  history.sort(byTimeThenId);
  return {
    consortium_id: header.consortium_id,
    record_id: bundle.record_id,
    record,
    author: header.author,
    key_id: header.key_id.toString("hex"),
    entry_id: entryId.toString("hex"),
    seq: header.seq.toString(),
    contributed_at_ms: header.timestamp_ms.toString(),
    leaf_index: bundle.leaf_index,
    status,
    history,
  };
}

// --- bundle input: proto3 JSON or a proto-loader object --------------------------------------------------------

const snakeCase = (name) => name.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());

function snakeKeys(value) {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) return value; // Buffers too
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [snakeCase(k), snakeKeys(v)]));
}

// Bytes arrive as Buffers (proto-loader) or base64 strings (proto3 JSON). Strict base64: a corrupted string is an
// error, not a silently shorter value.
function bytes(value, what) {
  if (value === undefined || value === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (typeof value === "string") {
    const text = value.replace(/-/g, "+").replace(/_/g, "/");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.replace(/=+$/, "").length % 4 === 1) {
      fail(`${what}: not base64`);
    }
    return Buffer.from(text, "base64");
  }
  return fail(`${what}: got ${typeof value}, want bytes`);
}

const uint = (value) => Number(value || 0);

function normalizeMember(member, what) {
  if (!member) return null;
  return {
    ...member,
    keys: (member.keys || []).map((key, i) => ({
      ...key,
      public_key: bytes(key.public_key, `${what}.keys[${i}].public_key`),
    })),
  };
}

function normalizeBundle(input) {
  const b = snakeKeys(input);
  return {
    format_version: uint(b.format_version),
    consortium_id: b.consortium_id || "",
    record_id: String(b.record_id || "").toLowerCase(),
    record_item: bytes(b.record_item, "record_item"),
    leaf_index: uint(b.leaf_index),
    leaf_count: uint(b.leaf_count),
    inclusion_proof: (b.inclusion_proof || []).map((h, i) => bytes(h, `inclusion_proof[${i}]`)),
    entry_header: bytes(b.entry_header, "entry_header"),
    entry_signature: bytes(b.entry_signature, "entry_signature"),
    author: normalizeMember(b.author, "author"),
    stewards: (b.stewards || []).map((m, i) => normalizeMember(m, `stewards[${i}]`)),
    decision_window_ms: b.decision_window_ms === undefined || b.decision_window_ms === null ? null : BigInt(b.decision_window_ms),
    related: (b.related || []).map((r, i) => ({
      ...r,
      author: normalizeMember(r.author, `related[${i}].author`),
      entry: r.entry && {
        header: bytes(r.entry.header, `related[${i}].entry.header`),
        signature: bytes(r.entry.signature, `related[${i}].entry.signature`),
        items: (r.entry.items || []).map((item, j) => bytes(item, `related[${i}].entry.items[${j}]`)),
      },
    })),
  };
}

// --- command line ------------------------------------------------------------------------------------------------

function parseArgs(argv) {
  const args = { keyIds: [], consortiumId: null, files: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--key-id") args.keyIds.push(String(argv[++i] || "").toLowerCase());
    else if (argv[i] === "--consortium-id") args.consortiumId = argv[++i];
    else args.files.push(argv[i]);
  }
  return args;
}

function main(argv) {
  const args = parseArgs(argv);
  if (args.files.length !== 1) {
    process.stderr.write("usage: node verify.js BUNDLE.json|- [--key-id HEX]... [--consortium-id ID]\n");
    return 2;
  }
  try {
    const input = JSON.parse(fs.readFileSync(args.files[0] === "-" ? 0 : args.files[0], "utf8"));
    const result = verifyBundle(input);
    // The bundle's own keys prove only "signed by this key id"; pinning says which key ids are trusted.
    if (args.keyIds.length && !args.keyIds.includes(result.key_id)) {
      fail(`signing key ${result.key_id} is not one of the pinned key ids`);
    }
    if (args.consortiumId !== null && result.consortium_id !== args.consortiumId) {
      fail(`bundle is of consortium ${JSON.stringify(result.consortium_id)}, not ${JSON.stringify(args.consortiumId)}`);
    }
    process.stdout.write(JSON.stringify({ ok: true, ...result }) + "\n");
    return 0;
  } catch (err) {
    if (!(err instanceof VerificationError) && !(err instanceof SyntaxError)) throw err;
    process.stdout.write(JSON.stringify({ ok: false, error: err.message }) + "\n");
    return 1;
  }
}

module.exports = { verifyBundle, normalizeBundle, decodeHeader, decodeRecord, rootFromProof, VerificationError };

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
