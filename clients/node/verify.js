#!/usr/bin/env node
// Offline verification of a hashnode provenance bundle with nothing but Node's own crypto.
//
// Written from docs/protocol.md section 9 ("Verifying a provenance bundle"), independently of the Python node: the
// bundle file is read by a strict JSON reader of its own, the bytes received are decoded and checked as they are,
// nothing is re-encoded, and every refusal names the rule of section 9.8 it applies. No npm dependency, so a third
// party can audit and run this file alone:
//
//   node verify.js BUNDLE.json [--consortium FILE.json | --roster FILE.json... [--roster-id HEX]]
//                  [--time-ms MS] [--key-id HEX]... [--consortium-id ID]
//
// Prints one JSON line: {"ok": true, ...} and exit 0 when the bundle verifies; {"ok": false, "rule": ..., "error":
// ...} and exit 1 when it does not (a refused anchor file too); exit 2 on a usage error (options, a file that
// cannot be read, a malformed --roster-id, a TOML consortium file).
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");

const ENTRY_TAG = Buffer.from("hashnode.entry.v1\0", "ascii");
const RECORD_TAG = Buffer.from("hashnode.record.v1\0", "ascii");
const ASSEMBLY_TAG = Buffer.from("hashnode.assembly.v1\0", "ascii");
const ROSTER_TAGS = { v1: Buffer.from("hashnode.roster.v1\0", "ascii"), v2: Buffer.from("hashnode.roster.v2\0", "ascii") };
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
const MAX_CONTRIBUTION_ITEM_BYTES = 262144; // a contribution item: a vpdq record holds a video's frame features
const MAX_ENTRY_BYTES = 8388608; // the items of one entry in all
const maxItemBytes = (kind) => (kind === KIND_CONTRIBUTION ? MAX_CONTRIBUTION_ITEM_BYTES : MAX_ITEM_BYTES);
const HASH_SIZE = 32;
const HOUR_MS = 3600000n;
const DEFAULT_DECISION_WINDOW_MS = 72n * HOUR_MS;
// The consortium's due-process policy when a roster states none (docs/due-process.md, "Consortium policy").
const DEFAULT_POLICY = {
  decision_window_ms: DEFAULT_DECISION_WINDOW_MS, steward_quorum: 1, dispute_quorum: 0, trusted_flagger_disputes: false, quarantine: "mark",
};
const MAX_DEPTH = 32;
const MAX_U64 = (1n << 64n) - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const STANCES = { 1: "agree", 2: "disagree", 3: "false_positive" };
const OUTCOMES = { 1: "upheld", 2: "overturned" };
const DECIDED_AS = { 1: "contributor", 2: "steward", 3: "stewards" };
// docs/due-process.md, "Stewards' rulings": the bytes the stewards sign, k of n, and the most signatures an item carries.
const RULING_TAG = Buffer.from("hashnode.steward-ruling.v1\0", "latin1");
const MAX_RULING_SIGNATURES = 64;
// A case opened by disputes (docs/due-process.md, "Disputes and quarantine") is named like an appeal.
const DISPUTE_CASE = "(dispute)";
const ROLES = ["contributor", "trusted_flagger", "observer", "steward", "referrer"];
const STATUSES = ["active", "suspended", "revoked"];
const RECORD_STATUSES = ["RECORD_STATUS_UNSPECIFIED", "RECORD_STATUS_ACTIVE", "RECORD_STATUS_RETRACTED",
  "RECORD_STATUS_OVERTURNED", "RECORD_STATUS_SUSPENDED", "RECORD_STATUS_DISPUTED"];
// docs/protocol.md "Signal types": the one table of record encodings this verifier knows (section 9.3 step 9).
const SIGNAL_TYPES = { pdq: 32, md5: 16, sha256: 32, video_md5: 16, vpdq: 0 }; // vpdq: frame features (below)
const VPDQ_MAX_FRAMES = 6000;
const VPDQ_QUALITY_FLOOR = 50;
const MEMBER_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
// docs/membership.md "Roster bytes": a DNS name or IPv4 address, or an IPv6 address in brackets; a port of 1-5 digits.
const ENDPOINT = /^(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):([0-9]{1,5})$/;
// Who may author what (docs/protocol.md, receipt rule R5): kind → roles, any one of which suffices; other kinds
// (reserved) as a contribution.
// A referrer holds records of its own (contributes, retracts, opines, decides about them) but runs no matching,
// so it receives no appeals and files none.
const MATCHING = ["contributor", "trusted_flagger"];
const HOLDING = [...MATCHING, "referrer"];
const AUTHOR_ROLES = { 1: HOLDING, 2: HOLDING, 3: HOLDING, 4: MATCHING, 5: [...HOLDING, "steward"] };

class VerificationError extends Error {
  constructor(rule, message) {
    super(message);
    this.name = "VerificationError";
    this.rule = rule;
  }
}

// Not a verdict on the inputs but on how the verifier was called (exit 2).
class UsageError extends Error {
  constructor(message) {
    super(message);
    this.name = "UsageError";
  }
}

function fail(rule, message) {
  throw new VerificationError(rule, message);
}

const sha256 = (...parts) => crypto.createHash("sha256").update(Buffer.concat(parts)).digest();
const hex = (buffer) => buffer.toString("hex");

// --- strict JSON (docs/protocol.md 9.1, rule file.json) -------------------------------------------------------

// Numbers are kept as their source text ({number: "12"}), so that integers of any size stay exact and a fraction
// or an exponent stays visible; strings are checked for lone surrogates; member names must be unique.
function parseJson(text, family, jsonRule = `${family}.json`) {
  let pos = 0;
  const bad = (why) => fail(jsonRule, `not JSON: ${why} at character ${pos}`);
  const ws = () => { while (pos < text.length && " \t\n\r".includes(text[pos])) pos++; };
  function value(depth) {
    ws();
    const c = text[pos];
    // Objects and arrays count (the top-level object is depth 1); what they hold at the innermost level does not.
    if (depth > MAX_DEPTH && (c === "{" || c === "[")) fail(jsonRule, `nested deeper than ${MAX_DEPTH} levels`);
    if (c === "{") return object(depth);
    if (c === "[") return array(depth);
    if (c === '"') return string();
    if (c === "t" && text.startsWith("true", pos)) { pos += 4; return true; }
    if (c === "f" && text.startsWith("false", pos)) { pos += 5; return false; }
    if (c === "n" && text.startsWith("null", pos)) { pos += 4; return null; }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/.exec(text.slice(pos, pos + 400));
    if (!m || m[0].length === 0) bad("unexpected character");
    pos += m[0].length;
    // A negative zero in any spelling (-0, -0.0, -0e5): readers disagree on whether it is 0.
    if (/^-0(\.0+)?([eE][-+]?[0-9]+)?$/.test(m[0])) fail(jsonRule, `${m[0]} (a negative zero) is not a number a document may hold`);
    return { number: m[0] };
  }
  function object(depth) {
    pos++;
    const out = Object.create(null);
    ws();
    if (text[pos] === "}") { pos++; return out; }
    for (;;) {
      ws();
      if (text[pos] !== '"') bad("expected a member name");
      const name = string();
      if (Object.prototype.hasOwnProperty.call(out, name)) fail(jsonRule, `member name ${JSON.stringify(name)} appears twice in one object`);
      ws();
      if (text[pos] !== ":") bad("expected ':'");
      pos++;
      out[name] = value(depth + 1);
      ws();
      if (text[pos] === ",") { pos++; continue; }
      if (text[pos] === "}") { pos++; return out; }
      bad("expected ',' or '}'");
    }
  }
  function array(depth) {
    pos++;
    const out = [];
    ws();
    if (text[pos] === "]") { pos++; return out; }
    for (;;) {
      out.push(value(depth + 1));
      ws();
      if (text[pos] === ",") { pos++; continue; }
      if (text[pos] === "]") { pos++; return out; }
      bad("expected ',' or ']'");
    }
  }
  function string() {
    pos++;
    let out = "";
    for (;;) {
      if (pos >= text.length) bad("unterminated string");
      const c = text[pos];
      if (c === '"') { pos++; break; }
      if (c < " ") bad("control character in a string");
      if (c === "\\") {
        const e = text[pos + 1];
        const simple = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
        if (e in simple) { out += simple[e]; pos += 2; continue; }
        if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6))) {
          out += String.fromCharCode(parseInt(text.slice(pos + 2, pos + 6), 16));
          pos += 6;
          continue;
        }
        bad("invalid escape");
      }
      out += c;
      pos++;
    }
    if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(out)) {
      fail(jsonRule, "a string holds a lone surrogate (\\ud800-\\udfff escape)");
    }
    return out;
  }
  // A nesting check before parsing too, as the reference reader does: deep input never reaches the recursion.
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "[" || c === "{") deepest = Math.max(deepest, ++depth);
    else if (c === "]" || c === "}") depth--;
  }
  if (deepest > MAX_DEPTH) fail(jsonRule, `nested deeper than ${MAX_DEPTH} levels`);
  const result = value(1);
  ws();
  if (pos !== text.length) bad("text after the value");
  // Parsed objects have no prototype; numbers ({number}) and arrays do.
  if (result === null || typeof result !== "object" || Array.isArray(result) || Object.getPrototypeOf(result) !== null) {
    fail(jsonRule, "want a JSON object at the top level");
  }
  return result;
}

// Bytes → text: UTF-8, strictly, without a byte order mark (rule file.utf8).
function decodeDocument(bytes, family) {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    fail(`${family}.utf8`, "starts with a byte order mark");
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (err) {
    return fail(`${family}.utf8`, "not UTF-8");
  }
}

const isNumber = (v) => v !== null && typeof v === "object" && Object.getPrototypeOf(v) !== null && typeof v.number === "string";
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v) && Object.getPrototypeOf(v) === null;
function typeName(v) {
  if (v === null) return "null";
  if (typeof v === "boolean") return "a boolean";
  if (typeof v === "string") return "a string";
  if (Array.isArray(v)) return "an array";
  if (isNumber(v)) return "a number";
  return "an object";
}
const shown = (v) => (isNumber(v) ? v.number : JSON.stringify(v));

