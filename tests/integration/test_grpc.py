#!/usr/bin/env python3
"""The gRPC API (SPEC section 4) against the real vecstore-server, with real clients.

Stubs are generated at test time from proto/vecstore.proto with `protoc` + `grpc_python_plugin`
(Debian's protobuf-compiler-grpc) into a temp dir. Pins: every VecStoreService and
VecStoreAdminService RPC (API keys included) with HTTP as the reference; every MetadataValue kind
across protocols; proto3 defaults (limit, include_metadata); QueryStream (one message per result,
then `complete`) and an early client cancel that frees the concurrency slot; every status code of
SPEC 4's table with the HTTP message; keys in `authorization` / `x-api-key` metadata;
grpc.health.v1 Check and Watch; reflection v1alpha and v1 (raw client); UNIMPLEMENTED for unknown
methods; usage counters per call; 8 concurrent client threads; the guide's Python snippets (with
MetadataValue(string_value=...), SPEC 4) and its Node.js client (@grpc/grpc-js from
<repo>/.cache/node, SKIPPED with a reason when node is absent).

Run: python3 tests/integration/test_grpc.py [-v] [--keep] [name-substring ...]
(binary: $VECSTORE_SERVER, else build/vecstore-server).
"""

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
sys.dont_write_bytecode = True

import harness as h  # noqa: E402
from harness import expect, expect_eq, fail, skip, short  # noqa: E402

import grpc  # noqa: E402

PROTO_DIR = os.path.join(h.REPO, "proto")
_STUBS = {}


