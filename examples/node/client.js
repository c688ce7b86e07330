// VecStore gRPC client example (Node.js), the guide's snippet made runnable.
// npm install @grpc/grpc-js @grpc/proto-loader ; node examples/node/client.js [host:port]
// (run from the repository root so that 'proto/vecstore.proto' resolves)
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const packageDefinition = protoLoader.loadSync('proto/vecstore.proto');
const vecstore = grpc.loadPackageDefinition(packageDefinition).vecstore;

const client = new vecstore.VecStoreService(
    process.argv[2] || 'localhost:50051',
    grpc.credentials.createInsecure()
);
// With --api-key: const md = new grpc.Metadata(); md.add('authorization', 'Bearer <key>');
// and pass md as the second argument of each call.

client.Upsert({id: 'doc1', vector: [0.1, 0.2, 0.9], metadata: {title: {stringValue: 'Hello'}}}, (err) => {
  if (err) throw err;
  client.Query({vector: [0.15, 0.25, 0.85], limit: 10}, (err2, res) => {
    if (err2) throw err2;
    for (const r of res.results) console.log(`${r.id}: ${r.score}`);
    const stream = client.QueryStream({vector: [0.15, 0.25, 0.85], limit: 10});
    stream.on('data', (m) => console.log(m.complete ? `complete: ${m.stats.count}` : `rank ${m.rank} ${m.result.id}`));
    stream.on('end', () => client.close());
    stream.on('error', (e) => { console.error(e.code, e.details); process.exit(1); });
  });
});