// A typed reader of one JSON object (rules file.field_*): `done()` refuses the members nobody asked for.
class Obj {
  constructor(value, path, family) {
    this.family = family;
    if (!isObject(value)) this.fail("field_invalid", path || "(top level)", `got ${typeName(value)}, want an object`);
    this.value = value;
    this.path = path;
    this.read = new Set();
  }

  fail(kind, path, message) {
    fail(`${this.family}.${kind}`, `${path}: ${message}`);
  }

  at(name) { return this.path ? `${this.path}.${name}` : name; }

  get(name, required) {
    this.read.add(name);
    if (!(name in this.value)) {
      if (required) this.fail("field_missing", this.at(name), "missing");
      return undefined;
    }
    const v = this.value[name];
    if (v === null) this.fail("field_invalid", this.at(name), "got null, want a value (omit the field instead)");
    return v;
  }

  has(name) { return name in this.value; }

  string(name, required = false, fallback = "") {
    const v = this.get(name, required);
    if (v === undefined) return fallback;
    if (typeof v !== "string") this.fail("field_invalid", this.at(name), `got ${typeName(v)}, want a string`);
    return v;
  }

  u32(name, required = false) {
    const v = this.get(name, required);
    if (v === undefined) return 0;
    if (!isNumber(v) || !/^-?(0|[1-9][0-9]*)$/.test(v.number) || BigInt(v.number) < 0n || BigInt(v.number) > 4294967295n) {
      this.fail("field_invalid", this.at(name), `got ${shown(v)}, want an integer 0..4294967295`);
    }
    return Number(v.number);
  }

  u64Text(name, required = false) {
    const v = this.get(name, required);
    if (v === undefined) return null;
    if (typeof v !== "string" || !/^(0|[1-9][0-9]{0,19})$/.test(v) || BigInt(v) > MAX_U64) {
      this.fail("field_invalid", this.at(name), `got ${shown(v)}, want a decimal string 0..${MAX_U64}`);
    }
    return BigInt(v);
  }

  integer(name, low, high) {
    const v = this.get(name, false);
    if (v === undefined) return null;
    if (!isNumber(v) || !/^-?(0|[1-9][0-9]*)$/.test(v.number) || BigInt(v.number) < low || BigInt(v.number) > high) {
      this.fail("field_invalid", this.at(name), `got ${shown(v)}, want an integer ${low}..${high}`);
    }
    return BigInt(v.number);
  }

  numberValue(name, low, high) {
    const v = this.get(name, false);
    if (v === undefined) return null;
    const n = isNumber(v) ? Number(v.number) : NaN;
    if (!(n >= low && n <= high)) this.fail("field_invalid", this.at(name), `got ${shown(v)}, want a number ${low}..${high}`);
    return n;
  }

  boolean(name) {
    const v = this.get(name, false);
    if (v === undefined) return false;
    if (typeof v !== "boolean") this.fail("field_invalid", this.at(name), `got ${shown(v)}, want true or false`);
    return v;
  }

  base64(name, required = false) {
    const v = this.get(name, required);
    return v === undefined ? Buffer.alloc(0) : decodeBase64(v, this.at(name), this.family);
  }

  hexId(name, required = false) {
    const v = this.string(name, required);
    if ((v || required) && !/^[0-9a-f]{64}$/.test(v)) this.fail("field_invalid", this.at(name), `got ${shown(v)}, want 64 lowercase hex digits`);
    return v;
  }

  array(name, required = false) {
    const v = this.get(name, required);
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail("field_invalid", this.at(name), `got ${typeName(v)}, want an array`);
    return v.map((item, i) => [`${this.at(name)}[${i}]`, item]);
  }

  obj(name, required = false) {
    const v = this.get(name, required);
    return v === undefined ? null : new Obj(v, this.at(name), this.family);
  }

  strings(name) {
    return this.array(name).map(([path, item]) => {
      if (typeof item !== "string") this.fail("field_invalid", path, `got ${typeName(item)}, want a string`);
      return item;
    });
  }

  done() {
    const unknown = Object.keys(this.value).filter((k) => !this.read.has(k)).sort();
    if (unknown.length) this.fail("field_unknown", this.at(unknown[0]), "unknown field");
  }
}

// Standard base64 with padding, canonical: re-encoding gives the same text.
function decodeBase64(value, path, family) {
  if (typeof value !== "string" || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(value)) {
    fail(`${family}.field_invalid`, `${path}: got ${shown(value)}, want standard base64 with padding`);
  }
  const data = Buffer.from(value, "base64");
  if (data.toString("base64") !== value) fail(`${family}.field_invalid`, `${path}: not canonical base64`);
  return data;
}

// --- the bundle file (docs/protocol.md 9.1) --------------------------------------------------------------------

function readMember(o) {
  const member = {
    member_id: o.string("member_id", true),
    organisation: o.string("organisation"),
    keys: readMemberKeys(o),
    roles: o.strings("roles"),
    contact: o.string("contact"),
    status: o.string("status", false, "active"),
    status_roster_version: o.u64Text("status_roster_version") || 0n,
    revoked_after_ms: o.u64Text("revoked_after_ms") || 0n,
  };
  const badRole = member.roles.find((r) => !ROLES.includes(r));
  if (badRole !== undefined) o.fail("field_invalid", o.at("roles"), `got ${JSON.stringify(badRole)}, want any of ${ROLES.join(", ")}`);
  if (!STATUSES.includes(member.status)) o.fail("field_invalid", o.at("status"), `got ${JSON.stringify(member.status)}, want one of ${STATUSES.join(", ")}`);
  // As in consortium files and rosters: a cutoff exactly when revoked.
  if ((member.status === "revoked") !== (member.revoked_after_ms > 0n)) {
    o.fail("field_invalid", o.at("revoked_after_ms"), `got ${member.revoked_after_ms} with status ${member.status}, want > 0 exactly when the status is revoked`);
  }
  o.done();
  return member;
}

// Each public key once: a key listed with two validity windows would leave "the key's window" to the reader.
function readMemberKeys(o) {
  const keys = [];
  for (const [path, value] of o.array("keys")) {
    const key = readMemberKey(new Obj(value, path, "file"));
    if (keys.some((k) => k.public_key.equals(key.public_key))) o.fail("field_invalid", `${path}.public_key`, "got a key this member entry already lists, want each key once");
    keys.push(key);
  }
  return keys;
}

function readMemberKey(o) {
  const raw = o.base64("public_key", true);
  if (raw.length !== 32) o.fail("field_invalid", o.at("public_key"), `got ${raw.length} bytes, want 32`);
  o.hexId("key_id"); // a convenience: the key id that counts is SHA-256(public_key)
  const key = { public_key: raw, valid_from_ms: o.u64Text("valid_from_ms") || 0n, valid_until_ms: o.u64Text("valid_until_ms") || 0n };
  if (key.valid_until_ms !== 0n && key.valid_until_ms < key.valid_from_ms) {
    o.fail("field_invalid", o.at("valid_until_ms"), `got ${key.valid_until_ms}, want 0 or >= valid_from_ms ${key.valid_from_ms}`);
  }
  o.done();
  return key;
}

function readRecordView(o) {
  o.hexId("record_id");
  const record = o.obj("record");
  if (record) {
    for (const name of ["signal_type", "value", "reference", "source"]) record.string(name);
    record.u32("quality");
    record.strings("labels");
    record.strings("tags");
    const video = record.obj("video");
    if (video) {
      video.u32("interval_ms");
      for (const [path, value] of video.array("frames")) {
        const frame = new Obj(value, path, "file");
        frame.base64("pdq");
        frame.u32("quality");
        frame.u32("frame_number");
        frame.u64Text("timestamp_ms");
        frame.done();
      }
      video.done();
    }
    record.done();
  }
  o.string("author");
  o.hexId("entry_id");
  o.u64Text("seq");
  o.u32("index");
  o.u64Text("contributed_at_ms");
  const status = o.string("status", false, "RECORD_STATUS_UNSPECIFIED");
  if (!RECORD_STATUSES.includes(status)) o.fail("field_invalid", o.at("status"), `got ${JSON.stringify(status)}`);
  o.done();
}

function readBundleDocument(document) {
  const top = new Obj(document, "", "file");
  const version = top.u32("format_version", true);
  if (version !== FORMAT_VERSION) fail("file.format_version", `format_version: got ${version}, want ${FORMAT_VERSION}`);
  const optionalMember = (name) => { const o = top.obj(name); return o ? readMember(o) : null; };
  const bundle = {
    consortium_id: top.string("consortium_id", true),
    record_id: top.hexId("record_id", true),
    record_item: top.base64("record_item", true),
    leaf_index: top.u32("leaf_index"),
    leaf_count: top.u32("leaf_count", true),
    inclusion_proof: top.array("inclusion_proof").map(([path, v]) => decodeBase64(v, path, "file")),
    entry_header: top.base64("entry_header", true),
    entry_signature: top.base64("entry_signature", true),
    author: optionalMember("author"),
    related: top.array("related").map(([path, value]) => {
      const o = new Obj(value, path, "file");
      const e = o.obj("entry", true);
      const related = {
        header: e.base64("header", true),
        signature: e.base64("signature", true),
        items: e.array("items", true).map(([p, v]) => decodeBase64(v, p, "file")),
        author: (() => { const a = o.obj("author"); return a ? readMember(a) : null; })(),
      };
      o.string("kind"); // conveniences: never trusted, never compared
      o.string("summary");
      e.done();
      o.done();
      return related;
    }),
  };
  top.u64Text("generated_at_ms");
  top.string("generated_by");
  // Conveniences like the other member entries; an unanchored verifier takes the stewards' keys from them to check
  // stewards' rulings (claims, as every key of an unanchored bundle).
  bundle.stewards = top.array("stewards").map(([path, value]) => readMember(new Obj(value, path, "file")));
  top.u64Text("decision_window_ms");
  bundle.assembly = top.base64("assembly", true);
  bundle.assembly_signature = top.base64("assembly_signature", true);
  bundle.assembler = optionalMember("assembler");
  const view = top.obj("record");
  if (view) readRecordView(view);
  top.done();
  return bundle;
}

