#!/usr/bin/env python3
"""The security suite (SPEC 11 and 12, issue 9) against the real vecstore-server: API keys on
every HTTP route, gRPC RPC and the WebSocket, path traversal, oversized and deeply nested input,
slow clients; after each attack the server is still up and the data is unchanged.

Pins:
- auth matrix: the server runs with --api-key; two namespaces `ta`, `tb` each get a key. For EVERY
  HTTP route and EVERY gRPC method (VecStoreService incl. QueryStream, VecStoreAdminService):
  no key -> 401 / UNAUTHENTICATED, a wrong key -> 401, `tb`'s key on `ta` -> 403 /
  PERMISSION_DENIED, a namespace key on an admin route (even its own namespace's) -> 403, the
  right key (both header forms / both metadata forms) and the admin key work. Refused writes
  leave no trace. /health, /ready, HealthCheck and grpc.health.v1 stay open; /metrics is open by
  default and keyed with --metrics-require-key (any valid key); a revoked key stops working.
- WebSocket: upgrade without a key or with a wrong one -> 401; `?api_key=`, `x-api-key` and
  `Authorization: Bearer` work; another namespace's key is refused per query (error frame, socket
  open); a message over --max-ws-frame-bytes closes with 1009.
- path traversal: namespace ids `..`, `../x`, `a/b`, `%2e%2e`, ... in bodies, paths, query strings
  and gRPC -> 400/404; record ids holding NUL / control characters -> 400; ids `a/b` and `..` are
  legal record ids (SPEC 2, `/v1/delete/a%2Fb`) and stay data: they round-trip and create no file.
  The filesystem around the db dir is compared before/after: nothing outside it is created or
  touched, and nothing inside it escapes it.
- limits: body over --max-body-bytes -> 413; JSON nested 10000 deep (metadata, vector, root) ->
  400; metadata over 64 KiB -> 400; metadata deeper than 32 -> 400; id over 512 bytes -> 400 (512
  is fine); filter over 4096 bytes -> 400; filter nested deeper than 64 -> 400; batch over 10000
  -> 400; limit over 10000 -> 400; dimension over 65536 -> 400; gRPC message over the limit ->
  RESOURCE_EXHAUSTED; gRPC metadata nested 1000 deep -> INVALID_ARGUMENT.
- slow clients (--idle-timeout 2): half a request line, half the headers, half a body: each such
  connection is closed by the server while other clients are served meanwhile.

Run: /usr/bin/python3 tests/integration/test_security.py [-v] [--keep] [name-substring ...]
(binary: $VECSTORE_SERVER, else build/vecstore-server; needs python3-grpcio, python3-websocket,
protobuf-compiler, protobuf-compiler-grpc).
"""

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
sys.dont_write_bytecode = True

import harness as h  # noqa: E402
from harness import expect, expect_eq, fail, short  # noqa: E402

import grpc  # noqa: E402
import websocket  # noqa: E402

PROTO_DIR = os.path.join(h.REPO, "proto")
ADMIN = "admin-secret-key-0123456789"
_STUBS = {}


