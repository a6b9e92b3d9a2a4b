// A small promise-based client of the hashnode HashNode service (protos/hashnode/v1/client.proto).
//
// The .proto files are loaded at run time from the repository (no generated code to drift), with options chosen so
// that signed bytes stay bytes: `bytes` fields are Buffers, 64-bit integers are decimal strings (no precision loss),
// field names keep their proto spelling (record_item, entry_header, ...), as docs/protocol.md names them.
"use strict";

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

function promisify(stub, method, deadlineSeconds) {
  return (request) =>
    new Promise((resolve, reject) => {
      const deadline = new Date(Date.now() + deadlineSeconds * 1000);
      stub[method](request, { deadline }, (err, response) => (err ? reject(err) : resolve(response)));
    });
}

/**
 * A HashNode client for `target` ("host:port").
 *
 * Plaintext by default, for a node on localhost or inside a trusted network; pass `credentials`
 * (grpc.credentials.createSsl(...)) once the node serves TLS.
 *
 * @returns {{submit, match, getProvenance, retract, close}} promise-returning calls taking plain request objects.
 */
function connect(target, { credentials = grpc.credentials.createInsecure(), deadlineSeconds = 30 } = {}) {
  const stub = new (hashnodeV1().HashNode)(target, credentials, {
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  });
  return {
    submit: promisify(stub, "Submit", deadlineSeconds),
    match: promisify(stub, "Match", deadlineSeconds),
    getProvenance: promisify(stub, "GetProvenance", deadlineSeconds),
    retract: promisify(stub, "Retract", deadlineSeconds),
    close: () => stub.close(),
  };
}

module.exports = { connect, hashnodeV1, grpc, PROTO_ROOT };