function readBundleFile(bytes) {
  return readBundleDocument(parseJson(decodeDocument(bytes, "file"), "file"));
}

// --- canonical decoding (docs/protocol.md, "Encoding primitives") ---------------------------------------------

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

class Reader {
  constructor(data, what, rule) {
    this.data = data;
    this.pos = 0;
    this.what = what;
    this.rule = rule;
  }

  fail(message) { fail(this.rule, `${this.what}: ${message}`); }

  take(size) {
    if (this.pos + size > this.data.length) this.fail(`truncated at byte ${this.pos}, needed ${size} more`);
    const chunk = this.data.subarray(this.pos, this.pos + size);
    this.pos += size;
    return chunk;
  }

  u8() { return this.take(1).readUInt8(0); }
  u16() { return this.take(2).readUInt16BE(0); }
  u32() { return this.take(4).readUInt32BE(0); }
  u64() { return this.take(8).readBigUInt64BE(0); }
  blob() { return this.take(this.u32()); }

  string() {
    const raw = this.take(this.u16());
    try {
      return UTF8.decode(raw);
    } catch (err) {
      return this.fail(`invalid UTF-8 at byte ${this.pos - raw.length}`);
    }
  }

  // string[]: each element's raw bytes too, for order checks.
  stringsRaw() {
    const out = [];
    for (let n = this.u16(); n > 0; n--) {
      const start = this.pos + 2;
      const text = this.string();
      out.push({ text, raw: this.data.subarray(start, this.pos) });
    }
    return out;
  }

  end() {
    if (this.pos !== this.data.length) this.fail(`${this.data.length - this.pos} trailing bytes`);
  }
}

const ascending = (raws) => raws.every((r, i) => i === 0 || Buffer.compare(raws[i - 1], r) < 0);

function decodeHeader(bytes, rule) {
  const r = new Reader(bytes, "entry header", rule);
  if (!r.take(ENTRY_TAG.length).equals(ENTRY_TAG)) r.fail("wrong domain tag (want hashnode.entry.v1)");
  const header = {
    consortium_id: r.string(),
    author: r.string(),
    key_id: Buffer.from(r.take(32)),
    seq: r.u64(),
    prev: Buffer.from(r.take(32)),
    timestamp_ms: r.u64(),
    kind: r.u16(),
    item_count: r.u32(),
    body_root: Buffer.from(r.take(32)),
  };
  r.end();
  return header;
}

// A contribution item (section 9.3 step 9): canonical, of a known signal type, with a value of its size.
function decodeRecord(bytes) {
  const r = new Reader(bytes, "record item", "record.item");
  const record = { signal_type: r.string(), value: Buffer.from(r.blob()), quality: r.u8() };
  const labels = r.stringsRaw();
  const tags = r.stringsRaw();
  record.reference = r.string();
  record.source = r.string();
  r.end();
  if (!ascending(labels.map((l) => l.raw))) r.fail("labels not sorted and unique");
  if (!ascending(tags.map((t) => t.raw))) r.fail("tags not sorted and unique");
  const size = SIGNAL_TYPES[record.signal_type];
  if (!Object.prototype.hasOwnProperty.call(SIGNAL_TYPES, record.signal_type)) {
    r.fail(`signal_type: got ${JSON.stringify(record.signal_type)}, want one of ${Object.keys(SIGNAL_TYPES).sort().join(", ")}`);
  }
  let video = null;
  if (record.signal_type === "vpdq") {
    if (bytes.length > MAX_CONTRIBUTION_ITEM_BYTES) r.fail(`got ${bytes.length} bytes, want at most ${MAX_CONTRIBUTION_ITEM_BYTES}`);
    video = decodeVpdqFeatures(record.value);
    const matchable = video.frames.filter((f) => f.quality >= VPDQ_QUALITY_FLOOR).length;
    const derived = Math.ceil((100 * matchable) / video.frames.length);
    if (record.quality !== derived) r.fail(`quality: got ${record.quality}, want ${derived} for vpdq (the percentage of frames of quality >= 50, rounded up)`);
  } else {
    if (bytes.length > MAX_ITEM_BYTES) r.fail(`got ${bytes.length} bytes, want at most ${MAX_ITEM_BYTES} for ${record.signal_type}`);
    if (record.value.length !== size) r.fail(`value: got ${record.value.length} bytes, want ${size} for ${record.signal_type}`);
  }
  return {
    signal_type: record.signal_type,
    value: video ? "" : hex(record.value), // vpdq: the features are `video`, as hashnode verify --json shows them
    ...(video ? { video } : {}),
    quality: record.quality,
    labels: labels.map((l) => l.text),
    tags: tags.map((t) => t.text),
    reference: record.reference,
    source: record.source,
  };
}

// A vpdq record's value (docs/protocol.md "vPDQ features"): u8 version 1, u32 interval_ms, u32 frame count
// 1..6000, then per frame 32 bytes of PDQ, u8 quality 0..100, u32 frame_number strictly ascending, u32
// timestamp_ms non-decreasing; nothing else.
function decodeVpdqFeatures(value) {
  const r = new Reader(value, "record item: vpdq features", "record.item");
  if (value.length < 9) r.fail(`got ${value.length} bytes, want at least 9`);
  const version = r.u8();
  if (version !== 1) r.fail(`version: got ${version}, want 1`);
  const interval_ms = r.u32();
  const count = r.u32();
  if (count < 1 || count > VPDQ_MAX_FRAMES) r.fail(`frame count: got ${count}, want 1..${VPDQ_MAX_FRAMES}`);
  if (value.length !== 9 + 41 * count) r.fail(`got ${value.length} bytes, want ${9 + 41 * count} for ${count} frames`);
  const frames = [];
  for (let i = 0; i < count; i++) {
    const frame = { pdq: hex(r.take(32)), quality: r.u8(), frame_number: r.u32(), timestamp_ms: r.u32() };
    if (frame.quality > 100) r.fail(`frames[${i}].quality: got ${frame.quality}, want 0..100`);
    const prev = frames[i - 1];
    if (prev && frame.frame_number <= prev.frame_number) r.fail(`frames[${i}].frame_number: got ${frame.frame_number}, want > ${prev.frame_number}`);
    if (prev && frame.timestamp_ms < prev.timestamp_ms) r.fail(`frames[${i}].timestamp_ms: got ${frame.timestamp_ms}, want >= ${prev.timestamp_ms}`);
    frames.push(frame);
  }
  r.end();
  return { interval_ms, frames };
}

function enumValue(r, names, value, what) {
  if (!(value in names)) r.fail(`${what}: got ${value}, want one of ${Object.keys(names).join(", ")}`);
  return names[value];
}

// The items of the kinds that concern records (section 9.5 step 8); each decoder reads one item exactly.
const ITEM_KINDS = {
  [KIND_RETRACTION]: {
    decode(bytes) {
      const r = new Reader(bytes, "retraction item", "related.item");
      const item = { record_id: Buffer.from(r.take(32)), reason: r.string() };
      r.end();
      return item;
    },
    summary: (item) => `retracted by its contributor: ${item.reason || "no reason given"}`,
  },
  [KIND_OPINION]: {
    decode(bytes) {
      const r = new Reader(bytes, "opinion item", "related.item");
      const item = { record_id: Buffer.from(r.take(32)) };
      item.stance = enumValue(r, STANCES, r.u8(), "stance");
      item.reason_code = r.string();
      item.text = r.string();
      r.end();
      return item;
    },
    summary: (item) => `opinion: ${item.stance.replace(/_/g, " ")}` + (item.reason_code ? ` (${item.reason_code})` : "") + (item.text ? `: ${item.text}` : ""),
  },
  [KIND_APPEAL]: {
    decode(bytes) {
      const r = new Reader(bytes, "appeal item", "related.item");
      const item = { record_id: Buffer.from(r.take(32)), case_ref: r.string(), match_distance: null };
      const flag = r.u8();
      if (flag !== 0 && flag !== 1) r.fail(`match_distance flag: got ${flag}, want 0 or 1`);
      if (flag === 1) item.match_distance = r.u16();
      r.end();
      return item;
    },
    summary: (item) => `appeal received, case ${item.case_ref}` + (item.match_distance === null ? "" : `, match distance ${item.match_distance}`),
  },
  [KIND_DECISION]: {
    decode(bytes) {
      const r = new Reader(bytes, "decision item", "related.item");
      const item = { record_id: Buffer.from(r.take(32)), appeal_entry_id: Buffer.from(r.take(32)) };
      item.outcome = enumValue(r, OUTCOMES, r.u8(), "outcome");
      item.reason = r.string();
      item.decided_as = enumValue(r, DECIDED_AS, r.u8(), "decided_as");
      if (item.decided_as === "stewards") {
        item.ruled_at_ms = r.u64();
        const count = r.u16();
        if (count > MAX_RULING_SIGNATURES) r.fail(`signatures: ${count}, want at most ${MAX_RULING_SIGNATURES}`);
        item.signatures = [];
        for (let i = 0; i < count; i++) {
          const sig = { key_id: Buffer.from(r.take(32)), signature: Buffer.from(r.take(64)) };
          const previous = item.signatures[item.signatures.length - 1];
          if (previous && Buffer.compare(previous.key_id, sig.key_id) >= 0) r.fail("signatures: must be ordered by key id, each key once");
          item.signatures.push(sig);
        }
      }
      r.end();
      return item;
    },
    summary: (item) => `appeal ${hex(item.appeal_entry_id).slice(0, 16)}… ${item.outcome} by the ` +
      (item.decided_as === "stewards" ? `stewards (${item.signatures.length} signatures, ruled at ${item.ruled_at_ms})` : item.decided_as) +
      `: ${item.reason || "no reason given"}`,
  },
};

