#!/usr/bin/env python3
"""TLS on both ports (SPEC 1 and 11: --tls-cert, --tls-key, --tls-client-ca) against the real
vecstore-server with real clients.

The test makes its own PKI with the `openssl` command in a temp dir, once per run: a CA, a server
certificate signed by it (RSA, SAN IP:127.0.0.1 + DNS:localhost), a client certificate from the CA
(EC, clientAuth), and a second "rogue" CA with its own client certificate. Pins:
  - HTTPS: /health verified against the CA (by IP and by name), the served certificate is the one
    given, an upsert/query round trip; plain HTTP and ws:// to the TLS port get no answer; a
    client that does not trust the CA refuses the server.
  - gRPC: a channel with grpc.ssl_channel_credentials(CA) does Upsert/Query (and sees HTTPS's
    writes); an insecure channel and a channel trusting only the rogue CA fail.
  - wss:// /ws/query-stream: several queries on one socket, a large streamed answer (many TLS
    records through MHD's upgrade forwarding) equal to the HTTPS /v1/query answer, a close the
    server starts (1009) delivered over TLS, and a SIGTERM that closes the socket with 1001 and
    exits 0.
  - --tls-client-ca: a client certificate from the CA works on HTTPS, wss and gRPC; no
    certificate, or one from the rogue CA, is refused on all three.
  - start-up: an unreadable --tls-cert / --tls-key / --tls-client-ca file exits 2 naming the flag;
    a file that is no certificate, a key that is not the certificate's, --tls-cert without
    --tls-key: each refused with a line naming the flag (exit 1 for the content checks, 2 for the
    command line ones).
Standard library + python3-grpcio + python3-websocket (Debian), like the other integration tests.

Run: /usr/bin/python3 tests/integration/test_tls.py [-v] [--keep] [name-substring ...]
(binary: $VECSTORE_SERVER, else build/vecstore-server).
"""

import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
sys.dont_write_bytecode = True

import harness as h  # noqa: E402
from harness import expect, expect_eq, fail, short  # noqa: E402

import grpc  # noqa: E402
import websocket  # noqa: E402

from test_grpc import stubs  # noqa: E402  (protoc-generated stubs, made once per run)

# ----------------------------------------------------------------------------------- the PKI

_PKI = {}


def _openssl(args, cwd):
    p = subprocess.run(["openssl"] + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    expect(p.returncode == 0, "openssl %s failed: %s" % (" ".join(args), p.stderr.decode()))


def _ca(d, name):
    _openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
              "-keyout", name + ".key", "-out", name + ".pem", "-days", "2", "-subj", "/CN=VecStore test " + name,
              "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
             d)


