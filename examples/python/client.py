#!/usr/bin/env python3
"""VecStore gRPC client example (Python): the guide's snippets, runnable.

Generate the stubs first (from the repository root, see README.md):
    python3 -m grpc_tools.protoc -I./proto --python_out=examples/python --grpc_python_out=examples/python \
        proto/vecstore.proto
Then: python3 examples/python/client.py [host:port]   (default localhost:50051)
"""
import sys

import grpc

from vecstore_pb2 import (CreateNamespaceRequest, GetStatsRequest, MetadataValue, NamespaceQuotas,
                          QueryRequest, QueryStreamRequest, UpsertRequest)
from vecstore_pb2_grpc import VecStoreAdminServiceStub, VecStoreServiceStub

addr = sys.argv[1] if len(sys.argv) > 1 else "localhost:50051"
channel = grpc.insecure_channel(addr)
client = VecStoreServiceStub(channel)
# With --api-key, pass metadata=[("authorization", "Bearer <key>")] (or ("x-api-key", "<key>")) on every call.

# Upsert a vector. Debian 12's protobuf runtime needs MetadataValue(...) where newer ones also take
# the guide's {"string_value": "Hello"} dict.
client.Upsert(UpsertRequest(
    id="doc1",
    vector=[0.1, 0.2, 0.9],
    metadata={"title": MetadataValue(string_value="Hello")}
))

# Query
results = client.Query(QueryRequest(
    vector=[0.15, 0.25, 0.85],
    limit=10
))
for result in results.results:
    print(f"{result.id}: {result.score}")

# Streamed query: one message per result, then a `complete` message with stats.
for msg in client.QueryStream(QueryStreamRequest(vector=[0.15, 0.25, 0.85], limit=10)):
    if msg.complete:
        print("complete:", msg.stats.count, "results in", msg.stats.took_us, "us")
    else:
        print("rank", msg.rank, msg.result.id, msg.result.score)

# Admin: a namespace with quotas (unset quotas are unlimited).
admin_client = VecStoreAdminServiceStub(channel)
try:
    response = admin_client.CreateNamespace(CreateNamespaceRequest(
        id="customer-456",
        name="Customer 456",
        quotas=NamespaceQuotas(
            max_vectors=50000,
            max_storage_bytes=524288000,  # 500MB
            max_requests_per_second=50.0
        )
    ))
    print("created", response.namespace.id)
except grpc.RpcError as e:
    print("CreateNamespace:", e.code().name, e.details())

print(client.GetStats(GetStatsRequest()))