// The consortium's due-process policy: 14 bytes, encoded as roster extension 1 (docs/membership.md).
function decodePolicy(r) {
  const policy = { decision_window_ms: r.u64(), steward_quorum: r.u16(), dispute_quorum: r.u16() };
  const flag = r.u8();
  const mode = r.u8();
  if (flag !== 0 && flag !== 1) r.fail(`policy: trusted_flagger_disputes: got ${flag}, want 0 or 1`);
  if (mode !== 1 && mode !== 2) r.fail(`policy: quarantine: got ${mode}, want 1 or 2`);
  if (policy.steward_quorum < 1 || policy.steward_quorum > 1000 || policy.dispute_quorum > 1000) r.fail("policy: a quorum out of range");
  if (policy.decision_window_ms > 365n * 24n * HOUR_MS) r.fail("policy: decision window out of range");
  return { ...policy, trusted_flagger_disputes: flag === 1, quarantine: mode === 1 ? "mark" : "withhold" };
}

// The assembly statement (section 9.6).
function decodeAssembly(bytes) {
  const r = new Reader(bytes, "assembly", "assembly.malformed");
  if (bytes.length === 0) r.fail("missing");
  if (!r.take(ASSEMBLY_TAG.length).equals(ASSEMBLY_TAG)) r.fail("wrong domain tag (want hashnode.assembly.v1)");
  const a = {
    consortium_id: r.string(),
    assembler: r.string(),
    key_id: Buffer.from(r.take(32)),
    assembled_at_ms: r.u64(),
    record_id: Buffer.from(r.take(32)),
    roster_version: r.u64(),
  };
  a.policy = decodePolicy(r);
  const stewards = r.stringsRaw();
  const heads = [];
  for (let n = r.u32(); n > 0; n--) {
    const start = r.pos + 2;
    const author = r.string();
    heads.push({ author, raw: r.data.subarray(start, r.pos), seq: r.u64(), entry_id: Buffer.from(r.take(32)) });
  }
  const related = [];
  for (let n = r.u32(); n > 0; n--) related.push(Buffer.from(r.take(32)));
  r.end();
  if (!ascending(stewards.map((s) => s.raw))) r.fail("stewards not strictly ascending (sorted, unique)");
  if (!ascending(heads.map((h) => h.raw))) r.fail("heads not strictly ascending (sorted, unique)");
  if (!ascending(related)) r.fail("related not strictly ascending (sorted, unique)");
  if (heads.some((h) => h.seq < 1n)) r.fail("a head with seq 0 (a head is an entry, seq >= 1)");
  a.stewards = stewards.map((s) => s.text);
  a.heads = heads;
  a.related = related;
  return a;
}

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
  if (!(index < size)) fail("record.proof", `inclusion proof: leaf index ${index} not below tree size ${size}`);
  let fn = index;
  let sn = size - 1;
  let r = leafHash(item);
  for (const p of proof) {
    if (p.length !== HASH_SIZE) fail("record.proof", "inclusion proof: sibling hash is not 32 bytes");
    if (sn === 0) fail("record.proof", "inclusion proof: longer than the tree is deep");
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
  if (sn !== 0) fail("record.proof", "inclusion proof: shorter than the tree is deep");
  return r;
}

// --- keys and signatures (section 9.4) -------------------------------------------------------------------------

function signatureValid(rawKey, message, signature) {
  if (signature.length !== 64) return false;
  const key = crypto.createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, rawKey]), format: "der", type: "spki" });
  return crypto.verify(null, message, key, signature);
}

// The key `signer` signed `what` with, from the anchor when there is one, else from the part's member entry.
function signingKey(what, signer, keyId, timestampMs, claimed, anchor, kind = null) {
  let source;
  let where;
  if (anchor) {
    source = anchor.members.get(signer);
    if (!source) fail("key.member", `${what}: ${JSON.stringify(signer)} is not a member of the anchor's consortium`);
    where = "anchor";
  } else {
    if (!claimed || claimed.member_id !== signer) {
      fail("key.member", `${what}: signed by ${JSON.stringify(signer)}, and the bundle's member entry is ${claimed ? JSON.stringify(claimed.member_id) : "none"}`);
    }
    source = claimed;
    where = "bundle's member entry";
  }
  const key = source.keys.find((k) => sha256(k.public_key).equals(keyId));
  if (!key) fail("key.unknown", `${what}: key ${hex(keyId).slice(0, 16)}… of ${JSON.stringify(signer)} is not in the ${where}`);
  if (timestampMs < key.valid_from_ms || (key.valid_until_ms !== 0n && timestampMs > key.valid_until_ms)) {
    fail("key.not_valid", `${what}: key ${hex(keyId).slice(0, 16)}… of ${JSON.stringify(signer)} was not valid at ${timestampMs}`);
  }
  if (source.revoked_after_ms !== 0n && timestampMs > source.revoked_after_ms) {
    fail("key.revoked", `${what}: ${JSON.stringify(signer)} signed at ${timestampMs}, after its revocation cutoff ${source.revoked_after_ms}`);
  }
  if (anchor && kind !== null) {
    const wanted = AUTHOR_ROLES[kind] || MATCHING;
    if (!source.roles.some((role) => wanted.includes(role))) {
      fail("key.role", `${what}: roles of ${JSON.stringify(signer)} (${source.roles.join(", ")}) do not let it author entries of kind ${kind}`);
    }
  }
  return key.public_key;
}

function recordId(entryId, leafIndex) {
  const index = Buffer.alloc(4);
  index.writeUInt32BE(leafIndex, 0);
  return sha256(RECORD_TAG, entryId, index);
}

// --- bundle verification (section 9) ---------------------------------------------------------------------------

function verifyRecord(bundle, anchor) {
  const header = decodeHeader(bundle.entry_header, "record.header"); // 9.3.1
  let problem = null; // 9.3.2: the structure a node would check, as far as one header and one item show it
  if (header.seq < 1n) problem = "entry_header: seq must be >= 1";
  else if ((header.seq === 1n) !== header.prev.equals(Buffer.alloc(32))) problem = "entry_header: prev must be all zeros exactly when seq is 1";
  else if (header.item_count < 1 || header.item_count > MAX_ITEMS) problem = `entry_header: item_count: got ${header.item_count}, want 1..${MAX_ITEMS}`;
  else if (bundle.record_item.length > maxItemBytes(header.kind)) problem = `record_item: got ${bundle.record_item.length} bytes, want at most ${maxItemBytes(header.kind)}`;
  if (problem) fail("record.shape", problem);
  if (header.kind !== KIND_CONTRIBUTION) fail("record.kind", `entry_header: kind ${header.kind} holds no records`); // 9.3.3
  const anchorId = anchor ? anchor.consortium_id : bundle.consortium_id;
  if (header.consortium_id !== bundle.consortium_id || header.consortium_id !== anchorId) { // 9.3.4
    fail("record.consortium", `entry is of consortium ${JSON.stringify(header.consortium_id)}`);
  }
  const key = signingKey("entry_header", header.author, header.key_id, header.timestamp_ms, bundle.author, anchor, header.kind); // 9.3.5
  if (!signatureValid(key, bundle.entry_header, bundle.entry_signature)) fail("record.signature", "entry_signature does not verify"); // 9.3.6
  if (bundle.leaf_count !== header.item_count) fail("record.leaf_count", `leaf_count: got ${bundle.leaf_count}, the header signs ${header.item_count}`); // 9.3.7
  const root = rootFromProof(bundle.record_item, bundle.leaf_index, bundle.leaf_count, bundle.inclusion_proof); // 9.3.8
  if (!root.equals(header.body_root)) fail("record.proof", "inclusion proof does not lead to the signed body root: record bytes changed");
  const entryId = sha256(bundle.entry_header);
  if (hex(recordId(entryId, bundle.leaf_index)) !== bundle.record_id) fail("record.id", "record_id does not derive from the entry id and leaf_index"); // 9.3.9
  return { header, entryId, record: decodeRecord(bundle.record_item) }; // 9.3.10
}

function verifyAssembly(bundle, anchor) {
  const a = decodeAssembly(bundle.assembly); // 9.6.1
  if (a.consortium_id !== bundle.consortium_id) fail("assembly.consortium", `assembly is of consortium ${JSON.stringify(a.consortium_id)}`); // 9.6.2
  if (hex(a.record_id) !== bundle.record_id) fail("assembly.record", `assembly is about record ${hex(a.record_id)}`); // 9.6.3
  const key = signingKey("assembly", a.assembler, a.key_id, a.assembled_at_ms, bundle.assembler, anchor); // 9.6.4
  if (!signatureValid(key, bundle.assembly, bundle.assembly_signature)) fail("assembly.signature", "assembly_signature does not verify"); // 9.6.5
  return a;
}

