#!/usr/bin/env node
// Runs the conformance suite of provenance bundles (tests/vectors/bundles/manifest.json, docs/protocol.md 9.9)
// through verify.js: one JSON line per case with what verify.js found and whether it is what the manifest
// expects, then a summary line. Exit 0 when every case agrees, 1 otherwise.
//
//   node run-vectors.js ../../tests/vectors/bundles/manifest.json
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { verifyRead, readBundleFile, readConsortiumFile, readRosterFile, rosterAnchor, VerificationError } = require("./verify");

function outcome(dir, c) {
  try {
    let anchor = null;
    if (c.anchor && c.anchor.consortium) anchor = readConsortiumFile(fs.readFileSync(path.join(dir, c.anchor.consortium)));
    else if (c.anchor) {
      const files = c.anchor.roster.map((f) => readRosterFile(fs.readFileSync(path.join(dir, f))));
      anchor = rosterAnchor(files, c.anchor.roster_id, BigInt(c.time_ms));
    }
    const result = verifyRead(readBundleFile(fs.readFileSync(path.join(dir, c.bundle))), anchor);
    const rulings = {};
    const ruling_rules = {};
    for (const e of result.history.filter((x) => x.kind === "decision")) {
      rulings[e.entry_id] = e.ruling.split(":")[0];
      if (e.ruling_rule) ruling_rules[e.entry_id] = e.ruling_rule;
    }
    return { expect: "verified", status: result.status, rulings, ruling_rules };
  } catch (err) {
    if (!(err instanceof VerificationError)) throw err;
    return { expect: "rejected", rule: err.rule, error: err.message };
  }
}

function same(found, c) {
  if (found.expect !== c.expect) return false;
  if (c.expect === "rejected") return found.rule === c.rule;
  const same = (x, y) => JSON.stringify(Object.entries(x).sort()) === JSON.stringify(Object.entries(y).sort());
  return found.status === c.status && same(found.rulings, c.rulings) && same(found.ruling_rules, c.ruling_rules);
}

function main(argv) {
  if (argv.length !== 1) {
    process.stderr.write("usage: node run-vectors.js MANIFEST.json\n");
    return 2;
  }
  const manifest = JSON.parse(fs.readFileSync(argv[0], "utf8"));
  const dir = path.dirname(argv[0]);
  let passed = 0;
  let failed = 0;
  for (const c of manifest.cases) {
    const found = outcome(dir, c);
    const ok = same(found, c);
    if (ok) passed++;
    else failed++;
    process.stdout.write(JSON.stringify({ name: c.name, ok, ...found }) + "\n");
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
