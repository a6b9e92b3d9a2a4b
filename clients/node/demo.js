#!/usr/bin/env node
// End-to-end demo against a running node: Submit a PDQ and an MD5 hash, Match them back, fetch each record's
// provenance bundle, verify it offline with verify.js, then flip one byte of the signed data and show that
// verification fails.
//
//   node demo.js [HOST:PORT] --ca NODE.crt --token-file CLIENT-TOKEN    (a node serving TLS, the default)
//   node demo.js [HOST:PORT] --insecure                               (a loopback node with node.insecure = true)
//
// HOST:PORT defaults to $HASHNODE_TARGET, else 127.0.0.1:50051; --ca and --token-file to $HASHNODE_CA and
// $HASHNODE_TOKEN_FILE, as for the Python CLI.
//
// Prints one JSON object per line; exits 0 when every step behaves as it should, 1 otherwise.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const { connect, readToken, grpc } = require("./hashnode-client");
const { verifyBundle, VerificationError } = require("./verify");

const LABEL = process.env.HASHNODE_DEMO_LABEL || "tvec.propaganda";
const PDQ_QUALITY = 90;
const NEAR_BITS = 4; // the PDQ query differs from the contributed hash in this many bits

function emit(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

class DemoFailure extends Error {}

function expect(condition, message) {
  if (!condition) throw new DemoFailure(message);
}

// Fresh random hashes, so that the demo's matches are its own even on a node holding other data.
function demoRecords() {
  const pdq = crypto.randomBytes(32);
  const md5 = crypto.createHash("md5").update(crypto.randomBytes(64)).digest();
  const reference = `node-demo-${Date.now()}`;
  const common = { labels: [LABEL], tags: ["demo"], reference, source: "clients/node demo" };
  return [
    { signal_type: "pdq", value: pdq.toString("hex"), quality: PDQ_QUALITY, ...common },
    { signal_type: "md5", value: md5.toString("hex"), quality: 0, ...common },
  ];
}

function flipBits(hex, count) {
  const bytes = Buffer.from(hex, "hex");
  for (let i = 0; i < count; i++) bytes[i] ^= 0x01;
  return bytes.toString("hex");
}

async function submitAndMatch(client, records) {
  const submitted = await client.submit({ records });
  expect(submitted.record_ids.length === records.length, `Submit returned ${submitted.record_ids.length} ids`);
  emit({ step: "submit", entry_id: submitted.entry_id, seq: submitted.seq, record_ids: submitted.record_ids });

  const queries = [
    { signal_type: "pdq", value: flipBits(records[0].value, NEAR_BITS), content_ref: "upload-1" },
    { signal_type: "md5", value: records[1].value, content_ref: "upload-2" },
  ];
  const matched = await client.match({ queries });
  const wantDistance = [NEAR_BITS, 0];
  matched.results.forEach((result, i) => {
    const hit = result.matches.find((m) => m.provenance_ref === submitted.record_ids[i]);
    expect(hit, `query ${i} (${queries[i].signal_type}) did not match the submitted record`);
    expect(hit.distance === wantDistance[i], `query ${i}: distance ${hit.distance}, want ${wantDistance[i]}`);
    emit({ step: "match", query: i, signal_type: queries[i].signal_type, record_id: hit.provenance_ref,
           distance: hit.distance, matches: result.matches.length });
  });
  return submitted;
}

async function verifyProvenance(client, submitted, records) {
  const bundles = [];
  for (const [i, recordId] of submitted.record_ids.entries()) {
    const bundle = await client.getProvenance({ record_id: recordId });
    const verified = verifyBundle(bundle);
    expect(verified.record_id === recordId, "verified record id differs from the submitted one");
    expect(verified.entry_id === submitted.entry_id, "verified entry id differs from Submit's");
    expect(verified.record.value === records[i].value, "verified record value differs from the submitted one");
    emit({ step: "verify", ok: true, record_id: recordId, author: verified.author, key_id: verified.key_id,
           contributed_at_ms: verified.contributed_at_ms, record: verified.record, status: verified.status });
    bundles.push(bundle);
  }
  return bundles;
}

// Each tampered copy must be refused; which check refuses it is printed.
function tamper(bundle) {
  const cases = [
    ["record_item", 10], // inside the hash value
    ["entry_header", bundle.entry_header.length - 1], // last byte of the body root
    ["entry_signature", 0],
  ];
  for (const [field, offset] of cases) {
    const copy = { ...bundle, [field]: Buffer.from(bundle[field]) };
    copy[field][offset] ^= 0x01;
    try {
      verifyBundle(copy);
    } catch (err) {
      if (!(err instanceof VerificationError)) throw err;
      emit({ step: "tamper", field, offset, rejected: true, error: err.message });
      continue;
    }
    throw new DemoFailure(`a bundle with a flipped byte in ${field} verified`);
  }
}

function parseArgs(argv) {
  const args = { target: null, ca: process.env.HASHNODE_CA || null, tokenFile: process.env.HASHNODE_TOKEN_FILE || null,
                 insecure: false };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      if (i + 1 >= argv.length) throw new DemoFailure(`${argv[i]} needs a value`);
      return argv[++i];
    };
    if (argv[i] === "--ca") args.ca = value();
    else if (argv[i] === "--token-file") args.tokenFile = value();
    else if (argv[i] === "--insecure") args.insecure = true;
    else if (argv[i].startsWith("--")) throw new DemoFailure(`unknown option ${argv[i]}`);
    else args.target = argv[i];
  }
  args.target = args.target || process.env.HASHNODE_TARGET || "127.0.0.1:50051";
  if (args.insecure) args.ca = null; // explicit plaintext wins over $HASHNODE_CA
  else if (!args.ca) throw new DemoFailure("--ca NODE.crt is required (or --insecure for a plaintext loopback node)");
  return args;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof DemoFailure)) throw err;
    process.stderr.write(`usage: node demo.js [HOST:PORT] (--ca NODE.crt --token-file FILE | --insecure): ${err.message}\n`);
    return 2;
  }
  const { target } = args;
  emit({ step: "connect", target, tls: !args.insecure });
  const client = connect(target, {
    insecure: args.insecure,
    ca: args.ca && fs.readFileSync(args.ca),
    token: args.tokenFile ? readToken(args.tokenFile) : undefined,
  });
  try {
    const records = demoRecords();
    const submitted = await submitAndMatch(client, records);
    const bundles = await verifyProvenance(client, submitted, records);
    tamper(bundles[0]);
    emit({ step: "done", ok: true });
    return 0;
  } catch (err) {
    const code = typeof err.code === "number" ? Object.keys(grpc.status).find((k) => grpc.status[k] === err.code) : null;
    emit({ step: "failed", ok: false, error: code ? `${code}: ${err.details}` : err.message });
    if (!(err instanceof DemoFailure) && !(err instanceof VerificationError) && code === null) throw err;
    return 1;
  } finally {
    client.close();
  }
}

main().then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`${err.stack || err}\n`); process.exitCode = 1; },
);