function verifyRelated(bundle, i, related, anchor) {
  const where = `related[${i}]`;
  const header = decodeHeader(related.header, "related.header"); // 9.5.2
  const items = related.items;
  let problem = null; // 9.5.3
  if (header.seq < 1n) problem = "seq must be >= 1";
  else if ((header.seq === 1n) !== header.prev.equals(Buffer.alloc(32))) problem = "prev must be all zeros exactly when seq is 1";
  else if (header.item_count !== items.length) problem = `header counts ${header.item_count} items, got ${items.length}`;
  else if (items.length < 1 || items.length > MAX_ITEMS) problem = `got ${items.length} items, want 1..${MAX_ITEMS}`;
  else if (items.some((item) => item.length > maxItemBytes(header.kind))) problem = `an item exceeds ${maxItemBytes(header.kind)} bytes`;
  else if (items.reduce((n, item) => n + item.length, 0) > MAX_ENTRY_BYTES) problem = `items total ${items.reduce((n, item) => n + item.length, 0)} bytes, want at most ${MAX_ENTRY_BYTES}`;
  if (problem) fail("related.shape", `${where}: ${problem}`);
  if (!merkleRoot(items.map(leafHash)).equals(header.body_root)) fail("related.body_root", `${where}: items do not match the signed body root`); // 9.5.4
  if (header.consortium_id !== bundle.consortium_id) fail("related.consortium", `${where}: entry is of consortium ${JSON.stringify(header.consortium_id)}`); // 9.5.5
  const key = signingKey(where, header.author, header.key_id, header.timestamp_ms, related.author, anchor, header.kind); // 9.5.6
  if (!signatureValid(key, related.header, related.signature)) fail("related.signature", `${where}: signature does not verify`); // 9.5.7
  const kind = ITEM_KINDS[header.kind]; // 9.5.8
  if (!kind) fail("related.kind", `${where}: kind ${header.kind} is not a kind that concerns records`);
  const about = [];
  for (const [j, raw] of items.entries()) { // 9.5.9
    let item;
    try {
      item = kind.decode(raw);
    } catch (err) {
      if (err instanceof VerificationError) fail("related.item", `${where}.entry.items[${j}]: ${err.message}`);
      throw err;
    }
    if (hex(item.record_id) === bundle.record_id) about.push(item);
  }
  if (about.length === 0) fail("related.unrelated", `${where}: no item concerns record ${bundle.record_id}`); // 9.5.10
  const entryId = hex(sha256(related.header));
  const event = { kind: KIND_NAMES[header.kind], author: header.author, timestamp_ms: header.timestamp_ms.toString(), entry_id: entryId, summary: kind.summary(about[0]) };
  return { event, header, entryId, items: about };
}

function checkFrontier(what, a, header, entryId) { // 9.6.6
  const head = a.heads.find((h) => h.author === header.author);
  if (!head || header.seq > head.seq || (header.seq === head.seq && !head.entry_id.equals(entryId))) {
    fail("assembly.frontier", `${what}: seq ${header.seq} of ${JSON.stringify(header.author)} lies beyond the assembler's signed frontier`);
  }
}

function checkComplete(bundle, a) {
  const carried = new Set(bundle.related.map((r) => hex(sha256(r.header))));
  const listed = new Set(a.related.map(hex));
  const missing = [...listed].filter((id) => !carried.has(id)).sort();
  if (missing.length) fail("assembly.omitted", `entry ${missing[0]} about the record, held by the assembler, is missing from the bundle`); // 9.6.7
  const extra = bundle.related.findIndex((r) => !listed.has(hex(sha256(r.header))));
  if (extra >= 0) fail("assembly.unlisted", `related[${extra}]: entry is not in the assembler's signed list`); // 9.6.8
}

const compareBigInt = (x, y) => (x < y ? -1 : x > y ? 1 : 0);
const byTimeThenId = (x, y) => compareBigInt(x.timestamp_ms, y.timestamp_ms) || (x.entry_id < y.entry_id ? -1 : x.entry_id > y.entry_id ? 1 : 0);

// The bytes a stewards' ruling's signatures sign (node/dueprocess/ruling.py Ruling.encode).
function rulingBytes(consortiumId, item) {
  const str = (text) => {
    const raw = Buffer.from(text, "utf8");
    const len = Buffer.alloc(2);
    len.writeUInt16BE(raw.length);
    return Buffer.concat([len, raw]);
  };
  const at = Buffer.alloc(8);
  at.writeBigUInt64BE(BigInt(item.ruled_at_ms));
  const outcome = Buffer.from([Number(Object.keys(OUTCOMES).find((k) => OUTCOMES[k] === item.outcome))]);
  return Buffer.concat([RULING_TAG, str(consortiumId), item.record_id, item.appeal_entry_id, outcome, str(item.reason), at]);
}

// The distinct stewards whose key, valid when they ruled, made a valid signature of the ruling.
function rulingSigners(item, authority) {
  const message = rulingBytes(authority.consortium_id, item);
  const signers = new Set();
  for (const sig of item.signatures) {
    for (const { member_id, key } of authority.steward_keys) {
      if (!sha256(key.public_key).equals(sig.key_id)) continue;
      if (item.ruled_at_ms < key.valid_from_ms || (key.valid_until_ms !== 0n && item.ruled_at_ms > key.valid_until_ms)) continue;
      if (signatureValid(key.public_key, message, sig.signature)) signers.add(member_id);
    }
  }
  return [...signers].sort();
}

// Why `decision` is not a valid decision of `appeal` (node/dueprocess/deadlines.py check_decision), or null: the
// rule of section 9.7 step 4 (the rule index, section 9.8) and the words.
function refusal(appeal, decision, contributor, authority) {
  const deadline = appeal.timestamp_ms + authority.window;
  const item = decision.item;
  const refuse = (rule, why) => ({ rule, why });
  if (decision.timestamp_ms < appeal.timestamp_ms) return refuse("decision.before_appeal", "decided before the appeal");
  if (item.decided_as === "contributor" && decision.author !== contributor) {
    return refuse("decision.not_contributor", `${JSON.stringify(decision.author)} is not the contributor`);
  }
  if (item.decided_as === "steward") {
    if (!authority.stewards.has(decision.author)) return refuse("decision.not_steward", `${JSON.stringify(decision.author)} is not a steward`);
    if (authority.quorum > 1) {
      return refuse("decision.single_steward", `the consortium's policy wants rulings signed by ${authority.quorum} stewards`);
    }
    if (decision.timestamp_ms < deadline) return refuse("decision.too_early", "a steward decided within the contributor's window");
  }
  if (item.decided_as === "stewards") {
    const signers = rulingSigners(item, authority);
    if (signers.length < authority.quorum) {
      return refuse("decision.ruling_quorum",
        `stewards' ruling: signed by ${signers.length} steward(s) (${signers.join(", ") || "none"}), want ${authority.quorum}`);
    }
    if (item.ruled_at_ms < deadline) return refuse("decision.ruling_too_early", "the stewards ruled within the contributor's window");
    if (item.ruled_at_ms > decision.timestamp_ms) {
      return refuse("decision.ruling_postdated", "the ruling is dated after the entry that publishes it");
    }
  }
  return null;
}

// One appeal or dispute case: the first valid decision naming it is effective. `rule` records each decision item's
// ruling (the first it is given).
function resolveCase(appeal, decisions, contributor, authority, rule) {
  let effective = null;
  for (const decision of decisions.filter((d) => hex(d.item.appeal_entry_id) === appeal.entry_id)) {
    const refused = refusal(appeal, decision, contributor, authority);
    if (refused) rule(decision, `refused: ${refused.why}`, refused.rule);
    else if (effective) rule(decision, `superseded: decided first by ${JSON.stringify(effective.author)}`);
    else {
      effective = decision;
      rule(decision, "effective");
    }
  }
  return effective;
}

// The cases disputes open (node/dueprocess/disputes.py): each member's latest opinion (not the contributor's); the
// false-positive reports after the last review, in (time, entry id) order; the one reaching the dispute quorum, or
// the first by a trusted flagger when the policy says so, opens a case named by its entry id. An upheld case
// reviews the reports before its decision; a later report may open another.
function disputeCases(opinions, decisions, contributor, authority, reviewedUntil) {
  if (!authority.dispute_quorum && !authority.trusted_flagger_disputes) return [];
  const latest = new Map();
  for (const opinion of [...opinions].sort(byTimeThenId)) if (opinion.author !== contributor) latest.set(opinion.author, opinion);
  const reports = [...latest.values()].filter((o) => o.item.stance === "false_positive").sort(byTimeThenId);
  const cases = [];
  let since = reviewedUntil;
  for (;;) {
    let count = 0;
    let trigger = null;
    for (const report of reports) {
      if (since !== null && report.timestamp_ms <= since) continue;
      count += 1;
      const flagger = authority.trusted_flagger_disputes && authority.trusted_flaggers.has(report.author);
      if (flagger || (authority.dispute_quorum && count >= authority.dispute_quorum)) {
        trigger = report;
        break;
      }
    }
    if (!trigger) return cases;
    const dispute = { ...trigger, item: { ...trigger.item, case_ref: DISPUTE_CASE } };
    cases.push(dispute);
    const effective = resolveCase(dispute, decisions, contributor, authority, () => {});
    if (!effective || effective.item.outcome !== "upheld") return cases;
    since = effective.timestamp_ms;
  }
}

// Section 9.7: the status, and each decision entry's ruling (docs/due-process.md: appeals, stewards' rulings,
// dispute cases and quarantine), derived whatever the status: a retracted record's decisions have rulings too.
function deriveStatus(verified, contributor, authority) {
  const byKind = (kind) => verified.filter((v) => v.header.kind === kind)
    .flatMap((v) => v.items.map((item) => ({ author: v.header.author, timestamp_ms: v.header.timestamp_ms, entry_id: v.entryId, item })));
  const retracted = byKind(KIND_RETRACTION).some((r) => r.author === contributor);
  const appeals = new Map(); // appeal entry id → its first item about the record
  for (const appeal of byKind(KIND_APPEAL)) if (!appeals.has(appeal.entry_id)) appeals.set(appeal.entry_id, appeal);
  const decisions = byKind(KIND_DECISION).sort(byTimeThenId); // stable: the items of one entry keep their order
  // Each decision item's ruling (an item object is one item of one entry); an entry's is its first item's.
  const itemRulings = new Map();
  const rule = (decision, ruling, ruleId = "") => {
    if (!itemRulings.has(decision.item)) itemRulings.set(decision.item, { ruling, rule: ruleId });
  };
  let overturned = false;
  let reviewedUntil = null;
  for (const appeal of [...appeals.values()].sort(byTimeThenId)) {
    const effective = resolveCase(appeal, decisions, contributor, authority, rule);
    if (effective && effective.item.outcome === "overturned") overturned = true;
    if (effective && effective.item.outcome === "upheld" && (reviewedUntil === null || effective.timestamp_ms > reviewedUntil)) {
      reviewedUntil = effective.timestamp_ms;
    }
  }
  let open = false;
  for (const dispute of disputeCases(byKind(KIND_OPINION), decisions, contributor, authority, reviewedUntil)) {
    const effective = resolveCase(dispute, decisions, contributor, authority, rule);
    if (effective && effective.item.outcome === "overturned") overturned = true;
    if (!effective) open = true;
  }
  for (const decision of decisions) rule(decision, "pending: it names no appeal or dispute case of the record in this bundle", "decision.no_case");
  const rulings = {};
  for (const v of verified) if (v.header.kind === KIND_DECISION) rulings[v.entryId] = itemRulings.get(v.items[0]);
  const status = retracted ? "retracted" : overturned ? "overturned" : open ? (authority.quarantine === "withhold" ? "quarantined" : "disputed") : "active";
  return { status, rulings };
}

