// grpc_node_client.js - the guide's Node.js client (@grpc/grpc-js + @grpc/proto-loader) driven
// against a running server by tests/integration/test_grpc.py.
//
// usage: node grpc_node_client.js <repo>/proto/vecstore.proto <host:port>
// Prints one JSON line {upsert, query, stream, stats} and exits 0, or prints {error} and exits 1.
'use strict';
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [protoPath, addr] = process.argv.slice(2);
const packageDefinition = protoLoader.loadSync(protoPath);
const vecstore = grpc.loadPackageDefinition(packageDefinition).vecstore;

const client = new vecstore.VecStoreService(addr, grpc.credentials.createInsecure());
const deadline = () => ({deadline: new Date(Date.now() + 15000)});

function call(method, req) {
  return new Promise((resolve, reject) => {
    client[method](req, deadline(), (err, res) => (err ? reject(err) : resolve(res)));
  });
}

function stream(req) {
  return new Promise((resolve, reject) => {
    const out = [];
    const s = client.QueryStream(req, deadline());
    s.on('data', (m) => out.push(m));
    s.on('error', reject);
    s.on('end', () => resolve(out));
  });
}

(async () => {
  const up = await call('Upsert', {
    id: 'doc1', vector: [0.1, 0.2, 0.9], metadata: {title: {stringValue: 'Hello'}}, namespace: 'nodens'});
  await call('Upsert', {id: 'doc2', vector: [0.9, 0.2, 0.1], namespace: 'nodens'});
  const res = await call('Query', {vector: [0.15, 0.25, 0.85], limit: 10, namespace: 'nodens'});
  const msgs = await stream({vector: [0.15, 0.25, 0.85], limit: 10, namespace: 'nodens'});
  const stats = await call('GetStats', {namespace: 'nodens'});
  console.log(JSON.stringify({
    upsert: up,
    query: res.results.map((r) => ({id: r.id, score: r.score, metadata: r.metadata})),
    stream: msgs.map((m) => (m.complete ? {complete: true, count: m.stats.count}
                                        : {id: m.result.id, rank: m.rank})),
    stats: {vector_count: Number(stats.vectorCount), dimension: stats.dimension},
  }));
  process.exit(0);
})().catch((err) => {
  console.log(JSON.stringify({error: String(err && err.message), code: err && err.code}));
  process.exit(1);
});
