#!/usr/bin/env python3
"""Multi-tenant namespaces (issue 7) against the real binary: quotas at their boundaries (at the limit,
one over, after raising it), statuses, isolation (a record of one namespace is never visible, deletable or
countable from another, filters and hybrid queries included), persistence of namespaces and quotas across a
restart, and 1,000 namespaces created and queried in one server with the memory per empty namespace
reported (target < 64 KiB).

Run: python3 tests/integration/test_namespaces.py [-v] [name-substring ...]
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
sys.dont_write_bytecode = True

import harness as h  # noqa: E402
from harness import expect, expect_eq  # noqa: E402


def create(srv, body, status=201):
    return srv.post("/admin/namespaces", body).expect(status, "create %s" % body.get("id"))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_vector_quota_boundary(t):
    srv = t.start()
    create(srv, {"id": "q", "quotas": {"max_vectors": 3}})
    for i in range(3):
        srv.upsert("v%d" % i, [1.0, float(i)], ns="q")
    r = srv.post("/v1/upsert", {"namespace": "q", "id": "v3", "vector": [1.0, 3.0]}).expect(429, "one over")
    expect_eq(r.json()["error"], "Vector quota exceeded: 3 / 3 vectors", "message")
    srv.upsert("v0", [2.0, 0.0], ns="q")  # replacing an existing id is allowed at the limit
    srv.req("PUT", "/admin/namespaces/q/quotas", {"max_vectors": 4}).expect(200, "raise")
    srv.upsert("v3", [1.0, 3.0], ns="q")
    srv.delete("/v1/delete/v3?namespace=q").expect(200, "delete frees a slot")
    srv.upsert("v4", [1.0, 4.0], ns="q")


def test_static_quotas(t):
    srv = t.start()
    create(srv, {"id": "s", "quotas": {"max_dimension": 2, "max_batch_size": 2, "max_results_per_query": 5}})
    r = srv.post("/v1/upsert", {"namespace": "s", "id": "a", "vector": [1, 2, 3]}).expect(429, "dimension")
    expect_eq(r.json()["error"], "Dimension 3 exceeds the namespace limit of 2", "dimension message")
    recs = [{"id": "r%d" % i, "vector": [1, i]} for i in range(3)]
    r = srv.post("/v1/batch-upsert", {"namespace": "s", "records": recs}).expect(429, "batch")
    expect_eq(r.json()["error"], "Batch of 3 records exceeds the namespace limit of 2", "batch message")
    srv.post("/v1/batch-upsert", {"namespace": "s", "records": recs[:2]}).expect(200, "batch at the limit")
    r = srv.post("/v1/query", {"namespace": "s", "vector": [1, 0], "limit": 6}).expect(429, "limit")
    expect_eq(r.json()["error"], "limit 6 exceeds the namespace limit of 5 results", "limit message")
    srv.post("/v1/query", {"namespace": "s", "vector": [1, 0], "limit": 5}).expect(200, "limit at the max")


def test_rate_limit(t):
    srv = t.start()
    create(srv, {"id": "r", "quotas": {"max_requests_per_second": 2.5}})
    time.sleep(1.2)
    codes = [srv.get("/v1/stats?namespace=r").status for _ in range(5)]
    expect_eq(codes[:2], [200, 200], "burst of 2.5 admits 2")
    expect(429 in codes, "a request over the burst is refused: %s" % codes)
    r = srv.get("/v1/stats?namespace=r")
    if r.status == 429:
        expect_eq(r.json()["error"], "Rate limit exceeded: 2.5 requests/second", "rate message")


def test_statuses(t):
    srv = t.start()
    create(srv, {"id": "st"})
    srv.upsert("a", [1, 0], ns="st")
    srv.req("PUT", "/admin/namespaces/st/status", {"status": "read_only"}).expect(200)
    r = srv.post("/v1/upsert", {"namespace": "st", "id": "b", "vector": [0, 1]}).expect(403, "read_only write")
    expect_eq(r.json()["error"], "Namespace 'st' is read_only: writes are rejected", "read_only message")
    srv.post("/v1/query", {"namespace": "st", "vector": [1, 0]}).expect(200, "read_only query")
    for status in ("suspended", "pending_deletion"):
        srv.req("PUT", "/admin/namespaces/st/status", {"status": status}).expect(200)
        srv.post("/v1/query", {"namespace": "st", "vector": [1, 0]}).expect(403, "%s query" % status)
        srv.get("/admin/namespaces/st").expect(200, "admin works when %s" % status)
    srv.req("PUT", "/admin/namespaces/st/status", {"status": "bogus"}).expect(400, "invalid status")


def test_isolation(t):
    srv = t.start()
    create(srv, {"id": "a1"})
    create(srv, {"id": "b1"})
    srv.upsert("same", [1, 0], {"owner": "a", "text": "alpha words"}, ns="a1")
    srv.upsert("same", [0, 1], {"owner": "b", "text": "beta words"}, ns="b1")
    srv.upsert("only-a", [1, 1], {"owner": "a", "text": "alpha"}, ns="a1")
    res = srv.post("/v1/query", {"namespace": "b1", "vector": [1, 0], "limit": 10,
                                 "filter": "owner = 'a'"}).expect(200).json()["results"]
    expect_eq(res, [], "a filter never reaches another namespace")
    res = srv.post("/v1/hybrid-query", {"namespace": "b1", "vector": [1, 0], "text_query": "alpha",
                                        "limit": 10}).expect(200).json()["results"]
    expect_eq([r["id"] for r in res], ["same"], "hybrid sees only its namespace")
    expect_eq(res[0]["metadata"]["owner"], "b", "same id, own record")
    srv.delete("/v1/delete/only-a?namespace=b1").expect(404, "delete across namespaces")
    expect_eq(srv.get("/v1/stats?namespace=b1").json()["vector_count"], 1, "counts are per namespace")
    srv.get("/v1/vectors/only-a?namespace=b1").expect(404, "get across namespaces")


def test_persistence(t):
    srv = t.start()
    create(srv, {"id": "keep", "tier": "free"})
    srv.upsert("x", [1, 2, 3], ns="keep")
    srv.req("PUT", "/admin/namespaces/keep/status", {"status": "read_only"}).expect(200)
    srv = t.restart(srv)
    ns = srv.get("/admin/namespaces/keep").expect(200).json()
    expect_eq(ns["status"], "read_only", "status after restart")
    expect_eq(ns["quotas"]["max_vectors"], 10000, "tier quota after restart")
    expect_eq(ns["dimension"], 3, "dimension after restart")
    expect_eq(srv.get("/v1/stats?namespace=keep").json()["vector_count"], 1, "records after restart")


def test_thousand_namespaces(t):
    srv = t.start()
    pid = srv.proc.pid
    time.sleep(0.5)
    before = rss_kib(pid)
    n = 1000
    for i in range(n):
        create(srv, {"id": "tenant-%04d" % i})
    after = rss_kib(pid)
    per_ns = (after - before) * 1024.0 / n
    print("memory per empty namespace: %.0f bytes (RSS %d KiB -> %d KiB for %d namespaces)"
          % (per_ns, before, after, n))
    for i in range(0, n, 50):
        ns = "tenant-%04d" % i
        srv.upsert("d", [1.0, float(i)], ns=ns)
        res = srv.post("/v1/query", {"namespace": ns, "vector": [1.0, float(i)], "limit": 3}).expect(200).json()
        expect_eq([r["id"] for r in res["results"]], ["d"], "query in %s" % ns)
    listed = srv.get("/admin/namespaces").expect(200).json()["namespaces"]
    expect_eq(len(listed), n + 1, "namespaces listed (default included)")
    expect(per_ns < 64 * 1024, "memory per empty namespace %.0f bytes >= 64 KiB" % per_ns)


if __name__ == "__main__":
    h.main(globals())