// A steward's keys for checking ruling signatures: each window ends at the steward's revocation cutoff, if any (a key
// whose window starts after the cutoff is left out), as an entry signed after the cutoff is refused (section 9.4).
function rulingKeys(member) {
  const cutoff = member.revoked_after_ms || 0n;
  const keys = cutoff === 0n ? member.keys : member.keys.filter((k) => k.valid_from_ms <= cutoff)
    .map((k) => ({ ...k, valid_until_ms: k.valid_until_ms === 0n || k.valid_until_ms > cutoff ? cutoff : k.valid_until_ms }));
  return keys.map((key) => ({ member_id: member.member_id, key }));
}

// Who decides and the consortium's due-process policy: the anchor's; without one, the assembler's signed statement
// (stewards, policy) with the stewards' keys and the trusted flaggers from the bundle's member entries (claims).
function decisionAuthority(bundle, a, anchor) {
  if (anchor) {
    const members = [...anchor.members.values()];
    const policy = anchor.policy;
    return {
      stewards: anchor.stewards, window: policy.decision_window_ms, quorum: policy.steward_quorum,
      consortium_id: a.consortium_id,
      steward_keys: members.filter((m) => anchor.stewards.has(m.member_id)).flatMap(rulingKeys),
      dispute_quorum: policy.dispute_quorum, trusted_flagger_disputes: policy.trusted_flagger_disputes,
      trusted_flaggers: new Set(members.filter((m) => m.roles.includes("trusted_flagger")).map((m) => m.member_id)),
      quarantine: policy.quarantine,
    };
  }
  const stewards = new Set(a.stewards);
  // Every member entry of the bundle, each a claim: a steward's keys are all those its entries list (each with that
  // entry's windows and cutoff), and a member is a trusted flagger when any of its entries says so.
  const members = [bundle.author, bundle.assembler, ...(bundle.stewards || []), ...bundle.related.map((r) => r.author)]
    .filter(Boolean);
  return {
    stewards, window: a.policy.decision_window_ms, quorum: a.policy.steward_quorum, consortium_id: a.consortium_id,
    steward_keys: members.filter((m) => stewards.has(m.member_id)).flatMap(rulingKeys),
    dispute_quorum: a.policy.dispute_quorum, trusted_flagger_disputes: a.policy.trusted_flagger_disputes,
    trusted_flaggers: new Set(members.filter((m) => m.roles.includes("trusted_flagger")).map((m) => m.member_id)),
    quarantine: a.policy.quarantine,
  };
}

/**
 * Verifies a bundle read by `readBundleFile` (or `fromProtoLoader`) against an optional anchor (from
 * `readConsortiumFile` or `rosterAnchor`); throws VerificationError with the rule of the first check that fails.
 */
function verifyRead(bundle, anchor = null) {
  const { header, entryId, record } = verifyRecord(bundle, anchor); // 9.3
  const a = verifyAssembly(bundle, anchor); // 9.6 steps 1-5
  const seen = new Set();
  const verified = bundle.related.map((related, i) => { // 9.5
    const id = hex(sha256(related.header));
    if (seen.has(id)) fail("related.duplicate", `related[${i}]: entry ${id} appears twice`);
    seen.add(id);
    return verifyRelated(bundle, i, related, anchor);
  });
  checkFrontier("entry_header", a, header, entryId); // 9.6 steps 6-8
  verified.forEach((v, i) => checkFrontier(`related[${i}]`, a, v.header, sha256(bundle.related[i].header)));
  checkComplete(bundle, a);
  const authority = decisionAuthority(bundle, a, anchor);
  const { status, rulings } = deriveStatus(verified, header.author, authority); // 9.7
  const history = verified.map(({ event }) => {
    if (!(event.entry_id in rulings)) return event;
    const { ruling, rule } = rulings[event.entry_id];
    return rule ? { ...event, ruling, ruling_rule: rule } : { ...event, ruling };
  });
  history.sort((x, y) => byTimeThenId({ timestamp_ms: BigInt(x.timestamp_ms), entry_id: x.entry_id }, { timestamp_ms: BigInt(y.timestamp_ms), entry_id: y.entry_id }));
  return {
    consortium_id: header.consortium_id,
    record_id: bundle.record_id,
    record,
    author: header.author,
    key_id: hex(header.key_id),
    entry_id: hex(entryId),
    seq: header.seq.toString(),
    contributed_at_ms: header.timestamp_ms.toString(),
    leaf_index: bundle.leaf_index,
    status,
    history,
    pinned: Boolean(anchor),
    assembly: {
      assembler: a.assembler,
      assembled_at_ms: a.assembled_at_ms.toString(),
      key_id: hex(a.key_id),
      heads: a.heads.map((h) => ({ author: h.author, seq: h.seq.toString(), entry_id: hex(h.entry_id) })),
      related: a.related.map(hex),
    },
  };
}

// --- trust anchors (section 9.2) -------------------------------------------------------------------------------

function anchorOf(consortiumId, members, policy) {
  const byId = new Map(members.map((m) => [m.member_id, m]));
  const stewards = new Set(members.filter((m) => m.roles.includes("steward")).map((m) => m.member_id));
  return { consortium_id: consortiumId, members: byId, stewards, decision_window_ms: policy.decision_window_ms, policy };
}

