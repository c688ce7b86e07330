#!/usr/bin/env python3
"""The real Prometheus scrapes the real vecstore-server (observability/ end to end).

Starts vecstore-server ($VECSTORE_SERVER, else build/vecstore-server) on free loopback ports with a
temp db, and Debian's `prometheus` binary on a free loopback port with a temp config (job
"vecstore", scrape and rule evaluation every 1 s, the repo's observability/alerts.yml) and a temp
storage dir. Sends HTTP, gRPC (curl over HTTP/2) and error traffic, then asks Prometheus' HTTP API:
  - up{job="vecstore"} == 1, and the scraped counters equal the traffic sent;
  - rate(vecstore_query_total[1m]) returns a series > 0 (two scrapes around a second query phase);
  - every metric the Grafana dashboard and the alert rules name exists in the scraped data
    (/api/v1/label/__name__/values), every dashboard expression evaluates without error and the
    latency / throughput / per-namespace panels return data;
  - the alert rules are loaded healthy and NamespaceQuotaExceeded fires for a full namespace.
Every wait is for a state (a scrape that saw the traffic), bounded by a timeout only so a broken
setup cannot hang. Both processes are stopped at the end, also on failure.

Run: python3 tests/integration/test_prometheus.py [-v] [--keep]
Needs: prometheus (Debian package), curl with HTTP/2 (Debian's).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
sys.dont_write_bytecode = True

import harness as h  # noqa: E402
from harness import expect, expect_eq, fail, short  # noqa: E402
import test_deploy_files as deploy  # noqa: E402  (dashboard parsing, metric list)

SCRAPE_TIMEOUT = 90.0


class Prometheus:
    def __init__(self, t, target_port, rules_path):
        self.bin = shutil.which("prometheus")
        expect(self.bin, "prometheus not found on PATH: run ./scripts/install-deps.sh")
        self.dir = t.tmpdir("prometheus")
        self.port = h.free_port()
        cfg = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
            "rule_files": [rules_path],
            "scrape_configs": [{"job_name": "vecstore", "metrics_path": "/metrics",
                                "static_configs": [{"targets": ["127.0.0.1:%d" % target_port]}]}],
        }
        self.cfg_path = os.path.join(self.dir, "prometheus.yml")
        with open(self.cfg_path, "w") as fh:
            json.dump(cfg, fh)  # JSON is YAML
        self.log_path = os.path.join(self.dir, "prometheus.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [self.bin, "--config.file=" + self.cfg_path, "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def log_tail(self, n=6):
        try:
            with open(self.log_path, "rb") as fh:
                lines = fh.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return " | ".join(lines[-n:])

    def wait_ready(self, timeout=60.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            expect(self.proc.poll() is None, "prometheus exited with %s: %s" % (self.proc.returncode, self.log_tail()))
            try:
                if h.http_request(self.port, "GET", "/-/ready", timeout=2.0).status == 200:
                    return
            except h.Fail:
                pass
            time.sleep(0.1)
        fail("prometheus not ready within %.0fs: %s" % (timeout, self.log_tail()))

    def api(self, path, **params):
        q = ("?" + urllib.parse.urlencode(params)) if params else ""
        r = h.http_request(self.port, "GET", "/api/v1/" + path + q, timeout=10.0)
        r.expect(200, "prometheus API %s %s" % (path, params))
        j = r.json()
        expect_eq(j.get("status"), "success", "prometheus API status for %s %s" % (path, params))
        return j["data"]

    def query(self, expr):
        """-> [(labels dict, float value)] of an instant vector."""
        d = self.api("query", query=expr)
        expect_eq(d["resultType"], "vector", "result type of %r" % expr)
        return [(r["metric"], float(r["value"][1])) for r in d["result"]]

    def value(self, expr):
        """The single value of expr, or None when it has no series."""
        res = self.query(expr)
        expect(len(res) <= 1, "%r has %d series: %s" % (expr, len(res), short(res)))
        return res[0][1] if res else None

    def wait_value(self, expr, want, timeout=SCRAPE_TIMEOUT):
        """Until expr's single value equals want (a scrape has seen the state)."""
        last = h.wait_until(lambda: self.value(expr) == want, timeout=timeout, interval=0.2)
        if not last:
            fail("%s never became %r within %.0fs (now %r; prometheus: %s)"
                 % (expr, want, timeout, self.value(expr), self.log_tail()))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