def _leaf(d, name, ca, key_args, subj, ext_lines):
    _openssl(["req", "-newkey"] + key_args + ["-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                                              "-subj", subj], d)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("\n".join(ext_lines) + "\n")
    _openssl(["x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key", "-CAcreateserial",
              "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext"], d)


def pki():
    """{name: path}: ca.pem, srv.pem/srv.key, cli.pem/cli.key, rogue-ca.pem, rogue.pem/rogue.key."""
    if _PKI:
        return _PKI
    expect(shutil.which("openssl"), "the openssl command is needed (apt-get install -y openssl)")
    d = tempfile.mkdtemp(prefix="vs-tls-pki-")
    atexit.register(shutil.rmtree, d, True)
    _ca(d, "ca")
    _ca(d, "rogue-ca")
    _leaf(d, "srv", "ca", ["rsa:2048"], "/CN=localhost",
          ["subjectAltName=IP:127.0.0.1,DNS:localhost", "extendedKeyUsage=serverAuth",
           "keyUsage=critical,digitalSignature,keyEncipherment"])
    ec = ["ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    _leaf(d, "cli", "ca", ec, "/CN=vecstore-client", ["extendedKeyUsage=clientAuth"])
    _leaf(d, "rogue", "rogue-ca", ec, "/CN=rogue-client", ["extendedKeyUsage=clientAuth"])
    for n in ("ca", "srv", "cli", "rogue-ca", "rogue"):
        _PKI[n + ".pem"] = os.path.join(d, n + ".pem")
        _PKI[n + ".key"] = os.path.join(d, n + ".key")
    _PKI["dir"] = d
    return _PKI


def read(path):
    with open(path, "rb") as f:
        return f.read()


def ssl_ctx(ca="ca.pem", cert=None):
    """A client context trusting ca (hostname checked), optionally presenting cert (e.g. "cli")."""
    p = pki()
    ctx = ssl.create_default_context(cafile=p[ca])
    if cert:
        ctx.load_cert_chain(p[cert + ".pem"], p[cert + ".key"])
    return ctx


# ----------------------------------------------------------------------------------- clients

def https(port, method, path, body=None, ctx=None, host="127.0.0.1", timeout=30.0):
    """One HTTPS request -> harness.Resp; any TLS or connection failure raises OSError/HTTPException."""
    data = json.dumps(body).encode() if body is not None else None
    conn = http.client.HTTPSConnection(host, port, context=ctx or ssl_ctx(), timeout=timeout)
    try:
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        r = conn.getresponse()
        return h.Resp(method, path, r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def https_ok(port, method, path, body=None, ctx=None, host="127.0.0.1"):
    try:
        r = https(port, method, path, body, ctx, host)
    except (OSError, http.client.HTTPException) as e:
        fail("HTTPS %s %s via %s failed: %s: %s" % (method, path, host, type(e).__name__, e))
    return r.expect(200)


def expect_refused(fn, what):
    """fn() must fail at the transport (TLS alert, reset, no HTTP answer)."""
    try:
        r = fn()
    except (OSError, http.client.HTTPException, websocket.WebSocketException) as e:
        return "%s: %s" % (type(e).__name__, e)
    fail("%s: expected the connection to be refused, got an answer: %s" % (what, short(getattr(r, "status", r))))


def start_tls(t, client_ca=False, extra=()):
    """A server with --tls-cert/--tls-key (and --tls-client-ca); waits for HTTPS /health itself
    (harness.Server waits over plain HTTP) and for the gRPC port."""
    p = pki()
    args = ["--tls-cert", p["srv.pem"], "--tls-key", p["srv.key"]]
    if client_ca:
        args += ["--tls-client-ca", p["ca.pem"]]
    srv = t.start(args=args + list(extra), wait=False)
    ctx = ssl_ctx(cert="cli" if client_ca else None)
    deadline = time.time() + 60
    last = "no answer"
    while True:
        if not srv.alive():
            fail("server exited with status %s during start-up: %s" % (srv.proc.returncode, srv.log_tail()))
        try:
            r = https(srv.http_port, "GET", "/ready", ctx=ctx, timeout=2.0)
            if r.status == 200:
                break
            last = "HTTP %d" % r.status
        except (OSError, http.client.HTTPException) as e:
            last = "%s: %s" % (type(e).__name__, e)
        if time.time() > deadline:
            fail("HTTPS /ready not 200 within 60s (last: %s; log: %s)" % (last, srv.log_tail()))
        time.sleep(0.05)
    srv.wait_grpc()
    # the gRPC port accepts before main prints its line: wait for the line (bounded), not a race
    h.wait_until(lambda: "gRPC listening" in srv.stdout(), timeout=30)
    out = srv.stdout()
    expect("HTTP listening on 127.0.0.1:%d (TLS)" % srv.http_port in out, "start-up line for HTTPS: %s" % short(out))
    expect("gRPC listening on 127.0.0.1:%d (TLS)" % srv.grpc_port in out, "start-up line for gRPC: %s" % short(out))
    return srv


CORPUS = [("a", [1.0, 0.0, 0.0]), ("b", [0.9, 0.1, 0.0]), ("c", [0.0, 1.0, 0.0]), ("d", [0.0, 0.0, 1.0])]


def load_https(srv, ctx=None):
    for i, (rid, v) in enumerate(CORPUS):
        https_ok(srv.http_port, "POST", "/v1/upsert", {"id": rid, "vector": v, "metadata": {"i": i}}, ctx)


def query_ids_https(srv, vec, limit, ctx=None):
    j = https_ok(srv.http_port, "POST", "/v1/query", {"vector": vec, "limit": limit}, ctx).json()
    return [r["id"] for r in j["results"]]


def grpc_channel(srv, ca="ca.pem", cert=None):
    p = pki()
    creds = grpc.ssl_channel_credentials(
        root_certificates=read(p[ca]),
        private_key=read(p[cert + ".key"]) if cert else None,
        certificate_chain=read(p[cert + ".pem"]) if cert else None)
    return grpc.secure_channel("127.0.0.1:%d" % srv.grpc_port, creds)


def grpc_roundtrip(srv, ch, rid):
    """Upsert rid over gRPC, then Query: rid is the best hit; -> the ids of the answer."""
    pb, pbg = stubs()
    c = pbg.VecStoreServiceStub(ch)
    c.Upsert(pb.UpsertRequest(id=rid, vector=[0.3, 0.3, 0.9]), timeout=30)
    r = c.Query(pb.QueryRequest(vector=[0.3, 0.3, 0.9], limit=3), timeout=30)
    ids = [x.id for x in r.results]
    expect(ids and ids[0] == rid, "gRPC Query after Upsert of %s: got %s" % (rid, ids))
    return ids


def grpc_refused(srv, ch, what):
    pb, pbg = stubs()
    try:
        pbg.VecStoreServiceStub(ch).HealthCheck(pb.HealthCheckRequest(), timeout=10)
    except grpc.RpcError as e:
        expect_eq(e.code(), grpc.StatusCode.UNAVAILABLE, "%s: status (%s)" % (what, e.details()))
        return
    finally:
        ch.close()
    fail("%s: HealthCheck succeeded, expected the connection to be refused" % what)


def wss(srv, cert=None, ca="ca.pem"):
    p = pki()
    sslopt = {"ca_certs": p[ca]}
    if cert:
        sslopt.update(certfile=p[cert + ".pem"], keyfile=p[cert + ".key"])
    return websocket.create_connection("wss://127.0.0.1:%d/ws/query-stream" % srv.http_port, sslopt=sslopt,
                                       timeout=30)


def ws_query(ws, q):
    """Sends one query, reads result frames until `complete` -> (result frames, final frame)."""
    ws.send(json.dumps(q))
    results = []
    while True:
        m = json.loads(ws.recv())
        if m.get("complete") is True or "error" in m:
            return results, m
        results.append(m)


# ----------------------------------------------------------------------------------- tests

def test_https_health_and_roundtrip(t):
    srv = start_tls(t)
    port = srv.http_port
    expect_eq(https_ok(port, "GET", "/health").json().get("status"), "ok", "HTTPS /health by IP")
    https_ok(port, "GET", "/health", host="localhost")  # the DNS SAN
    # the certificate served is the one given, over TLS 1.2 or 1.3
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ssl_ctx().wrap_socket(raw, server_hostname="127.0.0.1") as s:
            expect_eq(s.getpeercert(binary_form=True), ssl.PEM_cert_to_DER_cert(read(pki()["srv.pem"]).decode()),
                      "served certificate")
            expect(s.version() in ("TLSv1.2", "TLSv1.3"), "TLS version %s" % s.version())
    load_https(srv)
    expect_eq(query_ids_https(srv, [1.0, 0.0, 0.0], 2), ["a", "b"], "HTTPS query after HTTPS upserts")
    j = https_ok(port, "GET", "/v1/vectors/c").json()
    expect_eq(j.get("id"), "c", "HTTPS get")
    # a client that does not trust our CA refuses the server
    err = expect_refused(lambda: https(port, "GET", "/health", ctx=ssl.create_default_context()), "untrusted CA")
    expect("CERTIFICATE_VERIFY_FAILED" in err, "untrusted server certificate: %s" % err)
    # plain HTTP to the TLS port gets no HTTP answer
    expect_refused(lambda: _plain_get(port), "plain HTTP to the TLS port")
    # and the server still serves HTTPS afterwards
    https_ok(port, "GET", "/health")


def _plain_get(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/health")
        r = conn.getresponse()
        return h.Resp("GET", "/health", r.status, {}, r.read())
    finally:
        conn.close()


def test_grpc_tls(t):
    srv = start_tls(t)
    load_https(srv)
    ch = grpc_channel(srv)
    try:
        ids = grpc_roundtrip(srv, ch, "g1")
        expect_eq(ids[0], "g1", "gRPC over TLS")
        pb, pbg = stubs()
        r = pbg.VecStoreServiceStub(ch).Query(pb.QueryRequest(vector=[1.0, 0.0, 0.0], limit=2), timeout=30)
        expect_eq([x.id for x in r.results], ["a", "b"], "gRPC query sees the HTTPS upserts")
    finally:
        ch.close()
    expect_eq(query_ids_https(srv, [0.3, 0.3, 0.9], 1), ["g1"], "HTTPS sees the gRPC upsert")
    grpc_refused(srv, grpc.insecure_channel("127.0.0.1:%d" % srv.grpc_port), "insecure channel to the TLS port")
    grpc_refused(srv, grpc_channel(srv, ca="rogue-ca.pem"), "channel trusting another CA")


def test_wss_stream(t):
    srv = start_tls(t)
    load_https(srv)
    ws = wss(srv)
    try:
        for rid, vec, n in (("q1", [1.0, 0.0, 0.0], 2), ("q2", [0.0, 1.0, 0.0], 3)):
            res, final = ws_query(ws, {"vector": vec, "limit": n, "request_id": rid})
            expect("error" not in final, "wss %s: %s" % (rid, short(final)))
            expect_eq(final.get("request_id"), rid, "request_id of the complete frame")
            expect_eq([r["id"] for r in res], query_ids_https(srv, vec, n), "wss %s vs HTTPS /v1/query" % rid)
            expect_eq([r["rank"] for r in res], list(range(1, n + 1)), "ranks")
        # a large answer: ~200 KB of frames through MHD's TLS forwarding of the upgraded socket
        pad = "x" * 700
        for i in range(300):
            https_ok(srv.http_port, "POST", "/v1/upsert",
                     {"id": "big%03d" % i, "vector": [1.0, i / 300.0, 0.5], "metadata": {"pad": pad, "i": i, "big": True}})
        res, final = ws_query(ws, {"vector": [1.0, 0.0, 0.5], "limit": 300, "filter": "big = true"})
        expect("error" not in final, "large wss query: %s" % short(final))
        expect_eq(len(res), 300, "result frames of the large query")
        expect(all(r["metadata"]["pad"] == pad for r in res), "metadata intact through TLS")
        j = https_ok(srv.http_port, "POST", "/v1/query",
                     {"vector": [1.0, 0.0, 0.5], "limit": 300, "filter": "big = true"}).json()
        expect_eq([r["id"] for r in res], [r["id"] for r in j["results"]], "large wss answer vs HTTPS")
    finally:
        ws.close()
    # ws:// (no TLS) to the TLS port gets no handshake
    expect_refused(lambda: websocket.create_connection("ws://127.0.0.1:%d/ws/query-stream" % srv.http_port,
                                                       timeout=10), "ws:// to the TLS port")
    # SIGTERM with a wss socket open: close frame 1001 over TLS, exit 0
    ws = wss(srv)
    res, final = ws_query(ws, {"vector": [1.0, 0.0, 0.0], "limit": 1})
    expect("error" not in final, "wss before SIGTERM: %s" % short(final))
    srv.proc.send_signal(signal.SIGTERM)
    try:
        op, frame = ws.recv_data_frame(True)
        expect_eq(op, websocket.ABNF.OPCODE_CLOSE, "frame after SIGTERM")
        code = int.from_bytes(frame.data[:2], "big") if len(frame.data) >= 2 else None
        expect_eq(code, 1001, "close code after SIGTERM")
    except websocket.WebSocketConnectionClosedException:
        fail("wss socket closed without a close frame after SIGTERM")
    finally:
        ws.close()
    rc = srv.wait_exit(60)
    expect(rc is not None, "no exit within 60s of SIGTERM (log: %s)" % srv.log_tail())
    expect_eq(rc, 0, "exit status after SIGTERM (log: %s)" % srv.log_tail())


def test_wss_server_close(t):
    """A close the server starts (message over --max-ws-frame-bytes -> 1009) reaches the client over
    TLS, and the server keeps serving wss."""
    srv = start_tls(t, extra=["--max-ws-frame-bytes", "1000"])
    ws = wss(srv)
    try:
        ws.send("x" * 5000)
        op, frame = ws.recv_data_frame(True)
        expect_eq(op, websocket.ABNF.OPCODE_CLOSE, "frame after an oversized message")
        expect_eq(int.from_bytes(frame.data[:2], "big"), 1009, "close code for an oversized message")
    except websocket.WebSocketConnectionClosedException:
        fail("wss closed without a close frame after an oversized message")
    finally:
        ws.close()
    ws = wss(srv)
    try:
        res, final = ws_query(ws, {"vector": [1.0, 0.0, 0.0], "limit": 1})
        expect("error" not in final, "wss after a 1009 close: %s" % short(final))
    finally:
        ws.close()


def test_client_certificates(t):
    srv = start_tls(t, client_ca=True)
    port = srv.http_port
    good = ssl_ctx(cert="cli")
    # with a certificate from the CA: HTTPS, gRPC and wss work
    load_https(srv, good)
    expect_eq(query_ids_https(srv, [1.0, 0.0, 0.0], 2, good), ["a", "b"], "HTTPS with a client certificate")
    ch = grpc_channel(srv, cert="cli")
    try:
        grpc_roundtrip(srv, ch, "mtls")
    finally:
        ch.close()
    ws = wss(srv, cert="cli")
    try:
        res, final = ws_query(ws, {"vector": [0.3, 0.3, 0.9], "limit": 1})
        expect("error" not in final, "wss with a client certificate: %s" % short(final))
        expect_eq([r["id"] for r in res], ["mtls"], "wss sees the gRPC upsert")
    finally:
        ws.close()
    # without a certificate, or with one from another CA: refused on every port and protocol
    for cert, what in ((None, "no client certificate"), ("rogue", "a certificate from another CA")):
        expect_refused(lambda: https(port, "GET", "/health", ctx=ssl_ctx(cert=cert)), "HTTPS with " + what)
        expect_refused(lambda: https(port, "POST", "/v1/upsert", {"id": "x", "vector": [1, 0, 0]},
                                     ctx=ssl_ctx(cert=cert)), "HTTPS upsert with " + what)
        expect_refused(lambda: wss(srv, cert=cert), "wss with " + what)
        grpc_refused(srv, grpc_channel(srv, cert=cert), "gRPC with " + what)
    # nothing got in: x was never written; the server still serves good clients
    r = https(port, "GET", "/v1/vectors/x", ctx=good)
    expect_eq(r.status, 404, "record from a refused client")
    https_ok(port, "GET", "/health", ctx=good)


def _bad_start(t, args, what):
    """Runs the server with args on free ports; -> (exit status, output). It must exit."""
    db = os.path.join(t.tmpdir(), "db")
    rc, out, err = h.run_server_cmd(["--host", "127.0.0.1", "--http-port", str(h.free_port()), "--grpc-port",
                                     str(h.free_port()), "--db-path", db] + args, timeout=60)
    expect(rc is not None, what)
    return rc, out + err


def test_bad_tls_files(t):
    p = pki()
    d = t.tmpdir("files")
    missing = os.path.join(d, "missing.pem")
    garbage = os.path.join(d, "garbage.pem")
    with open(garbage, "w") as f:
        f.write("this is not a certificate\n")
    cases = [
        (["--tls-cert", missing, "--tls-key", p["srv.key"]], 2, ["--tls-cert", missing], "unreadable --tls-cert"),
        (["--tls-cert", d, "--tls-key", p["srv.key"]], 2, ["--tls-cert", d], "--tls-cert is a directory"),
        (["--tls-cert", p["srv.pem"], "--tls-key", missing], 2, ["--tls-key", missing], "unreadable --tls-key"),
        (["--tls-cert", p["srv.pem"], "--tls-key", p["srv.key"], "--tls-client-ca", missing], 2,
         ["--tls-client-ca", missing], "unreadable --tls-client-ca"),
        (["--tls-cert", p["srv.pem"]], 2, ["--tls-key"], "--tls-cert without --tls-key"),
        (["--tls-cert", garbage, "--tls-key", p["srv.key"]], 1, ["--tls-cert", garbage], "a cert file with no PEM"),
        (["--tls-cert", p["srv.pem"], "--tls-key", garbage], 1, ["--tls-key", garbage], "a key file with no PEM"),
        (["--tls-cert", p["srv.pem"], "--tls-key", p["cli.key"]], 1, ["--tls-key", p["cli.key"], "--tls-cert"],
         "a key that is not the certificate's"),
        (["--tls-cert", p["srv.pem"], "--tls-key", p["srv.key"], "--tls-client-ca", garbage], 1,
         ["--tls-client-ca", garbage], "a client CA file with no PEM"),
    ]
    for args, want_rc, words, what in cases:
        rc, out = _bad_start(t, args, what)
        expect_eq(rc, want_rc, "%s: exit status (output: %s)" % (what, short(out)))
        for w in words:
            expect(w in out, "%s: the message does not name %r: %s" % (what, w, short(out)))
        expect("listening" not in out, "%s: a listener started: %s" % (what, short(out)))
    # the same files, good: starts (the cases above are refused for their content only)
    srv = start_tls(t)
    https_ok(srv.http_port, "GET", "/health")


if __name__ == "__main__":
    h.main(globals())
