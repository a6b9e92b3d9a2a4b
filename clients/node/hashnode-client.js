// A small promise-based client of the hashnode HashNode service (protos/hashnode/v1/client.proto).
//
// The .proto files are loaded at run time from the repository (no generated code to drift), with options chosen so
// that signed bytes stay bytes: `bytes` fields are Buffers, 64-bit integers are decimal strings (no precision loss),
// field names keep their proto spelling (record_item, entry_header, ...), as docs/protocol.md names them.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const PROTO_ROOT = path.resolve(__dirname, "../../protos");
const LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: true, // absent scalars read as their zero value, as in every other proto3 runtime
  arrays: true,
  includeDirs: [PROTO_ROOT],
};
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

let loaded = null;

/** The hashnode.v1 package, loaded once from protos/. */
function hashnodeV1() {
  if (loaded === null) {
    const definition = protoLoader.loadSync(["hashnode/v1/client.proto"], LOADER_OPTIONS);
    loaded = grpc.loadPackageDefinition(definition).hashnode.v1;
  }
  return loaded;
}

function promisify(stub, method, deadlineSeconds, metadata) {
  return (request) =>
    new Promise((resolve, reject) => {
      const deadline = new Date(Date.now() + deadlineSeconds * 1000);
      const done = (err, response) => (err ? reject(err) : resolve(response));
      if (metadata) stub[method](request, metadata, { deadline }, done);
      else stub[method](request, { deadline }, done);
    });
}

// Node certificates carry the fixed name `hashnode.peer`, whatever host they run on (node/membership/certificates.py PEER_TLS_NAME); the
// Python CLI asks for it with the same channel option (node/cli/command_base.py).
const NODE_TLS_NAME = "hashnode.peer";

/** The first token of a token file: one per line, `#` comments and blank lines skipped (as the CLI reads it). */
function readToken(file) {
  const text = fs.readFileSync(file, "utf8");
  const tokens = text.split(/\r?\n/).filter((line) => line.trim() && !line.startsWith("#")).map((l) => l.trim());
  if (tokens.length === 0) throw new Error(`token file ${file}: holds no token`);
  return tokens[0];
}

/**
 * Channel credentials for a node's client listener: TLS trusting `ca` (the node's certificate, PEM), with every
 * call carrying `authorization: Bearer <token>`. Plaintext only with `insecure: true` (a loopback development
 * node started with `node.insecure = true`); a token is then still sent if one is given.
 */
function nodeCredentials({ ca, token, insecure = false } = {}) {
  let channel;
  if (insecure) {
    if (ca) throw new Error("connect: `ca` and `insecure: true` exclude each other");
    channel = grpc.credentials.createInsecure();
  } else {
    if (!ca) throw new Error("connect: `ca` (the node's certificate, PEM) is required; pass `insecure: true` for a plaintext development node");
    channel = grpc.credentials.createSsl(Buffer.isBuffer(ca) ? ca : Buffer.from(ca));
  }
  if (!token) return { channel, call: null };
  const call = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    const metadata = new grpc.Metadata();
    metadata.add("authorization", `Bearer ${token}`);
    callback(null, metadata);
  });
  return { channel, call };
}

/**
 * A HashNode client for `target` ("host:port").
 *
 * Over TLS by default: `ca` is the node's certificate (PEM Buffer or string; the node certificate is
 * self-signed and is its own CA), `token` the platform's client bearer token, `targetName` the TLS name asked for
 * (default `hashnode.peer`, as the Python CLI). `insecure: true` gives plaintext, for a loopback development node
 * only. `credentials` (ready-made grpc ChannelCredentials) overrides all of these.
 *
 * @returns {{submit, match, getProvenance, retract, close}} promise-returning calls taking plain request objects.
 */
function connect(
  target,
  { ca, token, targetName = NODE_TLS_NAME, insecure = false, credentials, deadlineSeconds = 30 } = {},
) {
  const options = {
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  };
  let metadata = null;
  if (!credentials) {
    const built = nodeCredentials({ ca, token, insecure });
    if (insecure) {
      // Call credentials need a secure channel in grpc-js; on plaintext the token goes as per-call metadata.
      credentials = built.channel;
      if (token) {
        metadata = new grpc.Metadata();
        metadata.add("authorization", `Bearer ${token}`);
      }
    } else {
      options["grpc.ssl_target_name_override"] = targetName;
      credentials = built.call ? grpc.credentials.combineChannelCredentials(built.channel, built.call) : built.channel;
    }
  }
  const stub = new (hashnodeV1().HashNode)(target, credentials, options);
  const call = (method) => promisify(stub, method, deadlineSeconds, metadata);
  return {
    submit: call("Submit"),
    match: call("Match"),
    getProvenance: call("GetProvenance"),
    retract: call("Retract"),
    close: () => stub.close(),
  };
}

module.exports = { connect, readToken, nodeCredentials, hashnodeV1, grpc, PROTO_ROOT, NODE_TLS_NAME };