def grpc_health_check(grpc_port, tmpdir):
    """One unary gRPC call (VecStoreService/HealthCheck, empty request) with curl over HTTP/2."""
    msg = os.path.join(tmpdir, "empty.grpc")
    with open(msg, "wb") as fh:
        fh.write(b"\x00\x00\x00\x00\x00")  # uncompressed flag + zero length
    p = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-X", "POST", "-H", "content-type: application/grpc",
                        "-H", "te: trailers", "--data-binary", "@" + msg, "-o", os.devnull, "-D", "-",
                        "http://127.0.0.1:%d/vecstore.VecStoreService/HealthCheck" % grpc_port],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    out = p.stdout.decode("utf-8", "replace")
    expect(p.returncode == 0 and "grpc-status: 0" in out, "gRPC HealthCheck through curl failed: %s" % short(out))


def test_prometheus_scrapes_vecstore(t):
    srv = t.start()
    prom = Prometheus(t, srv.http_port, os.path.join(h.REPO, "observability", "alerts.yml"))
    try:
        prom.wait_ready()
        run_scenario(t, srv, prom)
    finally:
        prom.stop()


def run_scenario(t, srv, prom):
    # ---- up
    prom.wait_value('up{job="vecstore"}', 1.0)

    # ---- traffic, phase 1
    srv.post("/admin/namespaces", {"id": "tenant-a", "quotas": {"max_vectors": 2}}).expect(201, "create tenant-a")
    srv.upsert("a1", [0.1, 0.2, 0.3], {"k": "x"}, ns="tenant-a")
    srv.upsert("a2", [0.3, 0.2, 0.1], {"k": "y"}, ns="tenant-a")
    srv.post("/v1/batch-upsert", {"records": [{"id": "d%d" % i, "vector": [i + 1.0, 1.0]} for i in range(5)]}) \
        .expect(200, "batch upsert")
    srv.delete("/v1/delete/d4").expect(200, "delete")
    q = {"vector": [1.0, 1.0], "limit": 3}
    for _ in range(3):  # the same query: one miss, then cache hits
        srv.post("/v1/query", q).expect(200, "query")
    srv.post("/v1/query", {"namespace": "tenant-a", "vector": [0.1, 0.2, 0.3], "limit": 1}).expect(200, "query")
    srv.get("/v1/vectors/nope").expect(404, "unknown id")
    srv.post("/v1/upsert", {"namespace": "tenant-a", "id": "a3", "vector": [1, 1, 1]}).expect(429, "over quota")
    grpc_health_check(srv.grpc_port, t.tmpdir())

    # a scrape that saw phase 1
    prom.wait_value('vecstore_query_total{job="vecstore"}', 4.0)
    prom.wait_value('vecstore_upsert_total{job="vecstore"}', 7.0)
    expect_eq(prom.value('vecstore_delete_total{job="vecstore"}'), 1.0, "vecstore_delete_total")
    expect_eq(prom.value('vecstore_vectors_total{job="vecstore"}'), 6.0, "vecstore_vectors_total")
    expect_eq(prom.value('vecstore_namespace_vector_count{job="vecstore", namespace="tenant-a"}'), 2.0,
              "tenant-a vector count")
    expect_eq(prom.value('vecstore_namespace_vector_count{job="vecstore", namespace="default"}'), 4.0,
              "default vector count")
    expect_eq(prom.value('vecstore_namespace_quota_utilization{job="vecstore", namespace="tenant-a"}'), 1.0,
              "tenant-a quota utilisation")
    hits = prom.value('vecstore_cache_hits_total{job="vecstore"}')
    expect(hits is not None and hits >= 1, "no cache hit scraped after repeating a query (%r)" % hits)
    expect_eq(prom.value('sum(vecstore_query_duration_seconds_count{job="vecstore"})'), 4.0,
              "latency histogram count")
    expect_eq(prom.value('sum(vecstore_http_requests_total{job="vecstore", route="/v1/upsert", status="429"})'), 1.0,
              "HTTP 429 series")
    expect_eq(prom.value('sum(vecstore_http_requests_total{job="vecstore", status="404"})'), 1.0, "HTTP 404 series")
    expect_eq(prom.value('sum(vecstore_grpc_requests_total{job="vecstore", code="0"})'), 1.0, "gRPC series")

    # ---- phase 2: more queries, so the rate over the window is above 0
    for _ in range(4):
        srv.post("/v1/query", {"vector": [2.0, 1.0], "limit": 2}).expect(200, "query")
    prom.wait_value('vecstore_query_total{job="vecstore"}', 8.0)
    res = prom.query('rate(vecstore_query_total{job="vecstore"}[1m])')
    expect_eq(len(res), 1, "series of rate(vecstore_query_total[1m]): %s" % short(res))
    expect(res[0][1] > 0, "rate(vecstore_query_total[1m]) is %r" % res[0][1])

    # ---- every metric the dashboard and the alerts name exists in the scraped data
    names = set(prom.api("label/__name__/values"))
    dash = deploy.dashboard()
    exprs = deploy.dashboard_exprs(dash)
    used = set()
    for _, e in exprs:
        used |= deploy.promql_metrics(e)
    import yaml
    with open(os.path.join(h.REPO, "observability", "alerts.yml")) as fh:
        for g in yaml.safe_load(fh)["groups"]:
            for r in g["rules"]:
                used |= deploy.promql_metrics(r["expr"])
    expect("vecstore_query_duration_seconds_bucket" in used, "dashboard uses no latency buckets")
    missing = sorted(used - names)
    expect(not missing, "metrics named by the dashboard/alerts but not scraped: %s (scraped: %s)"
           % (missing, sorted(n for n in names if n.startswith(("vecstore", "process")))))
    for fam in deploy.EXPORTED_METRICS:
        series = [fam + s for s in ("_bucket", "_sum", "_count")] if fam in deploy.HISTOGRAMS else [fam]
        for s in series:
            expect(s in names, "exported metric %s was not scraped" % s)

    # ---- every dashboard expression evaluates; the key panels have data
    nonempty = {}
    for title, e in exprs:
        res = prom.query(deploy.grafana_to_promql(e))
        nonempty[title] = nonempty.get(title, False) or bool(res)
    for title in ("Query latency (p50 / p95 / p99)", "Query throughput", "Upserts and deletes", "Vectors total",
                  "Cache hit rate", "Vectors per namespace", "Quota utilisation per namespace",
                  "Requests per namespace", "Resident memory"):
        expect(title in nonempty, "dashboard has no panel %r" % title)
        expect(nonempty[title], "panel %r returns no data" % title)
    p99 = prom.query(deploy.grafana_to_promql(
        'histogram_quantile(0.99, sum by (le) (rate(vecstore_query_duration_seconds_bucket{instance=~"$instance"}[1m])))'))
    expect(p99 and 0 < p99[0][1] <= 10, "p99 latency %r" % p99)

    # ---- alert rules loaded, and the guide's quota alert fires for the full namespace
    groups = prom.api("rules")["groups"]
    loaded = {r["name"]: r for g in groups for r in g["rules"]}
    for a in ("NamespaceNearQuota", "NamespaceQuotaExceeded", "VecStoreDown", "VecStoreHighQueryLatencyP99",
              "VecStoreHighErrorRate"):
        expect(a in loaded, "alert %s not loaded by prometheus (%s)" % (a, sorted(loaded)))
    bad = {n: r.get("lastError") for n, r in loaded.items() if r.get("health") not in ("ok", "unknown")}
    expect(not bad, "unhealthy rules: %s" % bad)

    def firing():
        al = prom.api("alerts")["alerts"]
        return [a for a in al if a["labels"].get("alertname") == "NamespaceQuotaExceeded"
                and a["labels"].get("namespace") == "tenant-a" and a["state"] == "firing"]

    expect(h.wait_until(firing, timeout=SCRAPE_TIMEOUT, interval=0.3),
           "NamespaceQuotaExceeded never fired for tenant-a (alerts: %s)" % short(prom.api("alerts"), 600))
    al = prom.api("alerts")["alerts"]
    expect(not [a for a in al if a["labels"].get("namespace") == "default"], "an alert fired for default: %s" % al)
    expect(not [a for a in al if a["labels"].get("alertname") == "VecStoreDown"], "VecStoreDown fired")

    # ---- the server going away is seen: up drops to 0
    rc = srv.stop()
    expect_eq(rc, 0, "server exit status after SIGTERM")
    prom.wait_value('up{job="vecstore"}', 0.0)


if __name__ == "__main__":
    h.main(globals())