// A consortium file in its JSON form (the TOML form is the same data model; read it with a TOML library into
// the same object and pass that to `consortiumAnchor`). A file whose first byte that is not JSON whitespace is not
// "{" is TOML (section 9.2): this reader, without dependencies, does not read it and says so (a usage error).
function readConsortiumFile(bytes) {
  const text = decodeDocument(bytes, "consortium");
  if (!/^[ \t\n\r]*\{/.test(text)) throw new UsageError("a TOML consortium file: this verifier reads the JSON form only (same fields)");
  // A JSON consortium file that breaks the rules of file.json breaks consortium.syntax (section 9.2).
  return consortiumAnchor(parseJson(text, "consortium", "consortium.syntax"));
}

function consortiumAnchor(document) {
  const top = new Obj(document, "", "consortium");
  const consortiumId = top.string("consortium_id", true);
  if (!consortiumId) top.fail("field_invalid", "consortium_id", 'got "", want a non-empty string');
  const hours = top.numberValue("decision_window_hours", 0, 8760);
  const windowMs = top.integer("decision_window_ms", 0n, 8760n * HOUR_MS);
  if (hours !== null && windowMs !== null) top.fail("field_invalid", "decision_window_ms", "given with decision_window_hours; want one of them");
  // Round half up from the one IEEE-754 product every language computes alike.
  const window = windowMs !== null ? windowMs : hours !== null ? BigInt(Math.floor(hours * 3600000 + 0.5)) : DEFAULT_DECISION_WINDOW_MS;
  const mode = top.string("quarantine", false, "mark");
  if (mode !== "mark" && mode !== "withhold") top.fail("field_invalid", "quarantine", `got ${JSON.stringify(mode)}, want mark or withhold`);
  const stewardQuorum = top.integer("steward_quorum", 1n, 1000n);
  const disputeQuorum = top.integer("dispute_quorum", 0n, 1000n);
  const flaggerDisputes = top.boolean("trusted_flagger_disputes");
  const members = [];
  const ids = new Set();
  for (const [path, value] of top.array("member", true)) {
    const m = consortiumMember(new Obj(value, path, "consortium"));
    if (ids.has(m.member_id)) fail("consortium.member_duplicate", `${path}.id: ${JSON.stringify(m.member_id)} is listed twice`);
    ids.add(m.member_id);
    members.push(m);
  }
  top.done();
  if (members.length === 0) top.fail("field_invalid", "member", "got an empty array, want at least one member");
  const holders = new Map();
  for (const m of members) {
    for (const k of m.keys) {
      const id = hex(sha256(k.public_key));
      if (holders.has(id)) fail("consortium.key_duplicate", `member ${JSON.stringify(m.member_id)}: key ${id.slice(0, 16)}… is listed twice or for two members`);
      holders.set(id, m.member_id);
    }
  }
  return anchorOf(consortiumId, members, {
    decision_window_ms: window,
    steward_quorum: stewardQuorum === null ? 1 : Number(stewardQuorum),
    dispute_quorum: disputeQuorum === null ? 0 : Number(disputeQuorum),
    trusted_flagger_disputes: Boolean(flaggerDisputes),
    quarantine: mode,
  });
}

function consortiumMember(o) {
  const memberId = o.string("id", true);
  if (!MEMBER_ID.test(memberId)) o.fail("field_invalid", o.at("id"), `got ${JSON.stringify(memberId)}, want 1-64 characters a-z 0-9 . _ -`);
  const roles = o.has("roles") ? o.strings("roles") : ["contributor"];
  if (roles.length === 0 || roles.some((r) => !ROLES.includes(r)) || new Set(roles).size !== roles.length) {
    o.fail("field_invalid", o.at("roles"), `got ${JSON.stringify(roles)}, want one or more distinct of ${ROLES.join(", ")}`);
  }
  const status = o.string("status", false, "active");
  if (!STATUSES.includes(status)) o.fail("field_invalid", o.at("status"), `got ${JSON.stringify(status)}`);
  const cutoff = o.integer("revoked_after_ms", 0n, MAX_SAFE) || 0n;
  if ((status === "revoked") !== (cutoff > 0n)) o.fail("field_invalid", o.at("revoked_after_ms"), `got ${cutoff}, want > 0 exactly when the status is revoked`);
  const forms = ["public_key", "public_keys", "keys"].filter((f) => o.has(f));
  if (forms.length !== 1) {
    o.fail(forms.length ? "field_invalid" : "field_missing", o.at("keys"), `${forms.length ? `given as ${forms.join(" and ")}` : "missing"}; want exactly one of public_key, public_keys, keys`);
  }
  const keyHex = (text, path) => {
    if (typeof text !== "string" || !/^[0-9a-f]{64}$/.test(text)) o.fail("field_invalid", path, `got ${shown(text)}, want 64 lowercase hex digits`);
    return Buffer.from(text, "hex");
  };
  let keys;
  if (forms[0] === "public_key") keys = [{ public_key: keyHex(o.string("public_key"), o.at("public_key")), valid_from_ms: 0n, valid_until_ms: 0n }];
  else if (forms[0] === "public_keys") {
    const items = o.array("public_keys");
    if (items.length === 0) o.fail("field_invalid", o.at("public_keys"), "got an empty array, want at least one key");
    items.forEach(([path, v]) => { if (typeof v !== "string") o.fail("field_invalid", path, `got ${typeName(v)}, want a string`); });
    keys = items.map(([path, v]) => ({ public_key: keyHex(v, path), valid_from_ms: 0n, valid_until_ms: 0n }));
  } else {
    keys = o.array("keys").map(([path, value]) => {
      const k = new Obj(value, path, "consortium");
      const publicKey = keyHex(k.string("public_key", true), `${path}.public_key`);
      const from = k.integer("valid_from_ms", 0n, MAX_SAFE) || 0n;
      const until = k.integer("valid_until_ms", 0n, MAX_SAFE) || 0n;
      if (until !== 0n && until < from) k.fail("field_invalid", `${path}.valid_until_ms`, `got ${until}, want 0 or >= valid_from_ms ${from}`);
      k.done();
      return { public_key: publicKey, valid_from_ms: from, valid_until_ms: until };
    });
    if (keys.length === 0) o.fail("field_invalid", o.at("keys"), "got an empty array, want at least one key");
  }
  o.string("organisation");
  o.string("contact");
  o.string("endpoint");
  o.done();
  return { member_id: memberId, keys, roles, status, revoked_after_ms: cutoff };
}

// A signed-roster file (docs/membership.md, "Signatures, roster id and the roster file"), read as strictly as a
// bundle file: strict JSON, `format`, `roster` in canonical base64, optional `roster_id` (lowercase hex, the
// SHA-256 of the roster bytes), optional `signatures` ({key_id: 64 lowercase hex, signature: 128}), nothing
// else. Every breach, like roster bytes that do not decode, is rule anchor.roster_malformed.
function readRosterFile(bytes) {
  const malformed = (why) => fail("anchor.roster_malformed", `roster anchor: ${why}`);
  let file;
  try {
    const top = new Obj(parseJson(decodeDocument(bytes, "roster"), "roster"), "", "roster");
    const format = top.string("format", true);
    if (format !== "hashnode.signed-roster.v1") top.fail("field_invalid", "format", `got ${JSON.stringify(format)}, want "hashnode.signed-roster.v1"`);
    const rosterBytes = top.base64("roster", true);
    const claimed = top.has("roster_id") ? top.hexId("roster_id", true) : null;
    const signatures = top.array("signatures").map(([path, value]) => {
      const o = new Obj(value, path, "roster");
      const keyId = o.hexId("key_id", true);
      const signature = o.string("signature", true);
      if (!/^[0-9a-f]{128}$/.test(signature)) o.fail("field_invalid", o.at("signature"), "want 128 lowercase hex digits (a 64-byte signature)");
      o.done();
      return { key_id: Buffer.from(keyId, "hex"), signature: Buffer.from(signature, "hex") };
    });
    top.done();
    file = { bytes: rosterBytes, claimed, signatures };
  } catch (err) {
    if (err instanceof VerificationError) malformed(`signed roster file: ${err.message}`);
    throw err;
  }
  const id = hex(sha256(file.bytes));
  const roster = decodeRoster(file.bytes);
  if (file.claimed !== null && file.claimed !== id) malformed(`roster_id: got ${file.claimed}, want ${id}`);
  return { bytes: file.bytes, id, signatures: file.signatures, roster };
}

function decodeRoster(bytes) {
  const r = new Reader(bytes, "roster", "anchor.roster_malformed");
  const tag = r.take(ROSTER_TAGS.v1.length);
  const extended = tag.equals(ROSTER_TAGS.v2);
  if (!extended && !tag.equals(ROSTER_TAGS.v1)) r.fail("wrong domain tag (want hashnode.roster.v1 or v2)");
  const roster = { consortium_id: r.string(), version: r.u64(), expires_ms: r.u64(), threshold: r.u16(), stewards: [], members: [], policy: null };
  for (let n = r.u16(); n > 0; n--) {
    r.string();
    roster.stewards.push(Buffer.from(r.take(32)));
  }
  let anyExtension = false;
  const extensions = (what, known) => {
    const found = new Map();
    let last = -1;
    for (let n = r.u16(); n > 0; n--) {
      const type = r.u16();
      const value = Buffer.from(r.blob());
      if (type <= last) r.fail(`${what} extensions: types not strictly increasing`);
      if (!known.includes(type)) r.fail(`${what} extension type ${type} unknown`);
      last = type;
      found.set(type, value);
      anyExtension = true;
    }
    return found;
  };
  for (let n = r.u32(); n > 0; n--) {
    const m = { member_id: r.string() };
    r.string(); r.string(); // organisation, contact
    const endpoint = r.string();
    const roles = r.stringsRaw().map((s) => s.text);
    m.roles = roles;
    m.status_code = r.u8();
    m.status_version = r.u64();
    m.revoked_after_ms = r.u64();
    m.keys = [];
    for (let k = r.u16(); k > 0; k--) m.keys.push({ public_key: Buffer.from(r.take(32)), valid_from_ms: r.u64(), valid_until_ms: r.u64() });
    m.tls = [];
    for (let c = r.u16(); c > 0; c--) m.tls.push({ der: Buffer.from(r.blob()), from: r.u64(), until: r.u64() });
    m.endpoints = endpoint ? [endpoint] : [];
    const further = extended ? extensions(`member ${JSON.stringify(m.member_id)}`, [1]).get(1) : undefined;
    if (further !== undefined) { // member extension 1: the endpoints after the first
      const er = new Reader(further, `member ${JSON.stringify(m.member_id)} further endpoints`, "anchor.roster_malformed");
      const more = er.stringsRaw().map((e) => e.text);
      er.end();
      if (!endpoint || more.length === 0) er.fail("want at least one, after a first endpoint");
      m.endpoints.push(...more);
    }
    roster.members.push(m);
  }
  if (extended) {
    const ext = extensions("roster", [1]);
    if (ext.has(1)) {
      const pr = new Reader(ext.get(1), "due-process policy", "anchor.roster_malformed");
      roster.policy = decodePolicy(pr);
      pr.end();
    }
  }
  r.end();
  if (extended && !anyExtension) r.fail("a roster without extensions must be encoded as version 1");
  // The structural rules and the one canonical order (docs/membership.md "Roster bytes").
  const m = roster.members;
  const rank = (role) => ROLES.indexOf(role);
  if (!roster.consortium_id) r.fail("consortium_id empty");
  if (roster.version < 1n) r.fail("version 0");
  if (roster.threshold < 1 || roster.threshold > roster.stewards.length) r.fail("threshold out of range");
  if (!ascending(roster.stewards.map((k) => sha256(k)))) r.fail("stewards not in key id order");
  if (!ascending(m.map((x) => Buffer.from(x.member_id, "utf8")))) r.fail("members not in member_id order");
  const logKeys = new Set();
  const certs = new Set();
  for (const x of m) {
    if (!MEMBER_ID.test(x.member_id)) r.fail("a member id breaks the syntax");
    if (x.keys.length === 0) r.fail(`member ${x.member_id}: no keys`);
    if (x.endpoints.length > 8 || new Set(x.endpoints).size !== x.endpoints.length) r.fail(`member ${x.member_id}: at most 8 distinct endpoints`);
    for (const e of x.endpoints) {
      const found = ENDPOINT.exec(e);
      if (!found || Buffer.byteLength(e, "utf8") > 255 || Number(found[1]) < 1 || Number(found[1]) > 65535) r.fail(`member ${x.member_id}: endpoint ${JSON.stringify(e)}: want host:port`);
    }
    if (!ascending(x.keys.map((k) => sha256(k.public_key)))) r.fail(`member ${x.member_id}: keys not in key id order`);
    if (!ascending(x.tls.map((c) => sha256(c.der)))) r.fail(`member ${x.member_id}: certificates not in fingerprint order`);
    if (x.roles.length === 0 || x.roles.some((role) => rank(role) < 0)) r.fail(`member ${x.member_id}: roles`);
    if (!x.roles.every((role, i) => i === 0 || rank(x.roles[i - 1]) < rank(role))) r.fail(`member ${x.member_id}: roles not in canonical order`);
    if (x.status_code < 1 || x.status_code > 3) r.fail(`member ${x.member_id}: status ${x.status_code}`);
    if ((x.status_code === 3) !== (x.revoked_after_ms > 0n)) r.fail(`member ${x.member_id}: revoked_after_ms > 0 exactly when revoked`);
    if (x.status_version < 1n || x.status_version > roster.version) r.fail(`member ${x.member_id}: status_version`);
    for (const k of x.keys) {
      if (k.valid_until_ms !== 0n && k.valid_until_ms < k.valid_from_ms) r.fail(`member ${x.member_id}: a key window ends before it starts`);
      const id = hex(sha256(k.public_key));
      if (logKeys.has(id)) r.fail("a log key held by two members");
      logKeys.add(id);
    }
    for (const c of x.tls) {
      if (c.der.length < 1 || c.der.length > 8192) r.fail(`member ${x.member_id}: certificate size`);
      if (c.until !== 0n && c.until < c.from) r.fail(`member ${x.member_id}: a certificate window ends before it starts`);
      const fp = hex(sha256(c.der));
      if (certs.has(fp)) r.fail("a certificate held by two members");
      certs.add(fp);
    }
  }
  return roster;
}

function signedBy(file, roster) {
  const keys = new Map(roster.stewards.map((k) => [hex(sha256(k)), k]));
  const signers = new Set();
  for (const s of file.signatures) {
    const id = hex(s.key_id);
    if (!keys.has(id) || signers.has(id)) continue;
    if (signatureValid(keys.get(id), file.bytes, s.signature)) signers.add(id);
  }
  return signers.size;
}

// A roster chain, root first, trusted as of `nowMs` (section 9.2): root version 1 or pinned, thresholds, each
// later version following from the one before, the newest not expired.
function rosterAnchor(files, pinnedId, nowMs) {
  if (files.length === 0) fail("anchor.roster_root", "no roster given");
  if (pinnedId != null) pinnedId = pinnedId.toLowerCase(); // hex digits in either case; ids are shown in lowercase
  const [root, ...later] = files;
  if (pinnedId == null && root.roster.version !== 1n) fail("anchor.roster_root", `root roster is version ${root.roster.version}; want version 1 or a pinned roster id`);
  if (pinnedId != null && root.id !== pinnedId) fail("anchor.roster_root", `root roster: id ${root.id}, want ${pinnedId}`);
  if (signedBy(root, root.roster) < root.roster.threshold) fail("anchor.roster_threshold", "the root is not signed by a threshold of its own stewards");
  let trusted = root;
  for (const next of later) {
    const [old, neu] = [trusted.roster, next.roster];
    if (neu.consortium_id !== old.consortium_id) fail("anchor.roster_chain", "a roster of another consortium");
    if (neu.version < old.version) fail("anchor.roster_chain", `roster version ${neu.version}: older than ${old.version}`);
    if (neu.version === old.version) {
      if (!next.bytes.equals(trusted.bytes)) fail("anchor.roster_chain", `roster version ${neu.version}: differs from the trusted one`);
      continue;
    }
    if (neu.version !== old.version + 1n) fail("anchor.roster_chain", `roster version ${neu.version}: want ${old.version + 1n} next`);
    if (signedBy(next, old) < old.threshold) fail("anchor.roster_threshold", `roster version ${neu.version}: too few of the previous stewards signed`);
    if (signedBy(next, neu) < neu.threshold) fail("anchor.roster_threshold", `roster version ${neu.version}: too few of its own stewards signed`);
    for (const before of old.members) {
      const after = neu.members.find((x) => x.member_id === before.member_id);
      if (!after) fail("anchor.roster_chain", `member ${before.member_id} removed`);
      if (before.status_code === 3 && after.revoked_after_ms !== before.revoked_after_ms) fail("anchor.roster_chain", `member ${before.member_id}: revocation moved`);
    }
    for (const after of neu.members) {
      const before = old.members.find((x) => x.member_id === after.member_id);
      const changed = !before || before.status_code !== after.status_code;
      const want = changed ? neu.version : before.status_version;
      if (after.status_version !== want) fail("anchor.roster_chain", `member ${after.member_id}: status_version ${after.status_version}, want ${want}`);
    }
    trusted = next;
  }
  if (trusted.roster.expires_ms < BigInt(nowMs)) fail("anchor.roster_expired", `roster version ${trusted.roster.version} expired at ${trusted.roster.expires_ms}`);
  const r = trusted.roster;
  const members = r.members.map((x) => ({ member_id: x.member_id, keys: x.keys, roles: x.roles, status: STATUSES[x.status_code - 1], revoked_after_ms: x.revoked_after_ms }));
  return anchorOf(r.consortium_id, members, r.policy || DEFAULT_POLICY);
}

// --- bundles from @grpc/proto-loader ({keepCase: true, longs: String, bytes: Buffer, defaults: true}) -------------

// A received message becomes the document its file would be (signed fields, claims and key hints; conveniences
// dropped), and is read by the same strict reader.
function fromProtoLoader(input) {
  const b64 = (v) => Buffer.from(v).toString("base64");
  const num = (v) => ({ number: String(v) });
  const obj = (entries) => Object.assign(Object.create(null), Object.fromEntries(entries.filter(([, v]) => v !== undefined)));
  const member = (m) => m && obj([
    ["member_id", m.member_id],
    ["keys", (m.keys || []).map((k) => obj([["public_key", b64(k.public_key)],
      ["valid_from_ms", k.valid_from_ms && String(k.valid_from_ms) !== "0" ? String(k.valid_from_ms) : undefined],
      ["valid_until_ms", k.valid_until_ms && String(k.valid_until_ms) !== "0" ? String(k.valid_until_ms) : undefined]]))],
    ["roles", m.roles || []],
    ["status", m.status || undefined],
    ["revoked_after_ms", m.revoked_after_ms && String(m.revoked_after_ms) !== "0" ? String(m.revoked_after_ms) : undefined],
  ]);
  return readBundleDocument(obj([
    ["format_version", num(input.format_version)],
    ["consortium_id", input.consortium_id],
    ["record_id", input.record_id],
    ["record_item", b64(input.record_item)],
    ["leaf_index", num(input.leaf_index || 0)],
    ["leaf_count", num(input.leaf_count)],
    ["inclusion_proof", (input.inclusion_proof || []).map(b64)],
    ["entry_header", b64(input.entry_header)],
    ["entry_signature", b64(input.entry_signature)],
    ["author", member(input.author) || undefined],
    ["related", (input.related || []).map((r) => obj([
      ["entry", obj([["header", b64(r.entry.header)], ["signature", b64(r.entry.signature)], ["items", r.entry.items.map(b64)]])],
      ["author", member(r.author) || undefined],
    ]))],
    ["assembly", b64(input.assembly || Buffer.alloc(0))],
    ["assembly_signature", b64(input.assembly_signature || Buffer.alloc(0))],
    ["assembler", member(input.assembler) || undefined],
    ["stewards", (input.stewards || []).map(member)],
  ]));
}

/** Verifies a bundle as @grpc/proto-loader returns it (e.g. from `getProvenance`); throws VerificationError. */
function verifyBundle(input, { anchor = null } = {}) {
  return verifyRead(fromProtoLoader(input), anchor);
}

// --- command line ------------------------------------------------------------------------------------------------

function parseArgs(argv) {
  const args = { keyIds: [], consortiumId: null, files: [], consortium: null, rosters: [], rosterId: null, timeMs: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--key-id") args.keyIds.push(String(argv[++i] || "").toLowerCase());
    else if (a === "--consortium-id") args.consortiumId = argv[++i];
    else if (a === "--consortium") args.consortium = argv[++i];
    else if (a === "--roster") args.rosters.push(argv[++i]);
    else if (a === "--roster-id") args.rosterId = argv[++i];
    else if (a === "--time-ms") args.timeMs = argv[++i];
    else args.files.push(a);
  }
  return args;
}

function main(argv) {
  const args = parseArgs(argv);
  // A pinned roster id is 64 hex digits, compared without regard to case (section 9.2).
  const badPin = args.rosterId !== null && (!/^[0-9a-fA-F]{64}$/.test(args.rosterId) || !args.rosters.length);
  if (args.files.length !== 1 || (args.consortium && args.rosters.length) || (args.timeMs !== null && !/^[0-9]+$/.test(args.timeMs)) || badPin) {
    process.stderr.write("usage: node verify.js BUNDLE.json|- [--consortium FILE.json | --roster FILE... [--roster-id HEX]] [--time-ms MS] [--key-id HEX]... [--consortium-id ID]\n");
    return 2;
  }
  // Every file is read first: one that cannot be read is a usage error, never a verdict.
  const read = (file) => fs.readFileSync(file === "-" ? 0 : file);
  let input;
  let anchorFiles;
  try {
    anchorFiles = args.consortium ? [read(args.consortium)] : args.rosters.map(read);
    input = read(args.files[0]);
  } catch (err) {
    process.stderr.write(`cannot read ${err.path || args.files[0]}: ${err.message}\n`);
    return 2;
  }
  try {
    // Section 9: the anchor is established first, then the bundle file is read and verified.
    let anchor = null;
    if (args.consortium) anchor = readConsortiumFile(anchorFiles[0]);
    else if (args.rosters.length) {
      const now = args.timeMs === null ? BigInt(Date.now()) : BigInt(args.timeMs);
      anchor = rosterAnchor(anchorFiles.map(readRosterFile), args.rosterId, now);
    }
    const result = verifyRead(readBundleFile(input), anchor);
    // Without an anchor the bundle's own keys prove only "signed by this key id"; pinning says which are trusted.
    if (args.keyIds.length && !args.keyIds.includes(result.key_id)) {
      fail("key.unknown", `signing key ${result.key_id} is not one of the pinned key ids`);
    }
    if (args.consortiumId !== null && result.consortium_id !== args.consortiumId) {
      fail("record.consortium", `bundle is of consortium ${JSON.stringify(result.consortium_id)}, not ${JSON.stringify(args.consortiumId)}`);
    }
    process.stdout.write(JSON.stringify({ ok: true, ...result }) + "\n");
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    if (!(err instanceof VerificationError)) throw err;
    process.stdout.write(JSON.stringify({ ok: false, rule: err.rule, error: err.message }) + "\n");
    return 1;
  }
}

module.exports = {
  verifyBundle, verifyRead, readBundleFile, readConsortiumFile, consortiumAnchor, readRosterFile, rosterAnchor,
  decodeHeader, decodeRecord, rootFromProof, VerificationError, UsageError,
};

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