def stubs():
    """(pb2, pb2_grpc) generated once per run into a temp dir."""
    if "pb2" in _STUBS:
        return _STUBS["pb2"], _STUBS["pb2_grpc"]
    protoc, plugin = shutil.which("protoc"), shutil.which("grpc_python_plugin")
    expect(protoc and plugin, "protoc and grpc_python_plugin are needed (apt-get install -y "
                              "protobuf-compiler protobuf-compiler-grpc)")
    out = tempfile.mkdtemp(prefix="vs-grpc-stubs-")
    p = subprocess.run([protoc, "-I" + PROTO_DIR, "--python_out=" + out, "--grpc_out=" + out,
                        "--plugin=protoc-gen-grpc=" + plugin, os.path.join(PROTO_DIR, "vecstore.proto")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    expect(p.returncode == 0, "protoc failed: %s" % p.stderr.decode())
    sys.path.insert(0, out)
    import vecstore_pb2
    import vecstore_pb2_grpc
    _STUBS.update(pb2=vecstore_pb2, pb2_grpc=vecstore_pb2_grpc, dir=out)
    return vecstore_pb2, vecstore_pb2_grpc


class G:
    """A server plus channel and both stubs."""

    def __init__(self, t, args=()):
        self.pb, pbg = stubs()
        self.srv = t.start(args=list(args))
        self.addr = "127.0.0.1:%d" % self.srv.grpc_port
        self.ch = grpc.insecure_channel(self.addr)
        grpc.channel_ready_future(self.ch).result(timeout=15)
        self.c = pbg.VecStoreServiceStub(self.ch)
        self.a = pbg.VecStoreAdminServiceStub(self.ch)

    def err(self, fn, req, metadata=None):
        """Calls expecting an error: -> (code name, details)."""
        try:
            r = fn(req, timeout=30, metadata=metadata)
        except grpc.RpcError as e:
            return e.code().name, e.details()
        fail("call succeeded, expected an error: %s" % short(str(r)))

    def mv(self, v):
        """A Python value -> MetadataValue."""
        pb = self.pb
        if v is None:
            return pb.MetadataValue(null_value=pb.NULL_VALUE)
        if isinstance(v, bool):
            return pb.MetadataValue(bool_value=v)
        if isinstance(v, (int, float)):
            return pb.MetadataValue(number_value=float(v))
        if isinstance(v, str):
            return pb.MetadataValue(string_value=v)
        if isinstance(v, list):
            return pb.MetadataValue(list_value=pb.ListValue(values=[self.mv(x) for x in v]))
        return pb.MetadataValue(struct_value=pb.StructValue(fields={k: self.mv(x) for k, x in v.items()}))

    def meta(self, d):
        return {k: self.mv(v) for k, v in d.items()}


def py(m):
    """MetadataValue (or a map of them) -> Python value."""
    if hasattr(m, "items"):
        return {k: py(v) for k, v in m.items()}
    kind = m.WhichOneof("kind")
    if kind in (None, "null_value"):
        return None
    if kind == "list_value":
        return [py(x) for x in m.list_value.values]
    if kind == "struct_value":
        return {k: py(v) for k, v in m.struct_value.fields.items()}
    return getattr(m, kind)


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def close(a, b, what, tol=1e-5):
    expect(abs(a - b) <= tol * max(1.0, abs(b)), "%s: expected %r, got %r" % (what, b, a))


def usage(srv, ns):
    j = srv.get("/admin/namespaces/%s/stats" % ns).expect(200).json()
    return tuple(j[k] for k in ("total_requests", "total_upserts", "total_queries", "total_deletes"))


# ----------------------------------------------------------------------------------- records

def test_upsert_get_metadata_kinds(t):
    g = G(t)
    pb = g.pb
    meta = {"s": "text \u2713", "n": 2.5, "b": True, "l": ["a", 2.0, None, [1.0]],
            "o": {"k": "v", "deep": {"x": False}}, "z": None}
    r = g.c.Upsert(pb.UpsertRequest(id="kinds", vector=[0.1, 0.2, 0.3], metadata=g.meta(meta)), timeout=30)
    expect_eq((r.id, r.upserted), ("kinds", True), "UpsertResponse")
    j = g.srv.get("/v1/vectors/kinds").expect(200).json()
    expect_eq(j["metadata"], meta, "metadata written over gRPC, read over HTTP")
    g.srv.upsert("fromhttp", [0.3, 0.2, 0.1], meta)
    got = g.c.Get(pb.GetRequest(id="fromhttp"), timeout=30)
    expect_eq(py(got.metadata), meta, "metadata written over HTTP, read over gRPC")
    expect_eq([round(x, 6) for x in got.vector], [0.3, 0.2, 0.1], "Get vector")
    expect_eq(got.state, "live", "Get state")
    q = g.c.Query(pb.QueryRequest(vector=[0.3, 0.2, 0.1], limit=1), timeout=30)
    expect_eq(py(q.results[0].metadata), meta, "metadata in a QueryResult (include_metadata unset = true)")
    q = g.c.Query(pb.QueryRequest(vector=[0.3, 0.2, 0.1], limit=1, include_metadata=False,
                                  include_vector=True), timeout=30)
    expect_eq(len(q.results[0].metadata), 0, "include_metadata=false")
    expect_eq([round(x, 6) for x in q.results[0].vector], [0.3, 0.2, 0.1], "include_vector=true")
    # a repeated map key on the wire: the last wins (protobuf's rule)
    raw = pb.UpsertRequest(id="dup", vector=[0.1, 0.1, 0.1]).SerializeToString()
    for val in ("first", "last"):
        raw += pb.UpsertRequest(metadata={"k": pb.MetadataValue(string_value=val)}).SerializeToString()
    g.c.Upsert(pb.UpsertRequest.FromString(raw), timeout=30)
    expect_eq(g.srv.get("/v1/vectors/dup").expect(200).json()["metadata"], {"k": "last"}, "repeated key")


def test_query_order_scores_stats(t):
    g = G(t)
    pb = g.pb
    vecs = {"g%02d" % i: [math.sin(i + 1), math.cos(i * 0.7), (i % 5) / 5.0 + 0.1, 0.3] for i in range(30)}
    g.c.BatchUpsert(pb.BatchUpsertRequest(records=[pb.Record(id=k, vector=v, metadata=g.meta({"i": int(k[1:])}))
                                                   for k, v in vecs.items()]), timeout=30)
    q = [0.2, 0.9, 0.4, 0.3]
    resp = g.c.Query(pb.QueryRequest(vector=q, limit=5), timeout=30)
    want = sorted(vecs, key=lambda k: (-cosine(q, vecs[k]), k))[:5]
    expect_eq([r.id for r in resp.results], want, "Query ids")
    for r in resp.results:
        close(r.score, cosine(q, vecs[r.id]), "score of %s" % r.id)
    expect(resp.HasField("stats") and resp.stats.plan != "", "QueryResponse.stats set: %s" % resp.stats)
    expect_eq(resp.stats.count, 5, "stats.count")
    expect_eq(len(g.c.Query(pb.QueryRequest(vector=q), timeout=30).results), 10, "limit 0 = default 10")
    http = g.srv.post("/v1/query", {"vector": q, "limit": 7, "filter": "i >= 10"}).expect(200).json()
    resp = g.c.Query(pb.QueryRequest(vector=q, limit=7, filter="i >= 10"), timeout=30)
    expect_eq([r.id for r in resp.results], [x["id"] for x in http["results"]], "filtered Query vs HTTP")


def test_batch_delete_soft_restore_compact_stats(t):
    g = G(t)
    pb = g.pb
    r = g.c.BatchUpsert(pb.BatchUpsertRequest(records=[pb.Record(id="b%d" % i, vector=[1.0, float(i), 0.5])
                                                       for i in range(6)]), timeout=30)
    expect_eq(r.upserted, 6, "BatchUpsertResponse.upserted")
    r = g.c.SoftDelete(pb.SoftDeleteRequest(id="b1"), timeout=30)
    expect_eq((r.id, r.soft_deleted), ("b1", True), "SoftDeleteResponse")
    expect_eq(g.c.Get(pb.GetRequest(id="b1"), timeout=30).state, "soft_deleted", "Get of a soft-deleted id")
    r = g.c.Delete(pb.DeleteRequest(id="b2"), timeout=30)
    expect_eq((r.id, r.deleted), ("b2", True), "DeleteResponse")
    ids = [x.id for x in g.c.Query(pb.QueryRequest(vector=[1.0, 1.0, 0.5], limit=10), timeout=30).results]
    expect("b1" not in ids and "b2" not in ids, "deleted ids in Query: %s" % ids)
    st = g.c.GetStats(pb.GetStatsRequest(), timeout=30)
    expect_eq((st.namespace, st.dimension, st.metric, st.active_count, st.deleted_count, st.vector_count),
              ("default", 3, "cosine", 4, 1, 5), "GetStats")
    j = g.srv.get("/v1/stats").expect(200).json()
    expect_eq((st.reclaimable_bytes, st.index.type), (j["reclaimable_bytes"], "hnsw"), "GetStats vs HTTP")
    r = g.c.Restore(pb.RestoreRequest(id="b1"), timeout=30)
    expect_eq((r.id, r.restored), ("b1", True), "RestoreResponse")
    expect_eq(g.c.Compact(pb.CompactRequest(), timeout=30).removed, 1, "Compact.removed (the deleted b2)")
    st = g.c.GetStats(pb.GetStatsRequest(), timeout=30)
    expect_eq((st.active_count, st.deleted_count, st.reclaimable_bytes), (5, 0, 0), "after Restore + Compact")
    expect_eq(g.err(g.c.Get, pb.GetRequest(id="b2"))[0], "NOT_FOUND", "Get of a deleted id")


def test_hybrid_query_matches_http(t):
    g = G(t)
    pb = g.pb
    docs = [("h1", [1.0, 0.0, 0.2], "machine learning basics"), ("h2", [0.9, 0.1, 0.0], "cooking pasta"),
            ("h3", [0.0, 1.0, 0.3], "deep learning for vision"), ("h4", [0.5, 0.5, 0.5], "learning to cook")]
    for i, v, text in docs:
        g.srv.upsert(i, v, {"text": text})
    body = {"vector": [1.0, 0.2, 0.1], "text_query": "learning", "limit": 4, "alpha": 0.3}
    http = g.srv.post("/v1/hybrid-query", body).expect(200).json()["results"]
    resp = g.c.HybridQuery(pb.HybridQueryRequest(vector=body["vector"], text_query="learning", limit=4,
                                                 alpha=0.3), timeout=30)
    expect_eq([r.id for r in resp.results], [x["id"] for x in http], "HybridQuery ids vs HTTP")
    for r, x in zip(resp.results, http):
        close(r.score, x["score"], "hybrid score of %s" % r.id)
        close(r.text_score, x["text_score"], "text_score of %s" % r.id)
    # alpha = 0 is pure text search: presence of the oneof, not the proto3 default 0
    zero = g.c.HybridQuery(pb.HybridQueryRequest(vector=body["vector"], text_query="learning", limit=4,
                                                 alpha=0.0), timeout=30)
    hz = g.srv.post("/v1/hybrid-query", dict(body, alpha=0.0)).expect(200).json()["results"]
    expect_eq([r.id for r in zero.results], [x["id"] for x in hz], "alpha=0 vs HTTP")


# ----------------------------------------------------------------------------------- streaming

def test_query_stream(t):
    g = G(t)
    pb = g.pb
    for i in range(40):
        g.srv.upsert("q%02d" % i, [math.sin(i), math.cos(i), 0.5, (i % 7) / 7.0])
    q = [0.3, 0.8, 0.5, 0.2]
    msgs = list(g.c.QueryStream(pb.QueryStreamRequest(vector=q, limit=15), timeout=30))
    want = [r.id for r in g.c.Query(pb.QueryRequest(vector=q, limit=15), timeout=30).results]
    expect_eq(len(msgs), 16, "15 result messages + 1 complete")
    expect_eq([m.result.id for m in msgs[:15]], want, "QueryStream ids vs Query")
    expect_eq([m.rank for m in msgs[:15]], list(range(1, 16)), "ranks")
    expect(msgs[15].complete and msgs[15].stats.count == 15 and not msgs[15].HasField("result"),
           "final message: %s" % msgs[15])
    # hybrid when text_query is set
    g.srv.upsert("txt", [0.0, 0.0, 1.0, 0.0], {"t": "needle"})
    hm = list(g.c.QueryStream(pb.QueryStreamRequest(vector=q, limit=3, text_query="needle", alpha=0.0),
                              timeout=30))
    expect_eq(hm[0].result.id, "txt", "hybrid stream (alpha 0) puts the text match first")
    # errors arrive as the stream's status
    try:
        list(g.c.QueryStream(pb.QueryStreamRequest(vector=[0.1, 0.2]), timeout=30))
        fail("QueryStream with a wrong dimension succeeded")
    except grpc.RpcError as e:
        expect_eq(e.code().name, "INVALID_ARGUMENT", "QueryStream dimension mismatch")


def test_query_stream_early_cancel(t):
    g = G(t)
    pb = g.pb
    g.srv.post("/admin/namespaces", {"id": "one", "quotas": {"max_concurrent_queries": 1}}).expect(201)
    recs = [pb.Record(id="c%04d" % i, vector=[math.sin(i), math.cos(i), 1.0]) for i in range(2000)]
    g.c.BatchUpsert(pb.BatchUpsertRequest(records=recs, namespace="one"), timeout=60)
    for round_ in range(3):
        it = g.c.QueryStream(pb.QueryStreamRequest(vector=[0.1, 0.9, 1.0], limit=2000, namespace="one"), timeout=60)
        first = [next(it) for _ in range(3)]
        expect_eq([m.rank for m in first], [1, 2, 3], "first ranks")
        it.cancel()
        # the cancelled stream must give its concurrency slot back: a query gets through
        # (polling for the server to see the cancel; the bound only stops a hang)
        def ok():
            try:
                g.c.Query(pb.QueryRequest(vector=[0.1, 0.9, 1.0], limit=1, namespace="one"), timeout=10)
                return True
            except grpc.RpcError as e:
                expect_eq(e.code().name, "RESOURCE_EXHAUSTED", "while the stream ends")
                return False
        expect(h.wait_until(ok, timeout=20), "round %d: concurrency slot not released after cancel" % round_)
    expect(g.srv.alive(), "server died")


# ----------------------------------------------------------------------------------- errors

def test_error_codes_and_messages(t):
    g = G(t)
    pb = g.pb
    g.c.Upsert(pb.UpsertRequest(id="a", vector=[0.1, 0.2, 0.3]), timeout=30)
    cases = [
        ("dimension mismatch", g.c.Upsert, pb.UpsertRequest(id="b", vector=[0.1, 0.2]), "INVALID_ARGUMENT",
         "/v1/upsert", {"id": "b", "vector": [0.1, 0.2]}),
        ("NaN", g.c.Upsert, pb.UpsertRequest(id="n", vector=[float("nan"), 0.2, 0.3]), "INVALID_ARGUMENT",
         None, None),
        ("empty id", g.c.Upsert, pb.UpsertRequest(id="", vector=[0.1, 0.2, 0.3]), "INVALID_ARGUMENT",
         "/v1/upsert", {"id": "", "vector": [0.1, 0.2, 0.3]}),
        ("missing vector", g.c.Query, pb.QueryRequest(limit=3), "INVALID_ARGUMENT",
         "/v1/query", {"limit": 3}),
        ("bad filter", g.c.Query, pb.QueryRequest(vector=[0.1, 0.2, 0.3], filter="category = AND year = 1"),
         "INVALID_ARGUMENT", "/v1/query", {"vector": [0.1, 0.2, 0.3], "filter": "category = AND year = 1"}),
        ("unknown id", g.c.Get, pb.GetRequest(id="nope"), "NOT_FOUND", None, None),
        ("unknown namespace", g.c.Query, pb.QueryRequest(vector=[0.1, 0.2], namespace="zz"), "NOT_FOUND",
         "/v1/query", {"vector": [0.1, 0.2], "namespace": "zz"}),
        ("delete unknown id", g.c.Delete, pb.DeleteRequest(id="nope"), "NOT_FOUND", None, None),
    ]
    for label, fn, req, code, path, body in cases:
        c, det = g.err(fn, req)
        expect_eq(c, code, label)
        if path:
            expect_eq(det, g.srv.post(path, body).json()["error"], label + ": details vs HTTP error")
    c, det = g.err(g.c.Query, pb.QueryRequest(vector=[0.1, 0.2, 0.3], filter="category = AND year = 1"))
    expect_eq(det, "Invalid filter: expected a value after '=' at column 12", "filter message")
    expect_eq(g.err(g.c.Query, pb.QueryRequest(vector=[0.1, 0.2], namespace="zz")),
              ("NOT_FOUND", "Namespace 'zz' not found"), "unknown namespace")
    # admin errors
    g.a.CreateNamespace(pb.CreateNamespaceRequest(id="dup"), timeout=30)
    expect_eq(g.err(g.a.CreateNamespace, pb.CreateNamespaceRequest(id="dup"))[0], "ALREADY_EXISTS", "dup")
    expect_eq(g.err(g.a.DeleteNamespace, pb.DeleteNamespaceRequest(namespace_id="default"))[0],
              "INVALID_ARGUMENT", "DeleteNamespace default")
    expect_eq(g.err(g.a.GetNamespace, pb.GetNamespaceRequest(namespace_id="nope"))[0], "NOT_FOUND", "Get ns")
    # statuses
    g.srv.post("/admin/namespaces", {"id": "ro"}).expect(201)
    g.c.Upsert(pb.UpsertRequest(id="x", vector=[0.1, 0.2], namespace="ro"), timeout=30)
    g.a.UpdateNamespaceStatus(pb.UpdateNamespaceStatusRequest(namespace_id="ro", status="read_only"), timeout=30)
    expect_eq(g.err(g.c.Upsert, pb.UpsertRequest(id="y", vector=[0.1, 0.2], namespace="ro")),
              ("PERMISSION_DENIED", "Namespace 'ro' is read_only: writes are rejected"), "read_only")
    g.c.Query(pb.QueryRequest(vector=[0.1, 0.2], namespace="ro"), timeout=30)
    g.a.UpdateNamespaceStatus(pb.UpdateNamespaceStatusRequest(namespace_id="ro", status="suspended"), timeout=30)
    expect_eq(g.err(g.c.Query, pb.QueryRequest(vector=[0.1, 0.2], namespace="ro"))[0], "PERMISSION_DENIED",
              "suspended")
    # quotas (static ones too) and the rate limit
    g.srv.post("/admin/namespaces", {"id": "q", "quotas": {"max_vectors": 1, "max_batch_size": 2,
                                                           "max_results_per_query": 3}}).expect(201)
    g.c.Upsert(pb.UpsertRequest(id="one", vector=[0.1, 0.2], namespace="q"), timeout=30)
    expect_eq(g.err(g.c.Upsert, pb.UpsertRequest(id="two", vector=[0.2, 0.1], namespace="q")),
              ("RESOURCE_EXHAUSTED", "Vector quota exceeded: 1 / 1 vectors"), "vector quota")
    expect_eq(g.err(g.c.BatchUpsert, pb.BatchUpsertRequest(records=[pb.Record(id="r%d" % i, vector=[0.1, 0.2])
                                                                    for i in range(3)], namespace="q")),
              ("RESOURCE_EXHAUSTED", "Batch of 3 records exceeds the namespace limit of 2"), "batch quota")
    expect_eq(g.err(g.c.Query, pb.QueryRequest(vector=[0.1, 0.2], limit=4, namespace="q")),
              ("RESOURCE_EXHAUSTED", "limit 4 exceeds the namespace limit of 3 results"), "results quota")
    g.srv.post("/admin/namespaces", {"id": "rl", "quotas": {"max_requests_per_second": 2}}).expect(201)
    errs = []
    for _ in range(6):
        try:
            g.c.GetStats(pb.GetStatsRequest(namespace="rl"), timeout=30)
        except grpc.RpcError as e:
            errs.append((e.code().name, e.details()))
    expect(errs and errs[0] == ("RESOURCE_EXHAUSTED", "Rate limit exceeded: 2 requests/second"),
           "6 calls at 2/s burst 2: %s" % errs)
    # unknown method
    fn = g.ch.unary_unary("/vecstore.VecStoreService/Nope", request_serializer=lambda b: b,
                          response_deserializer=lambda b: b)
    expect_eq(g.err(fn, b"")[0], "UNIMPLEMENTED", "unknown method")
    # malformed message: 400 after admission, counted against its namespace
    raw = g.ch.unary_unary("/vecstore.VecStoreService/Upsert", request_serializer=lambda b: b,
                           response_deserializer=lambda b: b)
    before = usage(g.srv, "q")
    expect_eq(g.err(raw, b"\x22\x01q\x0a\xff\xff")[0], "INVALID_ARGUMENT", "malformed message")
    expect_eq(usage(g.srv, "q")[0] - before[0], 1, "malformed message counted as a request of its namespace")


def test_message_size_limit(t):
    g = G(t, ["--max-body-bytes", "4096"])
    pb = g.pb
    g.c.Upsert(pb.UpsertRequest(id="small", vector=[0.1, 0.2]), timeout=30)
    big = pb.UpsertRequest(id="big", vector=[0.1, 0.2], metadata={"pad": pb.MetadataValue(string_value="x" * 20000)})
    expect_eq(g.err(g.c.Upsert, big)[0], "RESOURCE_EXHAUSTED", "20 KB message over --max-body-bytes 4096")
    # SPEC 11: the namespace check comes before the size check
    big.namespace = "nope"
    expect_eq(g.err(g.c.Upsert, big)[0], "NOT_FOUND", "oversized message to an unknown namespace")
    g.c.Upsert(pb.UpsertRequest(id="small2", vector=[0.2, 0.1]), timeout=30)


def test_api_keys(t):
    g = G(t, ["--api-key", "adminkey"])
    pb = g.pb
    adm = [("authorization", "Bearer adminkey")]
    for label, fn, req, md in (
            ("Query without a key", g.c.Query, pb.QueryRequest(vector=[0.1, 0.2]), None),
            ("wrong key", g.c.Upsert, pb.UpsertRequest(id="x", vector=[0.1, 0.2]), [("authorization", "Bearer no")]),
            ("unknown namespace without a key", g.c.Query, pb.QueryRequest(vector=[0.1], namespace="nope"), None),
            ("NaN without a key", g.c.Upsert, pb.UpsertRequest(id="n", vector=[float("nan")]), None),
            ("admin without a key", g.a.ListNamespaces, pb.ListNamespacesRequest(), None)):
        expect_eq(g.err(fn, req, metadata=md)[0], "UNAUTHENTICATED", label)
    g.c.Upsert(pb.UpsertRequest(id="a", vector=[0.1, 0.2]), timeout=30, metadata=adm)
    r = g.c.Query(pb.QueryRequest(vector=[0.1, 0.2]), timeout=30, metadata=[("x-api-key", "adminkey")])
    expect_eq([x.id for x in r.results], ["a"], "x-api-key")
    expect_eq(g.c.HealthCheck(pb.HealthCheckRequest(), timeout=30).status, pb.HealthCheckResponse.SERVING,
              "HealthCheck without a key")
    expect_eq(health_check(g.ch), 1, "grpc.health.v1 without a key")
    # per-namespace keys
    g.a.CreateNamespace(pb.CreateNamespaceRequest(id="t1"), timeout=30, metadata=adm)
    g.a.CreateNamespace(pb.CreateNamespaceRequest(id="t2"), timeout=30, metadata=adm)
    k = g.a.CreateApiKey(pb.CreateApiKeyRequest(namespace_id="t1"), timeout=30, metadata=adm)
    expect(k.key and k.key_id and k.namespace == "t1" and k.created_at > 0, "CreateApiKeyResponse: %s" % k)
    nk = [("x-api-key", k.key)]
    g.c.Upsert(pb.UpsertRequest(id="own", vector=[0.1, 0.2], namespace="t1"), timeout=30, metadata=nk)
    expect_eq(g.err(g.c.Upsert, pb.UpsertRequest(id="x", vector=[0.1, 0.2], namespace="t2"), metadata=nk)[0],
              "PERMISSION_DENIED", "namespace key on another namespace")
    expect_eq(g.err(g.a.ListNamespaces, pb.ListNamespacesRequest(), metadata=nk)[0], "PERMISSION_DENIED",
              "namespace key on the admin API")
    lst = g.a.ListApiKeys(pb.ListApiKeysRequest(namespace_id="t1"), timeout=30, metadata=adm)
    expect_eq([(x.key_id, x.namespace) for x in lst.keys], [(k.key_id, "t1")], "ListApiKeys")
    r = g.a.RevokeApiKey(pb.RevokeApiKeyRequest(namespace_id="t1", key_id=k.key_id), timeout=30, metadata=adm)
    expect_eq((r.key_id, r.revoked), (k.key_id, True), "RevokeApiKeyResponse")
    expect_eq(g.err(g.c.Query, pb.QueryRequest(vector=[0.1, 0.2], namespace="t1"), metadata=nk)[0],
              "UNAUTHENTICATED", "revoked key")


# ----------------------------------------------------------------------------------- admin

def test_admin_rpcs(t):
    g = G(t)
    pb = g.pb
    r = g.a.CreateNamespace(pb.CreateNamespaceRequest(
        id="customer-456", name="Customer 456",
        quotas=pb.NamespaceQuotas(max_vectors=50000, max_storage_bytes=524288000, max_requests_per_second=50.0)),
        timeout=30)
    n = r.namespace
    expect_eq((n.id, n.name, n.status, n.quotas.max_vectors, n.quotas.max_requests_per_second),
              ("customer-456", "Customer 456", "active", 50000, 50.0), "CreateNamespace answer")
    expect(not n.quotas.HasField("max_batch_size"), "unset quota comes back unset (unlimited)")
    j = g.srv.get("/admin/namespaces/customer-456").expect(200).json()
    expect_eq(j["quotas"], {"max_vectors": 50000, "max_storage_bytes": 524288000, "max_requests_per_second": 50.0,
                            "max_concurrent_queries": None, "max_dimension": None, "max_results_per_query": None,
                            "max_batch_size": None}, "quotas over HTTP")
    g.a.CreateNamespace(pb.CreateNamespaceRequest(id="tiered", tier="free", dimension=4, metric="l2"), timeout=30)
    got = g.a.GetNamespace(pb.GetNamespaceRequest(namespace_id="tiered"), timeout=30).namespace
    expect_eq((got.dimension, got.metric, got.quotas.max_vectors, got.quotas.max_batch_size), (4, "l2", 10000, 100),
              "tier free, dimension, metric")
    ids = [x.id for x in g.a.ListNamespaces(pb.ListNamespacesRequest(), timeout=30).namespaces]
    expect_eq(sorted(ids), ["customer-456", "default", "tiered"], "ListNamespaces")
    # merge: only the quotas set change
    u = g.a.UpdateNamespaceQuotas(pb.UpdateNamespaceQuotasRequest(
        namespace_id="customer-456", quotas=pb.NamespaceQuotas(max_vectors=7)), timeout=30).namespace
    expect_eq((u.quotas.max_vectors, u.quotas.max_storage_bytes), (7, 524288000), "merge update")
    # replace: unset quotas become unlimited
    u = g.a.UpdateNamespaceQuotas(pb.UpdateNamespaceQuotasRequest(
        namespace_id="customer-456", quotas=pb.NamespaceQuotas(max_dimension=8), replace=True), timeout=30).namespace
    expect_eq((u.quotas.HasField("max_vectors"), u.quotas.max_dimension), (False, 8), "replace update")
    s = g.a.UpdateNamespaceStatus(pb.UpdateNamespaceStatusRequest(namespace_id="tiered", status="suspended"),
                                  timeout=30).namespace
    expect_eq(s.status, "suspended", "UpdateNamespaceStatus")
    expect_eq(g.err(g.a.UpdateNamespaceStatus, pb.UpdateNamespaceStatusRequest(namespace_id="tiered",
                                                                              status="bogus"))[0],
              "INVALID_ARGUMENT", "invalid status")
    g.c.Upsert(pb.UpsertRequest(id="x", vector=[0.1, 0.2], namespace="customer-456"), timeout=30)
    st = g.a.GetNamespaceStats(pb.GetNamespaceStatsRequest(namespace_id="customer-456"), timeout=30)
    hj = g.srv.get("/admin/namespaces/customer-456/stats").expect(200).json()
    for k in ("namespace_id", "vector_count", "active_count", "deleted_count", "dimension", "total_upserts",
              "status"):
        expect_eq(getattr(st, k), hj[k], "GetNamespaceStats.%s vs HTTP" % k)
    agg = g.a.GetAggregateStats(pb.GetAggregateStatsRequest(), timeout=30)
    aj = g.srv.get("/admin/stats").expect(200).json()
    expect_eq((agg.total_namespaces, agg.active_namespaces, agg.total_vectors),
              (aj["total_namespaces"], aj["active_namespaces"], aj["total_vectors"]), "GetAggregateStats vs HTTP")
    d = g.a.DeleteNamespace(pb.DeleteNamespaceRequest(namespace_id="customer-456"), timeout=30)
    expect_eq((d.id, d.deleted), ("customer-456", True), "DeleteNamespaceResponse")
    g.srv.get("/admin/namespaces/customer-456").expect(404)


def test_usage_counters_per_call(t):
    g = G(t)
    pb = g.pb
    g.srv.post("/admin/namespaces", {"id": "gu"}).expect(201)
    g.srv.upsert("seed", [1.0, 0.5, 0.25], {"t": "alpha"}, ns="gu")
    recs = [pb.Record(id="g%d" % i, vector=[1.0, float(i), 0.5], metadata=g.meta({"t": "alpha beta"}))
            for i in range(3)]
    q = [1.0, 0.5, 0.25]
    steps = [
        ("BatchUpsert of 3", lambda: g.c.BatchUpsert(pb.BatchUpsertRequest(records=recs, namespace="gu")), (1, 3, 0, 0)),
        ("Query", lambda: g.c.Query(pb.QueryRequest(vector=q, limit=2, namespace="gu")), (1, 0, 1, 0)),
        ("HybridQuery", lambda: g.c.HybridQuery(pb.HybridQueryRequest(vector=q, text_query="alpha", limit=2,
                                                                     namespace="gu")), (1, 0, 1, 0)),
        ("QueryStream", lambda: list(g.c.QueryStream(pb.QueryStreamRequest(vector=q, limit=2, namespace="gu"))),
         (1, 0, 1, 0)),
        ("SoftDelete", lambda: g.c.SoftDelete(pb.SoftDeleteRequest(id="g0", namespace="gu")), (1, 0, 0, 1)),
        ("SoftDelete again", lambda: g.c.SoftDelete(pb.SoftDeleteRequest(id="g0", namespace="gu")), (1, 0, 0, 1)),
        ("GetStats", lambda: g.c.GetStats(pb.GetStatsRequest(namespace="gu")), (1, 0, 0, 0)),
        ("bad filter", lambda: g.err(g.c.Query, pb.QueryRequest(vector=q, filter="t =", namespace="gu")),
         (1, 0, 0, 0)),
        ("Delete", lambda: g.c.Delete(pb.DeleteRequest(id="g1", namespace="gu")), (1, 0, 0, 1)),
        ("HealthCheck (not a data request)", lambda: g.c.HealthCheck(pb.HealthCheckRequest()), (0, 0, 0, 0)),
        ("admin call (not a data request)", lambda: g.a.GetNamespace(pb.GetNamespaceRequest(namespace_id="gu")),
         (0, 0, 0, 0)),
    ]
    for label, fn, want in steps:
        before = usage(g.srv, "gu")
        fn()
        after = usage(g.srv, "gu")
        expect_eq(tuple(a - b for a, b in zip(after, before)), want,
                  "%s: (requests, upserts, queries, deletes) moved by" % label)
    m = g.srv.get("/metrics").expect(200).text
    expect("vecstore_grpc_requests_total" in m and "QueryStream" in m, "gRPC calls in /metrics")


def test_concurrent_clients(t):
    g = G(t)
    pb = g.pb
    errors = []

    def worker(w):
        try:
            ch = grpc.insecure_channel(g.addr)
            c = _STUBS["pb2_grpc"].VecStoreServiceStub(ch)
            for i in range(50):
                v = [1.0 + w, float(i), 0.5, 1.0]
                c.Upsert(pb.UpsertRequest(id="w%d-%d" % (w, i), vector=v, metadata=g.meta({"w": w})), timeout=60)
                r = c.Query(pb.QueryRequest(vector=v, limit=1, filter="w = %d" % w), timeout=60)
                if not r.results or r.results[0].id != "w%d-%d" % (w, i):
                    errors.append("worker %d: query %d got %s" % (w, i, [x.id for x in r.results]))
            list(c.QueryStream(pb.QueryStreamRequest(vector=[1.0, 0, 0, 0], limit=20), timeout=60))
            ch.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("worker %d: %s: %s" % (w, type(e).__name__, e))

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    expect(not errors, "concurrent clients: %s" % errors[:5])
    expect_eq(g.c.GetStats(pb.GetStatsRequest(), timeout=30).vector_count, 400, "vector_count after 8 x 50")


# ----------------------------------------------------------------------------------- health, reflection

def _raw_unary(ch, path, payload):
    fn = ch.unary_unary(path, request_serializer=lambda b: b, response_deserializer=lambda b: b)
    return fn(payload, timeout=30)


def _fields(buf):
    """Decodes one level of protobuf: -> list of (field, value) (int or bytes)."""
    out, i = [], 0
    while i < len(buf):
        key, i = _varint(buf, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 2:
            n, i = _varint(buf, i)
            v, i = buf[i:i + n], i + n
        else:
            raise ValueError("wire type %d" % wt)
        out.append((f, v))
    return out


def _varint(buf, i):
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def _ld(field, payload):
    payload = payload.encode() if isinstance(payload, str) else payload
    return bytes([field << 3 | 2, len(payload)]) + payload


def health_check(ch, service=""):
    resp = _raw_unary(ch, "/grpc.health.v1.Health/Check", _ld(1, service) if service else b"")
    return dict(_fields(resp)).get(1, 0)


def test_health(t):
    g = G(t)
    pb = g.pb
    r = g.c.HealthCheck(pb.HealthCheckRequest(), timeout=30)
    expect_eq((r.status, r.state), (pb.HealthCheckResponse.SERVING, "ready"), "HealthCheck")
    expect_eq(health_check(g.ch), 1, "grpc.health.v1 Check (overall)")
    expect_eq(health_check(g.ch, "vecstore.VecStoreService"), 1, "Check(vecstore.VecStoreService)")
    try:
        health_check(g.ch, "no.such.Service")
        fail("Check of an unknown service succeeded")
    except grpc.RpcError as e:
        expect_eq(e.code().name, "NOT_FOUND", "Check of an unknown service")
    watch = g.ch.unary_stream("/grpc.health.v1.Health/Watch", request_serializer=lambda b: b,
                              response_deserializer=lambda b: b)
    it = watch(b"", timeout=30)
    expect_eq(dict(_fields(next(it))).get(1), 1, "first Watch message: SERVING")
    it.cancel()
    # the server ends Watch streams when it shuts down: SIGTERM must still exit 0 promptly
    it2 = watch(b"", timeout=60)
    next(it2)
    expect_eq(g.srv.stop(), 0, "exit status after SIGTERM with an open Watch")
    try:
        for _ in it2:
            pass
    except grpc.RpcError as e:
        expect(e.code().name in ("UNAVAILABLE", "CANCELLED"), "Watch end: %s" % e.code().name)


def _reflect(ch, ver, request):
    fn = ch.stream_stream("/grpc.reflection.%s.ServerReflection/ServerReflectionInfo" % ver,
                          request_serializer=lambda b: b, response_deserializer=lambda b: b)
    return [dict((f, v) for f, v in _fields(m)) for m in fn(iter(request), timeout=30)]


def test_reflection(t):
    g = G(t)
    from google.protobuf import descriptor_pb2
    for ver in ("v1alpha", "v1"):
        answers = _reflect(g.ch, ver, [_ld(7, ""), _ld(4, "vecstore.VecStoreService"), _ld(3, "vecstore.proto"),
                                       _ld(4, "no.such.Symbol")])
        expect_eq(len(answers), 4, "%s: one answer per request" % ver)
        names = [dict(_fields(s)).get(1).decode() for f, s in _fields(answers[0][6]) if f == 1]
        for want in ("vecstore.VecStoreService", "vecstore.VecStoreAdminService", "grpc.health.v1.Health",
                     "grpc.reflection.v1alpha.ServerReflection"):
            expect(want in names, "%s list_services lacks %s: %s" % (ver, want, names))
        for a in answers[1:3]:
            fdp = descriptor_pb2.FileDescriptorProto.FromString(dict(_fields(a[4]))[1])
            expect_eq((fdp.name, fdp.package), ("vecstore.proto", "vecstore"), "%s descriptor" % ver)
            svc = [s for s in fdp.service if s.name == "VecStoreService"]
            expect(svc and {m.name for m in svc[0].method} >= {"Upsert", "QueryStream", "HealthCheck"},
                   "%s reflected VecStoreService" % ver)
        err = dict(_fields(answers[3][7]))
        expect_eq(err.get(1), 5, "%s unknown symbol -> NOT_FOUND error_response" % ver)
    grpcurl = shutil.which("grpcurl")
    if grpcurl:
        out = subprocess.run([grpcurl, "-plaintext", g.addr, "list"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=30).stdout.decode()
        expect("vecstore.VecStoreService" in out, "grpcurl list: %s" % out)


# ----------------------------------------------------------------------------------- the guide's clients

GUIDE_PY_CLIENT = '''import grpc
from vecstore_pb2 import UpsertRequest, QueryRequest, MetadataValue
from vecstore_pb2_grpc import VecStoreServiceStub

channel = grpc.insecure_channel('localhost:50051')
client = VecStoreServiceStub(channel)

# Upsert a vector
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
'''

GUIDE_PY_ADMIN = '''import grpc
channel = grpc.insecure_channel('localhost:50051')
from vecstore_pb2 import CreateNamespaceRequest, NamespaceQuotas
from vecstore_pb2_grpc import VecStoreAdminServiceStub

admin_client = VecStoreAdminServiceStub(channel)

# Create namespace
response = admin_client.CreateNamespace(CreateNamespaceRequest(
    id="customer-456",
    name="Customer 456",
    quotas=NamespaceQuotas(
        max_vectors=50000,
        max_storage_bytes=524288000,  # 500MB
        max_requests_per_second=50.0
    )
))
print("CREATED", response.namespace.id)
'''


def _run_snippet(t, g, code):
    stubs()
    d = t.tmpdir("py")
    path = os.path.join(d, "snippet.py")
    with open(path, "w") as fh:
        fh.write(code.replace("localhost:50051", g.addr))
    env = dict(os.environ, PYTHONPATH=_STUBS["dir"])
    p = subprocess.run(["/usr/bin/python3", path], cwd=d, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    expect(p.returncode == 0, "snippet exit %d: %s" % (p.returncode, p.stderr.decode()[-400:]))
    return p.stdout.decode()


def test_guide_python_snippets(t):
    g = G(t)
    out = _run_snippet(t, g, GUIDE_PY_CLIENT)
    line = [l for l in out.splitlines() if l.startswith("doc1: ")]
    expect(line, "snippet output: %s" % short(out))
    close(float(line[0].split(": ")[1]), cosine([0.1, 0.2, 0.9], [0.15, 0.25, 0.85]), "printed score")
    expect_eq(g.srv.get("/v1/vectors/doc1").expect(200).json()["metadata"], {"title": "Hello"}, "metadata")
    out = _run_snippet(t, g, GUIDE_PY_ADMIN)
    expect("CREATED customer-456" in out, "admin snippet output: %s" % short(out))
    j = g.srv.get("/admin/namespaces/customer-456").expect(200).json()
    expect_eq((j["name"], j["quotas"]["max_vectors"], j["quotas"]["max_dimension"]), ("Customer 456", 50000, None),
              "namespace made by the admin snippet")


def test_guide_node_client(t):
    node = shutil.which("node")
    if not node:
        skip("node is not installed (scripts/install-deps.sh installs Node.js deps; Debian: apt-get install nodejs)")
    nm = os.path.join(h.REPO, ".cache", "node", "node_modules")
    if not os.path.isfile(os.path.join(nm, "@grpc", "grpc-js", "package.json")):
        fail("@grpc/grpc-js is not installed in %s: run scripts/install-deps.sh" % nm)
    g = G(t)
    g.srv.post("/admin/namespaces", {"id": "nodens"}).expect(201)
    js = os.path.join(os.path.dirname(os.path.realpath(__file__)), "grpc_node_client.js")
    p = subprocess.run([node, js, os.path.join(PROTO_DIR, "vecstore.proto"), g.addr], cwd=h.REPO,
                       env=dict(os.environ, NODE_PATH=nm), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    out = p.stdout.decode().strip()
    expect(p.returncode == 0, "node client exit %d: %s %s" % (p.returncode, out, p.stderr.decode()[-300:]))
    j = json.loads(out.splitlines()[-1])
    expect_eq(j["upsert"], {"id": "doc1", "upserted": True}, "node Upsert answer")
    expect_eq([r["id"] for r in j["query"]], ["doc1", "doc2"], "node Query ids")
    close(j["query"][0]["score"], cosine([0.1, 0.2, 0.9], [0.15, 0.25, 0.85]), "node score")
    expect_eq(j["query"][0]["metadata"], {"title": {"stringValue": "Hello", "kind": "stringValue"}}
              if "kind" in j["query"][0]["metadata"]["title"] else {"title": {"stringValue": "Hello"}},
              "node metadata")
    expect_eq(j["stream"], [{"id": "doc1", "rank": 1}, {"id": "doc2", "rank": 2}, {"complete": True, "count": 2}],
              "node QueryStream")
    expect_eq(j["stats"], {"vector_count": 2, "dimension": 3}, "node GetStats")
    expect_eq(g.srv.get("/v1/vectors/doc1?namespace=nodens").expect(200).json()["metadata"], {"title": "Hello"},
              "metadata written by the node client")


if __name__ == "__main__":
    h.main(globals())