def stubs():
    """(pb2, pb2_grpc), generated once per run into a temp dir (as test_grpc.py does)."""
    if "pb2" in _STUBS:
        return _STUBS["pb2"], _STUBS["pb2_grpc"]
    protoc, plugin = shutil.which("protoc"), shutil.which("grpc_python_plugin")
    expect(protoc and plugin, "protoc and grpc_python_plugin are needed (apt-get install -y "
                              "protobuf-compiler protobuf-compiler-grpc)")
    out = tempfile.mkdtemp(prefix="vs-sec-stubs-")
    p = subprocess.run([protoc, "-I" + PROTO_DIR, "--python_out=" + out, "--grpc_out=" + out,
                        "--plugin=protoc-gen-grpc=" + plugin, os.path.join(PROTO_DIR, "vecstore.proto")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    expect(p.returncode == 0, "protoc failed: %s" % p.stderr.decode())
    sys.path.insert(0, out)
    import vecstore_pb2
    import vecstore_pb2_grpc
    _STUBS.update(pb2=vecstore_pb2, pb2_grpc=vecstore_pb2_grpc, dir=out)
    return vecstore_pb2, vecstore_pb2_grpc


# ----------------------------------------------------------------------------------- helpers

def bearer(k):
    return {"Authorization": "Bearer " + k}


def xkey(k):
    return {"x-api-key": k}


def error_body(r, what):
    """Every error answer is {"error": "<message>"}."""
    j = r.json()
    expect(isinstance(j, dict) and isinstance(j.get("error"), str) and j["error"],
           "%s: error body is not {\"error\": msg}: %s" % (what, short(r.text)))
    return j["error"]


def expect_status(r, allowed, what):
    allowed = (allowed,) if isinstance(allowed, int) else tuple(allowed)
    if r.status not in allowed:
        fail("%s: %s %s: expected HTTP %s, got %d: %s" % (what, r.method, r.path, "/".join(map(str, allowed)),
                                                         r.status, short(r.text)))
    if r.status >= 400:
        error_body(r, what)
    return r


class Env:
    """A server with --api-key ADMIN, namespaces ta and tb (dimension 2, l2) each with one key,
    records r1 (metadata), r2 in ta and b1 in tb."""

    def __init__(self, t, args=(), db=None, grpc_on=True):
        self.t = t
        self.srv = t.start(args=["--api-key", ADMIN] + list(args), db=db, grpc=grpc_on)
        self.adm = bearer(ADMIN)
        for ns in ("ta", "tb"):
            expect_status(self.srv.post("/admin/namespaces", {"id": ns, "dimension": 2, "metric": "l2"},
                                        headers=self.adm), 201, "create namespace %s" % ns)
        self.key = {}
        self.key_id = {}
        for ns in ("ta", "tb"):
            j = expect_status(self.srv.post("/admin/namespaces/%s/keys" % ns, headers=self.adm), 201,
                              "create key for %s" % ns).json()
            expect(j.get("key") and j.get("key_id") and j.get("namespace") == ns, "key answer: %r" % j)
            self.key[ns], self.key_id[ns] = j["key"], j["key_id"]
        expect(self.key["ta"] != self.key["tb"], "two namespaces got the same key")
        self.put("ta", "r1", [1.0, 0.5], {"title": "one", "n": 1})
        self.put("ta", "r2", [0.0, 1.0])
        self.put("tb", "b1", [0.5, 0.5], {"secret": "tb-only"})

    def put(self, ns, rid, vec, meta=None):
        body = {"id": rid, "vector": vec, "namespace": ns}
        if meta is not None:
            body["metadata"] = meta
        expect_status(self.srv.post("/v1/upsert", body, headers=self.adm), 200, "upsert %s/%s" % (ns, rid))

    def state(self, ns="ta", rid="r1"):
        """What must not change: the namespace's counts and one record."""
        s = expect_status(self.srv.get("/v1/stats?namespace=" + ns, headers=self.adm), 200, "stats").json()
        rec = expect_status(self.srv.get("/v1/vectors/%s?namespace=%s" % (rid, ns), headers=self.adm), 200,
                            "get %s" % rid).json()
        return ({k: s.get(k) for k in ("namespace", "dimension", "metric", "vector_count", "active_count",
                                        "deleted_count")}, rec)

    def exists(self, ns, rid):
        r = self.srv.get("/v1/vectors/%s?namespace=%s" % (rid, ns), headers=self.adm)
        expect_status(r, (200, 404), "get %s/%s" % (ns, rid))
        return r.status == 200


def still_up(srv, what):
    expect(srv.alive(), "server died after %s (log: %s)" % (what, srv.log_tail()))
    expect_status(srv.get("/health"), 200, "GET /health after %s" % what)


# ----------------------------------------------------------------------------------- HTTP keys

def http_data_routes():
    """(label, method, path, body, ok_status, id_written): every data route aimed at namespace ta.
    Each entry is used once with the right key (so deletes use their own record)."""
    return [
        ("upsert", "POST", "/v1/upsert", {"id": "w-up", "vector": [1, 1], "namespace": "ta"}, 200, "w-up"),
        ("batch-upsert", "POST", "/v1/batch-upsert",
         {"records": [{"id": "w-b1", "vector": [1, 2]}, {"id": "w-b2", "vector": [2, 1]}], "namespace": "ta"},
         200, "w-b1"),
        ("query", "POST", "/v1/query", {"vector": [1, 0], "namespace": "ta"}, 200, None),
        ("query alias", "POST", "/query", {"vector": [1, 0], "namespace": "ta"}, 200, None),
        ("hybrid-query", "POST", "/v1/hybrid-query", {"vector": [1, 0], "text_query": "one", "namespace": "ta"},
         200, None),
        ("get", "GET", "/v1/vectors/r1?namespace=ta", None, 200, None),
        ("delete alias", "DELETE", "/v1/vectors/d1?namespace=ta", None, 200, None),
        ("delete", "DELETE", "/v1/delete/d2?namespace=ta", None, 200, None),
        ("soft-delete", "POST", "/v1/soft-delete/r2?namespace=ta", None, 200, None),
        ("restore", "POST", "/v1/restore/r2?namespace=ta", None, 200, None),
        ("compact (query)", "POST", "/v1/compact?namespace=ta", None, 200, None),
        ("compact (body)", "POST", "/v1/compact", {"namespace": "ta"}, 200, None),
        ("stats", "GET", "/v1/stats?namespace=ta", None, 200, None),
    ]


def admin_routes(e):
    """(label, method, path, body, ok_status): every admin route."""
    return [
        ("create namespace", "POST", "/admin/namespaces", {"id": "made", "dimension": 2}, 201),
        ("list namespaces", "GET", "/admin/namespaces", None, 200),
        ("get namespace", "GET", "/admin/namespaces/ta", None, 200),
        ("quotas", "PUT", "/admin/namespaces/ta/quotas", {"max_vectors": 1000}, 200),
        ("status", "PUT", "/admin/namespaces/ta/status", {"status": "active"}, 200),
        ("namespace stats", "GET", "/admin/namespaces/ta/stats", None, 200),
        ("aggregate stats", "GET", "/admin/stats", None, 200),
        ("delete namespace", "DELETE", "/admin/namespaces/gone", None, 200),
        ("create key", "POST", "/admin/namespaces/ta/keys", None, 201),
        ("list keys", "GET", "/admin/namespaces/ta/keys", None, 200),
        ("revoke key", "DELETE", "/admin/namespaces/ta/keys/%s" % e.spare_key_id, None, 200),
    ]


def test_http_keys_every_route(t):
    e = Env(t)
    srv = e.srv
    e.put("ta", "d1", [1, 0])
    e.put("ta", "d2", [0, 1])
    before = e.state("tb", "b1")
    wrong = [("no key", {}), ("wrong bearer", bearer("wrong")), ("wrong x-api-key", xkey("nope")),
             ("admin key with a suffix", bearer(ADMIN + "x")), ("key prefix", bearer(e.key["ta"][:-1])),
             ("empty bearer", {"Authorization": "Bearer "}), ("basic auth", {"Authorization": "Basic " + ADMIN}),
             ("key in ?api_key= of another name", {})]
    for i, (label, method, path, body, ok, wid) in enumerate(http_data_routes()):
        for wl, hdr in wrong:
            p = path + ("&" if "?" in path else "?") + "apikey=" + ADMIN if wl.startswith("key in") else path
            r = srv.req(method, p, body, headers=hdr)
            expect_status(r, 401, "%s with %s" % (label, wl))
        r = srv.req(method, path, body, headers=xkey(e.key["tb"]))
        expect_status(r, 403, "%s with namespace tb's key" % label)
        r = srv.req(method, path, body, headers=bearer(e.key["tb"]))
        expect_status(r, 403, "%s with namespace tb's key (Bearer)" % label)
        if wid:
            expect(not e.exists("ta", wid), "%s: a refused write stored %r" % (label, wid))
        hdr = bearer(e.key["ta"]) if i % 2 == 0 else xkey(e.key["ta"])
        expect_status(srv.req(method, path, body, headers=hdr), ok, "%s with namespace ta's key" % label)
        if wid:
            expect(e.exists("ta", wid), "%s with the right key did not store %r" % (label, wid))
    # the admin key reaches every namespace; a namespace key its own only
    expect_status(srv.get("/v1/vectors/b1?namespace=tb", headers=xkey(ADMIN)), 200, "admin key on tb")
    expect_status(srv.get("/v1/vectors/b1?namespace=tb", headers=bearer(e.key["tb"])), 200, "tb key on tb")
    r = srv.post("/v1/query", {"vector": [0.5, 0.5], "namespace": "tb"}, headers=bearer(e.key["ta"]))
    expect_status(r, 403, "ta's key querying tb")
    expect("tb-only" not in r.text, "a refused query leaked tb's metadata: %s" % short(r.text))
    # ?namespace= and the body's namespace: the body wins, and the key must match the one used
    r = srv.post("/v1/upsert?namespace=ta", {"id": "sneak", "vector": [1, 1], "namespace": "tb"},
                 headers=bearer(e.key["ta"]))
    expect_status(r, 403, "ta's key, ?namespace=ta but body namespace tb")
    expect(not e.exists("tb", "sneak"), "write through ?namespace= mismatch stored a record in tb")
    # a namespace key does not reach the default namespace either
    expect_status(srv.post("/v1/query", {"vector": [1, 0]}, headers=bearer(e.key["ta"])), 403,
                  "ta's key on the default namespace")
    expect_eq(e.state("tb", "b1"), before, "tb after the matrix")
    still_up(srv, "the HTTP key matrix")


def test_http_admin_routes_need_admin_key(t):
    e = Env(t)
    srv = e.srv
    expect_status(srv.post("/admin/namespaces", {"id": "gone"}, headers=e.adm), 201, "create gone")
    e.spare_key_id = expect_status(srv.post("/admin/namespaces/ta/keys", headers=e.adm), 201,
                                   "spare key").json()["key_id"]
    for label, method, path, body, ok in admin_routes(e):
        for wl, hdr in (("no key", {}), ("wrong key", bearer("wrong")), ("wrong x-api-key", xkey("x" * 64))):
            expect_status(srv.req(method, path, body, headers=hdr), 401, "%s with %s" % (label, wl))
        for ns in ("ta", "tb"):
            for hdr in (bearer(e.key[ns]), xkey(e.key[ns])):
                expect_status(srv.req(method, path, body, headers=hdr), 403,
                              "%s with namespace %s's key" % (label, ns))
        expect_status(srv.req(method, path, body, headers=e.adm), ok, "%s with the admin key" % label)
    # key listing never shows a secret; the revoked key no longer works; the other one still does
    keys = expect_status(srv.get("/admin/namespaces/ta/keys", headers=e.adm), 200, "list keys").json()
    expect(e.key["ta"] not in json.dumps(keys) and e.key["tb"] not in json.dumps(keys),
           "key listing shows a secret: %s" % short(json.dumps(keys)))
    expect(all("key" not in k for k in keys["keys"]), "key listing has a key field: %s" % short(json.dumps(keys)))
    expect_status(srv.post("/admin/namespaces/ta/keys", headers=e.adm), 201, "another key")
    expect_status(srv.delete("/admin/namespaces/ta/keys/%s" % e.key_id["ta"], headers=e.adm), 200, "revoke ta's key")
    expect_status(srv.get("/v1/stats?namespace=ta", headers=bearer(e.key["ta"])), 401, "revoked key")
    expect_status(srv.get("/v1/stats?namespace=tb", headers=bearer(e.key["tb"])), 200, "tb's key after revoking ta's")
    # revoking tb's key through ta's path is not possible
    expect_status(srv.delete("/admin/namespaces/ta/keys/%s" % e.key_id["tb"], headers=e.adm), (400, 404),
                  "revoke tb's key id under ta")
    expect_status(srv.get("/v1/stats?namespace=tb", headers=bearer(e.key["tb"])), 200, "tb's key still works")
    # the deleted namespace's files are gone, the created one works
    expect_status(srv.get("/admin/namespaces/gone", headers=e.adm), 404, "deleted namespace")
    # the keys survive a restart (stored hashed in the namespace's files, never in clear)
    srv2 = t.restart(srv, args=["--api-key", ADMIN])
    expect_status(srv2.get("/v1/stats?namespace=tb", headers=bearer(e.key["tb"])), 200, "tb's key after restart")
    expect_status(srv2.get("/v1/stats?namespace=ta", headers=bearer(e.key["ta"])), 401, "revoked key after restart")
    for root, _dirs, files in os.walk(srv.db):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                data = fh.read()
            for ns in ("ta", "tb"):
                expect(e.key[ns].encode() not in data, "key of %s stored in clear in %s" % (ns, f))
            expect(ADMIN.encode() not in data, "admin key stored in %s" % f)


def test_open_endpoints_and_metrics(t):
    e = Env(t)
    srv = e.srv
    for path in ("/health", "/ready", "/metrics"):
        expect_status(srv.get(path), 200, "%s without a key" % path)
        expect_status(srv.get(path, headers=bearer("wrong")), 200, "%s with a wrong key" % path)
    expect("vecstore_" in srv.get("/metrics").text, "/metrics body")
    srv2 = t.start(args=["--api-key", ADMIN, "--metrics-require-key"])
    for label, hdr in (("no key", {}), ("wrong key", bearer("wrong"))):
        expect_status(srv2.get("/metrics", headers=hdr), 401, "/metrics --metrics-require-key with %s" % label)
    expect_status(srv2.get("/metrics", headers=bearer(ADMIN)), 200, "/metrics with the admin key")
    expect_status(srv2.get("/metrics", headers=xkey(ADMIN)), 200, "/metrics with x-api-key")
    expect_status(srv2.post("/admin/namespaces", {"id": "m1"}, headers=bearer(ADMIN)), 201, "create m1")
    k = srv2.post("/admin/namespaces/m1/keys", headers=bearer(ADMIN)).json()["key"]
    expect_status(srv2.get("/metrics", headers=bearer(k)), 200, "/metrics with a namespace key")
    for path in ("/health", "/ready"):
        expect_status(srv2.get(path), 200, "%s without a key (--metrics-require-key)" % path)
    # a server with no admin key runs open and says so at start-up
    srv3 = t.start()
    expect_status(srv3.post("/v1/query", {"vector": [1, 0]}), 200, "open server without a key")
    low = srv3.log().lower()
    expect("api key" in low or "api-key" in low or "open" in low,
           "an open server does not say so at start-up: %s" % srv3.log_tail())


# ----------------------------------------------------------------------------------- gRPC keys

class GEnv(Env):
    def __init__(self, t, args=()):
        Env.__init__(self, t, args)
        self.pb, pbg = stubs()
        self.ch = grpc.insecure_channel("127.0.0.1:%d" % self.srv.grpc_port,
                                        options=[("grpc.max_send_message_length", -1),
                                                 ("grpc.max_receive_message_length", -1)])
        grpc.channel_ready_future(self.ch).result(timeout=15)
        self.c = pbg.VecStoreServiceStub(self.ch)
        self.a = pbg.VecStoreAdminServiceStub(self.ch)

    def call(self, fn, req, md, stream=False):
        """-> ("OK", answer) or (code name, details)."""
        try:
            r = fn(req, timeout=30, metadata=md)
            if stream:
                r = list(r)
            return "OK", r
        except grpc.RpcError as ex:
            return ex.code().name, ex.details()


def grpc_data_calls(g):
    pb, c = g.pb, g.c
    return [
        ("Upsert", c.Upsert, pb.UpsertRequest(id="g-up", vector=[1, 1], namespace="ta"), False, "g-up"),
        ("BatchUpsert", c.BatchUpsert,
         pb.BatchUpsertRequest(records=[pb.Record(id="g-b", vector=[1, 2])], namespace="ta"), False, "g-b"),
        ("Query", c.Query, pb.QueryRequest(vector=[1, 0], namespace="ta"), False, None),
        ("QueryStream", c.QueryStream, pb.QueryStreamRequest(vector=[1, 0], namespace="ta"), True, None),
        ("HybridQuery", c.HybridQuery, pb.HybridQueryRequest(vector=[1, 0], text_query="one", namespace="ta"),
         False, None),
        ("Get", c.Get, pb.GetRequest(id="r1", namespace="ta"), False, None),
        ("Delete", c.Delete, pb.DeleteRequest(id="d1", namespace="ta"), False, None),
        ("SoftDelete", c.SoftDelete, pb.SoftDeleteRequest(id="r2", namespace="ta"), False, None),
        ("Restore", c.Restore, pb.RestoreRequest(id="r2", namespace="ta"), False, None),
        ("Compact", c.Compact, pb.CompactRequest(namespace="ta"), False, None),
        ("GetStats", c.GetStats, pb.GetStatsRequest(namespace="ta"), False, None),
    ]


def grpc_admin_calls(g, spare_key_id):
    pb, a = g.pb, g.a
    return [
        ("CreateNamespace", a.CreateNamespace, pb.CreateNamespaceRequest(id="gmade", dimension=2)),
        ("ListNamespaces", a.ListNamespaces, pb.ListNamespacesRequest()),
        ("GetNamespace", a.GetNamespace, pb.GetNamespaceRequest(namespace_id="ta")),
        ("UpdateNamespaceQuotas", a.UpdateNamespaceQuotas,
         pb.UpdateNamespaceQuotasRequest(namespace_id="ta", quotas=pb.NamespaceQuotas(max_vectors=1000))),
        ("UpdateNamespaceStatus", a.UpdateNamespaceStatus,
         pb.UpdateNamespaceStatusRequest(namespace_id="ta", status="active")),
        ("GetNamespaceStats", a.GetNamespaceStats, pb.GetNamespaceStatsRequest(namespace_id="ta")),
        ("GetAggregateStats", a.GetAggregateStats, pb.GetAggregateStatsRequest()),
        ("DeleteNamespace", a.DeleteNamespace, pb.DeleteNamespaceRequest(namespace_id="ggone")),
        ("CreateApiKey", a.CreateApiKey, pb.CreateApiKeyRequest(namespace_id="ta")),
        ("ListApiKeys", a.ListApiKeys, pb.ListApiKeysRequest(namespace_id="ta")),
        ("RevokeApiKey", a.RevokeApiKey, pb.RevokeApiKeyRequest(namespace_id="ta", key_id=spare_key_id)),
    ]


def _health_check(ch):
    fn = ch.unary_unary("/grpc.health.v1.Health/Check", request_serializer=lambda b: b,
                        response_deserializer=lambda b: b)
    return fn(b"", timeout=30)


def test_grpc_keys_every_rpc(t):
    g = GEnv(t)
    pb = g.pb
    g.put("ta", "d1", [1, 0])
    expect_status(g.srv.post("/admin/namespaces", {"id": "ggone"}, headers=g.adm), 201, "create ggone")
    spare = expect_status(g.srv.post("/admin/namespaces/ta/keys", headers=g.adm), 201, "spare key").json()["key_id"]
    before = g.state("tb", "b1")
    wrong = [("no key", None), ("wrong bearer", [("authorization", "Bearer wrong")]),
             ("wrong x-api-key", [("x-api-key", "wrong")]), ("admin key with a suffix", [("x-api-key", ADMIN + "1")])]
    other = [("tb's key (x-api-key)", [("x-api-key", g.key["tb"])]),
             ("tb's key (authorization)", [("authorization", "Bearer " + g.key["tb"])])]
    for i, (name, fn, req, stream, wid) in enumerate(grpc_data_calls(g)):
        for wl, md in wrong:
            code, det = g.call(fn, req, md, stream)
            expect_eq(code, "UNAUTHENTICATED", "%s with %s (%s)" % (name, wl, det))
        for wl, md in other:
            code, det = g.call(fn, req, md, stream)
            expect_eq(code, "PERMISSION_DENIED", "%s with %s (%s)" % (name, wl, det))
        if wid:
            expect(not g.exists("ta", wid), "%s: a refused call stored %r" % (name, wid))
        md = [("authorization", "Bearer " + g.key["ta"])] if i % 2 == 0 else [("x-api-key", g.key["ta"])]
        code, ans = g.call(fn, req, md, stream)
        expect_eq(code, "OK", "%s with ta's key (%s)" % (name, ans if code != "OK" else ""))
        if wid:
            expect(g.exists("ta", wid), "%s with the right key did not store %r" % (name, wid))
    code, ans = g.call(g.c.Get, pb.GetRequest(id="b1", namespace="tb"), [("x-api-key", g.key["ta"])])
    expect_eq(code, "PERMISSION_DENIED", "ta's key reading tb")
    expect("tb-only" not in str(ans), "a refused Get leaked tb's metadata")
    code, ans = g.call(g.c.Get, pb.GetRequest(id="b1", namespace="tb"), [("authorization", "Bearer " + ADMIN)])
    expect_eq(code, "OK", "admin key reading tb")
    # admin RPCs: 401 without/with a wrong key, 403 with any namespace key, OK with the admin key
    for name, fn, req in grpc_admin_calls(g, spare):
        for wl, md in wrong:
            code, det = g.call(fn, req, md)
            expect_eq(code, "UNAUTHENTICATED", "%s with %s (%s)" % (name, wl, det))
        for ns in ("ta", "tb"):
            code, det = g.call(fn, req, [("x-api-key", g.key[ns])])
            expect_eq(code, "PERMISSION_DENIED", "%s with %s's key (%s)" % (name, ns, det))
        code, ans = g.call(fn, req, [("authorization", "Bearer " + ADMIN)])
        expect_eq(code, "OK", "%s with the admin key (%s)" % (name, ans if code != "OK" else ""))
        if name == "ListApiKeys":
            expect(g.key["ta"] not in str(ans) and all(not getattr(k, "key", "") for k in ans.keys),
                   "ListApiKeys shows a secret")
    # health stays open
    for wl, md in wrong:
        code, ans = g.call(g.c.HealthCheck, pb.HealthCheckRequest(), md)
        expect_eq(code, "OK", "HealthCheck with %s" % wl)
    expect(_health_check(g.ch) == b"\x08\x01", "grpc.health.v1 Check without a key: SERVING")
    expect_eq(g.state("tb", "b1"), before, "tb after the gRPC matrix")
    still_up(g.srv, "the gRPC key matrix")


# ----------------------------------------------------------------------------------- WebSocket

def ws_url(srv, query=""):
    return "ws://127.0.0.1:%d/ws/query-stream%s" % (srv.http_port, query)


def ws_refused(url, header=None):
    try:
        ws = websocket.create_connection(url, header=header or [], timeout=15)
    except websocket.WebSocketBadStatusException as ex:
        return ex.status_code
    ws.close()
    return 101


def ws_query(ws, body):
    """Sends one query; -> (hits, last frame)."""
    ws.send(json.dumps(body))
    hits = []
    while True:
        j = json.loads(ws.recv())
        if "id" in j and "score" in j:
            hits.append(j)
            continue
        return hits, j


def test_websocket_keys_and_frame_limit(t):
    e = Env(t, args=["--max-ws-frame-bytes", "4096"])
    srv = e.srv
    before = e.state()
    for label, q, hdr in (("no key", "", []), ("wrong ?api_key=", "?api_key=wrong", []),
                          ("wrong x-api-key", "", ["x-api-key: wrong"]),
                          ("wrong bearer", "", ["Authorization: Bearer wrong"]),
                          ("no key, namespace given", "?namespace=ta", [])):
        expect_eq(ws_refused(ws_url(srv, q), hdr), 401, "WebSocket upgrade with %s" % label)
    for label, q, hdr in (("?api_key=", "?api_key=%s&namespace=ta" % e.key["ta"], []),
                          ("x-api-key", "?namespace=ta", ["x-api-key: " + e.key["ta"]]),
                          ("Authorization", "", ["Authorization: Bearer " + e.key["ta"]]),
                          ("admin ?api_key=", "?api_key=" + ADMIN, [])):
        ws = websocket.create_connection(ws_url(srv, q), header=hdr, timeout=15)
        hits, last = ws_query(ws, {"vector": [1, 0.5], "limit": 2, "namespace": "ta", "request_id": "q1"})
        expect(last.get("complete") is True, "WebSocket with %s: %s" % (label, last))
        expect_eq(hits[0]["id"], "r1", "WebSocket with %s: first hit" % label)
        ws.close()
    # another namespace's key: the upgrade may succeed, every query on ta is refused, socket stays open
    ws = websocket.create_connection(ws_url(srv, "?api_key=" + e.key["tb"]), timeout=15)
    hits, last = ws_query(ws, {"vector": [1, 0.5], "namespace": "ta", "request_id": 7})
    expect(not hits and "error" in last, "tb's key querying ta over WebSocket: %s" % last)
    expect_eq(last.get("request_id"), 7, "error frame request_id")
    hits, last = ws_query(ws, {"vector": [1, 0.5], "namespace": "tb"})
    expect(last.get("complete") is True and [x["id"] for x in hits] == ["b1"], "tb's key on tb: %s" % last)
    ws.close()
    # a message over --max-ws-frame-bytes closes the socket with 1009
    ws = websocket.create_connection(ws_url(srv, "?api_key=" + e.key["ta"]), timeout=15)
    big = json.dumps({"vector": [1, 0], "namespace": "ta", "pad": "x" * 8000})
    ws.send(big)
    code = None
    try:
        while True:
            op, frame = ws.recv_data_frame(True)
            if op == websocket.ABNF.OPCODE_CLOSE:
                code = int.from_bytes(frame.data[:2], "big") if len(frame.data) >= 2 else 1005
                break
    except websocket.WebSocketConnectionClosedException:
        pass
    expect_eq(code, 1009, "close code after a message over --max-ws-frame-bytes")
    ws.close()
    # a fragmented message whose fragments add up past the limit: 1009 too
    ws = websocket.create_connection(ws_url(srv, "?api_key=" + e.key["ta"]), timeout=15)
    code = None
    try:
        ws.send_frame(websocket.ABNF.create_frame('{"pad":"' + "y" * 3000, websocket.ABNF.OPCODE_TEXT, 0))
        ws.send_frame(websocket.ABNF.create_frame("z" * 3000 + '"}', websocket.ABNF.OPCODE_CONT, 1))
        while True:
            op, frame = ws.recv_data_frame(True)
            if op == websocket.ABNF.OPCODE_CLOSE:
                code = int.from_bytes(frame.data[:2], "big") if len(frame.data) >= 2 else 1005
                break
    except (websocket.WebSocketConnectionClosedException, BrokenPipeError, ConnectionResetError):
        pass
    expect_eq(code, 1009, "close code after fragments over --max-ws-frame-bytes")
    ws.close()
    # deep JSON over the socket: an error frame, the socket stays usable
    ws = websocket.create_connection(ws_url(srv, "?api_key=" + e.key["ta"]), timeout=15)
    hits, last = ws_query(ws, json.loads('{"vector": [1, 0], "namespace": "ta"}'))
    expect(last.get("complete") is True, "plain query")
    ws.send('{"vector":' + "[" * 1500 + "]" * 1500 + "}")
    expect("error" in json.loads(ws.recv()), "1500-deep vector over WebSocket")
    hits, last = ws_query(ws, {"vector": [1, 0], "namespace": "ta"})
    expect(last.get("complete") is True, "query after the deep one")
    ws.close()
    expect_eq(e.state(), before, "ta after the WebSocket checks")
    still_up(srv, "the WebSocket checks")


# ----------------------------------------------------------------------------------- traversal

def fs_snapshot(base, skip):
    """{relative path: (kind, size, mtime_ns, sha256)} of everything under base except skip."""
    out = {}
    for root, dirs, files in os.walk(base):
        dirs[:] = [d for d in dirs if os.path.join(root, d) != skip]
        for n in dirs + files:
            p = os.path.join(root, n)
            st = os.lstat(p)
            digest = None
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as fh:
                    digest = hashlib.sha256(fh.read()).hexdigest()
            kind = "link" if os.path.islink(p) else "dir" if os.path.isdir(p) else "file"
            out[os.path.relpath(p, base)] = (kind, st.st_size if kind == "file" else 0,
                                             st.st_mtime_ns if kind != "dir" else 0, digest)
    return out


BAD_NAMESPACES = ["..", "../x", "a/b", "%2e%2e", ".", "../../etc", "..\\x", "/abs", "x/../..", "-lead",
                  "_lead", "a" * 65, "sp ace", "new\nline", "\u00e9t\u00e9", "~root", "a.b",
                  ".hidden", "..%2f..%2fescape"]


def test_path_traversal(t):
    base = t.tmpdir("fs")
    data = os.path.join(base, "data")
    db = os.path.join(data, "db")
    os.makedirs(os.path.join(base, "x"))
    os.makedirs(os.path.join(data, "x"))
    for p, content in (("secret.txt", b"do not touch"), ("x/namespace.json", b"{}"), ("data/x/f", b"1"),
                       ("data/escape", b"2")):
        with open(os.path.join(base, p), "wb") as fh:
            fh.write(content)
    e = Env(t, db=db)
    srv = e.srv
    outside = fs_snapshot(base, db)
    before = e.state()
    adm = e.adm
    for ns in BAD_NAMESPACES:
        q = "".join("%%%02X" % b for b in ns.encode())  # percent-encoded as a query value
        raw = ns.replace("\u0000", "%00").replace("\n", "%0A").replace(" ", "%20").replace("\\", "%5C")
        raw = "".join(c if ord(c) < 128 else "%%%02X" % b for c in raw for b in c.encode())
        what = "namespace %r" % ns
        expect_status(srv.post("/admin/namespaces", {"id": ns, "dimension": 2}, headers=adm), 400,
                      "create " + what)
        expect_status(srv.post("/v1/upsert", {"id": "t", "vector": [1, 0], "namespace": ns}, headers=adm),
                      (400, 404), "upsert into " + what)
        expect_status(srv.post("/v1/batch-upsert", {"records": [{"id": "t", "vector": [1, 0]}], "namespace": ns},
                               headers=adm), (400, 404), "batch into " + what)
        expect_status(srv.post("/v1/query?namespace=" + q, {"vector": [1, 0]}, headers=adm), (400, 404),
                      "query ?namespace= " + what)
        expect_status(srv.get("/v1/stats?namespace=" + q, headers=adm), (400, 404), "stats of " + what)
        expect_status(srv.post("/v1/compact?namespace=" + q, headers=adm), (400, 404), "compact of " + what)
        for method, path, body in (("GET", "/admin/namespaces/%s", None), ("DELETE", "/admin/namespaces/%s", None),
                                   ("PUT", "/admin/namespaces/%s/status", {"status": "suspended"}),
                                   ("PUT", "/admin/namespaces/%s/quotas", {"max_vectors": 1}),
                                   ("POST", "/admin/namespaces/%s/keys", None),
                                   ("GET", "/admin/namespaces/%s/stats", None)):
            for seg in {q, raw}:
                expect_status(srv.req(method, path % seg, body, headers=adm), (400, 404, 405),
                              "%s %s" % (method, path % seg))
    # raw dot segments in paths are not normalised into another route or namespace
    for path in ("/admin/namespaces/../namespaces/ta", "/admin/namespaces/ta/../tb", "/v1/vectors/../stats",
                 "/v1/../admin/stats", "/admin/namespaces/%2e%2e/keys", "/v1/vectors/..%2f..%2fsecret.txt",
                 "/v1/vectors/%2e%2e%2f%2e%2e%2fsecret.txt?namespace=..", "//admin//stats"):
        r = srv.get(path, headers=bearer(e.key["ta"]))
        expect_status(r, (400, 401, 403, 404), "GET %s with ta's key" % path)
        expect("do not touch" not in r.text, "GET %s served a file" % path)
    # record ids: NUL and control characters are refused; '/', '..' are data
    for rid in ("nul\u0000id", "\u0001", "tab\tid", "nl\nid", "del\u007f", "esc\u001b[0m", ""):
        expect_status(srv.post("/v1/upsert", {"id": rid, "vector": [1, 0], "namespace": "ta"}, headers=adm), 400,
                      "upsert id %r" % rid)
        enc = "".join("%%%02X" % b for b in rid.encode())
        if enc:
            for method, path in (("GET", "/v1/vectors/%s?namespace=ta"), ("DELETE", "/v1/delete/%s?namespace=ta"),
                                 ("POST", "/v1/soft-delete/%s?namespace=ta")):
                expect_status(srv.req(method, path % enc, headers=adm), (400, 404), "%s id %r" % (method, rid))
    for rid in ("a/b", "..", "../../secret.txt", "../x/namespace.json", "/etc/passwd", "."):
        expect_status(srv.post("/v1/upsert", {"id": rid, "vector": [0.5, 0.5], "namespace": "ta",
                                              "metadata": {"rid": rid}}, headers=adm), 200, "upsert id %r" % rid)
        enc = "".join("%%%02X" % b for b in rid.encode())
        j = expect_status(srv.get("/v1/vectors/%s?namespace=ta" % enc, headers=adm), 200, "get id %r" % rid).json()
        expect_eq((j["id"], j["metadata"]), (rid, {"rid": rid}), "record %r read back" % rid)
        expect_status(srv.req("DELETE", "/v1/delete/%s?namespace=ta" % enc, headers=adm), 200, "delete id %r" % rid)
        expect_status(srv.get("/v1/vectors/%s?namespace=ta" % enc, headers=adm), 404, "deleted id %r" % rid)
    # gRPC: the same namespace ids
    pb, pbg = stubs()
    ch = grpc.insecure_channel("127.0.0.1:%d" % srv.grpc_port)
    c, a = pbg.VecStoreServiceStub(ch), pbg.VecStoreAdminServiceStub(ch)
    md = [("authorization", "Bearer " + ADMIN)]
    for ns in BAD_NAMESPACES:
        for fn, req in ((a.CreateNamespace, pb.CreateNamespaceRequest(id=ns, dimension=2)),
                        (a.GetNamespace, pb.GetNamespaceRequest(namespace_id=ns)),
                        (a.DeleteNamespace, pb.DeleteNamespaceRequest(namespace_id=ns)),
                        (a.CreateApiKey, pb.CreateApiKeyRequest(namespace_id=ns)),
                        (c.Upsert, pb.UpsertRequest(id="t", vector=[1, 0], namespace=ns)),
                        (c.Query, pb.QueryRequest(vector=[1, 0], namespace=ns))):
            try:
                fn(req, timeout=30, metadata=md)
                fail("gRPC %s with namespace %r succeeded" % (type(req).__name__, ns))
            except grpc.RpcError as ex:
                expect(ex.code().name in ("INVALID_ARGUMENT", "NOT_FOUND"),
                       "gRPC %s namespace %r: %s %s" % (type(req).__name__, ns, ex.code().name, ex.details()))
    ch.close()
    still_up(srv, "the traversal attempts")
    expect_eq(e.state(), before, "ta after the traversal attempts")
    expect_eq(fs_snapshot(base, db), outside, "files outside the db dir")
    real_db = os.path.realpath(db)
    for root, dirs, files in os.walk(db):
        for n in dirs + files:
            p = os.path.join(root, n)
            expect(not os.path.islink(p), "symlink in the db dir: %s" % p)
            expect(os.path.realpath(p).startswith(real_db + os.sep), "%s escapes the db dir" % p)
    names = set()
    for root, dirs, files in os.walk(db):
        names.update(dirs + files)
    for ns in BAD_NAMESPACES:
        expect(ns not in names and ns.replace("/", "") not in names and os.path.basename(ns) not in names,
               "db dir holds an entry named after %r: %s" % (ns, sorted(names)))
    # after a restart everything is still there and nothing else appeared
    srv2 = t.restart(srv, args=["--api-key", ADMIN])
    lst = expect_status(srv2.get("/admin/namespaces", headers=adm), 200, "list").json()["namespaces"]
    expect_eq(sorted(n["id"] for n in lst), ["default", "ta", "tb"], "namespaces after restart")
    expect_eq(fs_snapshot(base, db), outside, "files outside the db dir after a restart")


def test_nul_in_namespace_ids_and_fields(t):
    """A JSON string holding NUL is not cut short into another name: "nul\u0000x" must not create
    or address the namespace "nul", "ta\u0000x" must not reach "ta"."""
    e = Env(t)
    srv, adm = e.srv, e.adm
    before = e.state()
    expect_status(srv.post("/admin/namespaces", {"id": "nul\u0000x", "dimension": 2}, headers=adm), 400,
                  "create namespace 'nul\\u0000x'")
    expect_status(srv.get("/admin/namespaces/nul", headers=adm), 404, "namespace 'nul' after the attempt")
    expect_status(srv.post("/v1/upsert", {"id": "z", "vector": [1, 0], "namespace": "ta\u0000x"}, headers=adm),
                  (400, 404), "upsert into namespace 'ta\\u0000x'")
    expect(not e.exists("ta", "z"), "an upsert into 'ta\\u0000x' stored a record in ta")
    expect_status(srv.post("/v1/upsert?namespace=ta%00x", {"id": "z2", "vector": [1, 0]}, headers=adm), (400, 404),
                  "upsert with ?namespace=ta%00x")
    expect(not e.exists("ta", "z2"), "an upsert with ?namespace=ta%00x stored a record in ta")
    expect_status(srv.req("PUT", "/admin/namespaces/ta/status", {"status": "suspended\u0000x"}, headers=adm),
                  400, "status 'suspended\\u0000x'")
    expect_eq(e.state(), before, "ta after NUL names")
    still_up(srv, "NUL names")


# ----------------------------------------------------------------------------------- limits

def _ld(field, payload):
    """A length-delimited protobuf field (any length)."""
    n, out = len(payload), bytearray([field << 3 | 2])
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            break
    return bytes(out) + payload


def test_limits(t):
    e = GEnv(t, args=["--max-body-bytes", "2000000"])
    srv, adm, pb = e.srv, e.adm, e.pb
    before = e.state()
    before_b = e.state("tb", "b1")

    def post(path, body, allowed, what):
        r = srv.post(path, body, headers=adm)
        expect_status(r, allowed, what)
        still_up(srv, what)
        return r

    # body over --max-body-bytes -> 413 (sent as it is, even with a keyless/other namespace order check)
    big = json.dumps({"id": "big", "vector": [1, 0], "namespace": "ta", "metadata": {"p": "x" * 2100000}})
    post("/v1/upsert", big, 413, "body over --max-body-bytes")
    expect_status(srv.post("/v1/upsert", big), 401, "oversized body without a key (401 first)")
    post("/v1/batch-upsert", '{"records":[' + ",".join(['{"id":"x","vector":[1,0]}'] * 90000) + ']}', 413,
         "oversized batch body")
    # JSON nested 10000 deep, anywhere
    deep_meta = '{"id":"d","vector":[1,0],"namespace":"ta","metadata":' + '{"a":' * 10000 + "1" + "}" * 10001
    post("/v1/upsert", deep_meta, 400, "metadata nested 10000 deep")
    post("/v1/upsert", '{"id":"d","namespace":"ta","vector":' + "[" * 10000 + "]" * 10000 + "}", 400,
         "vector nested 10000 deep")
    post("/v1/query", "[" * 10000 + "]" * 10000, 400, "root array nested 10000 deep")
    post("/v1/query", '{"vector":[1,0],"namespace":"ta","x":' + "[" * 100000, 400, "100000 unclosed brackets")
    post("/admin/namespaces", '{"id":"deep","quotas":' + '{"q":' * 10000 + "1" + "}" * 10001, 400,
         "admin body nested 10000 deep")
    post("/v1/upsert", {"id": "d33", "vector": [1, 0], "namespace": "ta",
                        "metadata": json.loads('{"a":' * 33 + "1" + "}" * 33)}, 400, "metadata depth 33")
    post("/v1/upsert", {"id": "d32", "vector": [1, 0], "namespace": "ta",
                        "metadata": json.loads('{"a":' * 31 + "1" + "}" * 31)}, 200, "metadata depth 31")
    # metadata over 64 KiB
    post("/v1/upsert", {"id": "m", "vector": [1, 0], "namespace": "ta", "metadata": {"p": "x" * 66000}}, 400,
         "metadata over 64 KiB")
    post("/v1/batch-upsert", {"namespace": "ta", "records": [{"id": "mb", "vector": [1, 0]},
                                                             {"id": "m2", "vector": [1, 0],
                                                              "metadata": {"p": "x" * 66000}}]},
         400, "batch with one metadata over 64 KiB")
    expect(not e.exists("ta", "mb"), "a refused batch stored its first record")
    # ids
    post("/v1/upsert", {"id": "i" * 513, "vector": [1, 0], "namespace": "ta"}, 400, "id of 513 bytes")
    post("/v1/upsert", {"id": "\u00e9" * 257, "vector": [1, 0], "namespace": "ta"}, 400, "id of 514 UTF-8 bytes")
    post("/v1/upsert", {"id": "i" * 512, "vector": [1, 0], "namespace": "ta"}, 200, "id of 512 bytes")
    expect_status(srv.get("/v1/vectors/%s?namespace=ta" % ("i" * 600), headers=adm), (400, 404), "GET id of 600 bytes")
    # filters
    post("/v1/query", {"vector": [1, 0], "namespace": "ta", "filter": "title = '" + "x" * 4100 + "'"}, 400,
         "filter over 4096 bytes")
    post("/v1/query", {"vector": [1, 0], "namespace": "ta", "filter": "(" * 70 + "n = 1" + ")" * 70}, 400,
         "filter nested 70 deep")
    post("/v1/query", {"vector": [1, 0], "namespace": "ta", "filter": "(" * 3000 + "n = 1" + ")" * 3000}, 400,
         "filter nested 3000 deep")
    post("/v1/query", {"vector": [1, 0], "namespace": "ta", "filter": "NOT " * 1000 + "n = 1"}, (200, 400),
         "1000 NOTs")
    post("/v1/query", {"vector": [1, 0], "namespace": "ta", "filter": "(" * 10 + "n = 1" + ")" * 10}, 200,
         "filter nested 10 deep")
    # batch, limit, dimension
    post("/v1/batch-upsert", {"namespace": "ta", "records": [{"id": "b%d" % i, "vector": [1, 0]}
                                                             for i in range(10001)]}, 400, "batch of 10001")
    expect(not e.exists("ta", "b0"), "a refused batch of 10001 stored records")
    post("/v1/query", {"vector": [1, 0], "namespace": "ta", "limit": 10001}, 400, "limit 10001")
    post("/v1/query", {"vector": [1, 0], "namespace": "ta", "limit": 2 ** 63}, 400, "limit 2^63")
    post("/admin/namespaces", {"id": "huge", "dimension": 65537}, 400, "dimension 65537")
    post("/v1/upsert", {"id": "nan", "vector": [1, "NaN"], "namespace": "ta"}, 400, "string in a vector")
    post("/v1/upsert", '{"id":"inf","vector":[1,1e999],"namespace":"ta"}', 400, "1e999 in a vector")
    post("/v1/upsert", b'{"id":"\xff\xfe","vector":[1,0],"namespace":"ta"}', 400, "invalid UTF-8 id")
    # gRPC: message over the limit, nesting bombs
    try:
        e.c.Upsert(pb.UpsertRequest(id="gbig", vector=[1, 0], namespace="ta",
                                    metadata={"p": pb.MetadataValue(string_value="x" * 2100000)}),
                   timeout=60, metadata=[("x-api-key", ADMIN)])
        fail("gRPC message over --max-body-bytes succeeded")
    except grpc.RpcError as ex:
        expect_eq(ex.code().name, "RESOURCE_EXHAUSTED", "gRPC message over the limit (%s)" % ex.details())
    deep = _ld(1, b"x")  # MetadataValue{string_value}
    for _ in range(1000):
        deep = _ld(4, _ld(1, deep))  # MetadataValue{list_value: ListValue{values: [deep]}}
    entry = _ld(1, b"k") + _ld(2, deep)  # map entry {key, value}
    msg = _ld(1, b"gdeep") + b"\x12\x08" + b"\x00\x00\x80\x3f\x00\x00\x00\x00" + _ld(3, entry) + _ld(4, b"ta")
    fn = e.ch.unary_unary("/vecstore.VecStoreService/Upsert", request_serializer=lambda b: b,
                          response_deserializer=lambda b: b)
    try:
        fn(msg, timeout=30, metadata=[("x-api-key", ADMIN)])
        fail("gRPC metadata nested 1000 deep succeeded")
    except grpc.RpcError as ex:
        expect_eq(ex.code().name, "INVALID_ARGUMENT", "gRPC metadata nested 1000 deep (%s)" % ex.details())
    for junk in (b"\xff" * 64, b"\x0a\xff\xff\xff\xff\x0f", b"\x12\x05\x00\x00", b"\x1a" + b"\x80" * 9 + b"\x01"):
        try:
            fn(junk, timeout=30, metadata=[("x-api-key", ADMIN)])
            fail("malformed protobuf %r accepted" % junk)
        except grpc.RpcError as ex:
            expect(ex.code().name in ("INVALID_ARGUMENT", "NOT_FOUND"),
                   "malformed protobuf %r: %s %s" % (junk, ex.code().name, ex.details()))
    code, _ = e.call(e.c.BatchUpsert, pb.BatchUpsertRequest(
        namespace="ta", records=[pb.Record(id="g%d" % i, vector=[1, 0]) for i in range(10001)]),
        [("x-api-key", ADMIN)])
    expect_eq(code, "INVALID_ARGUMENT", "gRPC batch of 10001")
    code, _ = e.call(e.c.Upsert, pb.UpsertRequest(id="i" * 513, vector=[1, 0], namespace="ta"), [("x-api-key", ADMIN)])
    expect_eq(code, "INVALID_ARGUMENT", "gRPC id of 513 bytes")
    code, _ = e.call(e.c.Query, pb.QueryRequest(vector=[1, 0], namespace="ta", filter="x" * 5000),
                     [("x-api-key", ADMIN)])
    expect_eq(code, "INVALID_ARGUMENT", "gRPC filter of 5000 bytes")
    # nothing changed: same counts (+ the two records the checks meant to store), same records
    expect_status(srv.delete("/v1/delete/%s?namespace=ta" % ("i" * 512), headers=adm), 200, "cleanup 512")
    expect_status(srv.delete("/v1/delete/d32?namespace=ta", headers=adm), 200, "cleanup d32")
    after = e.state()
    expect_eq(after, before, "ta after the limit checks")
    expect_eq(e.state("tb", "b1"), before_b, "tb after the limit checks")
    still_up(srv, "the limit checks")


# ----------------------------------------------------------------------------------- slow clients

def _closed_by_server(sock):
    """Reads until the server closes (True) or 60 s pass (False)."""
    sock.settimeout(60)
    try:
        while True:
            d = sock.recv(65536)
            if not d:
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


def test_slow_clients_are_dropped(t):
    e = Env(t, args=["--idle-timeout", "2"])
    srv = e.srv
    before = e.state()
    partial = [b"POST /v1/up",  # half a request line
               b"POST /v1/upsert HTTP/1.1\r\nHost: x\r\nContent-Le",  # half the headers
               b"POST /v1/upsert HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ADMIN.encode() +
               b"\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"id\": \"slow\", \"vec",
               b"GET /v1/stats HTTP/1.1\r\n"]  # no blank line
    socks = []
    for i in range(40):
        s = socket.create_connection(("127.0.0.1", srv.http_port), timeout=10)
        s.sendall(partial[i % len(partial)])
        socks.append(s)
    # others are served while the slow ones hang
    for i in range(20):
        expect_status(srv.get("/v1/stats?namespace=ta", headers=e.adm), 200, "stats while slow clients hang")
        expect_status(srv.post("/v1/query", {"vector": [1, 0], "namespace": "ta"}, headers=bearer(e.key["ta"])),
                      200, "query while slow clients hang")
    # a gRPC client that sends half the HTTP/2 preface
    g = socket.create_connection(("127.0.0.1", srv.grpc_port), timeout=10)
    g.sendall(b"PRI * HTTP/2.0\r\n")
    for s in socks:
        expect(_closed_by_server(s), "a slow HTTP client was not closed by the server")
        s.close()
    g.close()
    expect(not e.exists("ta", "slow"), "a half-sent body was stored")
    expect_eq(e.state(), before, "ta after the slow clients")
    still_up(srv, "the slow clients")


if __name__ == "__main__":
    h.main(globals())
