"""Shared helpers for the integration tests: run the real vecstore-server binary on free loopback
ports with a temporary db directory, talk HTTP to it, and a tiny test runner.

Usage in a test file (tests/integration/test_*.py):

    import harness as h

    def test_upsert_roundtrip(t):
        srv = t.start()                           # free ports, temp db, waits for /health and /ready
        srv.post("/v1/upsert", {"id": "a", "vector": [1, 0]}).expect(200)
        h.expect_eq(srv.get("/v1/vectors/a").json()["id"], "a", "id")

    if __name__ == "__main__":
        h.main(globals())

The binary is $VECSTORE_SERVER (ctest sets it), else <repo>/build/vecstore-server. Each test gets
a `t` (TestCtx) whose servers and temp dirs are cleaned up after it, also when it fails.
Standard library only (Debian's /usr/bin/python3). A run that executes no test, or in which every
test is skipped, fails: a green run always means something was checked.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


# ----------------------------------------------------------------------------------- outcomes

class Fail(Exception):
    pass


class Skip(Exception):
    pass


def fail(msg):
    raise Fail(msg)


def skip(msg):
    raise Skip(msg)


def short(x, n=300):
    s = x if isinstance(x, str) else repr(x)
    return s if len(s) <= n else s[:n] + "..."


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


def expect_eq(actual, expected, what):
    if actual != expected:
        raise Fail("%s: expected %r, got %r" % (what, expected, actual))


def wait_until(pred, timeout=5.0, interval=0.05):
    """Polls pred() until true or timeout; returns the last value. (Waiting for a state, never a
    timing assertion: the timeout only bounds a test that would otherwise hang.)"""
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v or time.time() >= deadline:
            return v
        time.sleep(interval)


# ----------------------------------------------------------------------------------- ports

_ports_lock = threading.Lock()
_ports_given = set()


def free_port():
    """A loopback port nothing listens on now and that this process has not handed out before."""
    with _ports_lock:
        for _ in range(500):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
            s.close()
            if p not in _ports_given:
                _ports_given.add(p)
                return p
    raise Fail("no free port")


def tcp_connects(port, host="127.0.0.1", timeout=1.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def occupied_port():
    """-> (listening socket, port): a port that is in use until the socket is closed."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s, s.getsockname()[1]


# ----------------------------------------------------------------------------------- HTTP

class Resp:
    def __init__(self, method, path, status, headers, body):
        self.method, self.path, self.status, self.headers, self.body = method, path, status, headers, body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        try:
            return json.loads(self.text)
        except ValueError:
            raise Fail("%s %s: answer is not JSON: %s" % (self.method, self.path, short(self.text)))

    def expect(self, status, what=""):
        if self.status != status:
            raise Fail("%s%s %s: expected HTTP %d, got %d: %s" % (what + ": " if what else "", self.method,
                                                                  self.path, status, self.status,
                                                                  short(self.text)))
        return self


def http_request(port, method, path, body=None, headers=None, timeout=30.0, host="127.0.0.1"):
    if body is None:
        data = None
    elif isinstance(body, (bytes, str)):
        data = body.encode("utf-8") if isinstance(body, str) else body
    else:
        data = json.dumps(body).encode("utf-8")
    hdrs = {"Content-Type": "application/json"} if data is not None else {}
    hdrs.update(headers or {})
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        return Resp(method, path, r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    except (OSError, http.client.HTTPException) as e:
        raise Fail("%s %s: connection failed: %s: %s" % (method, path, type(e).__name__, e))
    finally:
        conn.close()


# ----------------------------------------------------------------------------------- the server

def server_binary():
    p = os.environ.get("VECSTORE_SERVER") or os.path.join(REPO, "build", "vecstore-server")
    if not (os.path.isfile(p) and os.access(p, os.X_OK)):
        raise Fail("server binary %s not found: build it (make build) or set VECSTORE_SERVER" % p)
    return p


def clean_env(extra=None):
    """The current environment without the server's own variables, plus extra (None deletes)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("VECSTORE_") and k not in ("DB_PATH", "RUST_LOG")}
    for k, v in (extra or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run_server_cmd(args, env=None, cwd=None, timeout=20.0):
    """Runs the binary to completion (--help, bad flags): -> (rc, stdout, stderr)."""
    try:
        p = subprocess.run([server_binary()] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=clean_env(env), cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Fail("`vecstore-server %s` did not exit within %.0fs" % (" ".join(args), timeout))
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


class Server:
    """One running vecstore-server process (make it with TestCtx.start)."""

    def __init__(self, argv, env, cwd, db, http_port, grpc_port, log_dir):
        self.argv, self.env, self.cwd, self.db = argv, env, cwd, db
        self.http_port, self.grpc_port = http_port, grpc_port
        self.stdout_path = os.path.join(log_dir, "stdout.log")
        self.stderr_path = os.path.join(log_dir, "stderr.log")
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err,
                                     env=env, cwd=cwd, start_new_session=True)

    def _read(self, p):
        try:
            with open(p, "rb") as fh:
                return fh.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stdout(self):
        return self._read(self.stdout_path)

    def stderr(self):
        return self._read(self.stderr_path)

    def log(self):
        return self.stdout() + self.stderr()

    def log_tail(self, n=8):
        return " | ".join([l for l in self.log().splitlines() if l.strip()][-n:])

    def alive(self):
        return self.proc.poll() is None

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=signal.SIGTERM, timeout=30.0):
        """Sends sig and returns the exit status; SIGKILL + Fail if it does not exit in time."""
        if self.alive():
            self.proc.send_signal(sig)
        rc = self.wait_exit(timeout)
        if rc is None:
            self.kill()
            raise Fail("server did not exit within %.0fs of %s (log: %s)" % (timeout, signal.Signals(sig).name,
                                                                          self.log_tail()))
        self._close()
        return rc

    def kill(self):
        if self.alive():
            self.proc.kill()
        self.proc.wait(10)
        self._close()

    def _close(self):
        for fh in (self._out, self._err):
            try:
                fh.close()
            except OSError:
                pass

    # HTTP
    def req(self, method, path, body=None, **kw):
        expect(self.http_port is not None, "this server has no HTTP port")
        return http_request(self.http_port, method, path, body, **kw)

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.req("POST", path, body, **kw)

    def delete(self, path, **kw):
        return self.req("DELETE", path, **kw)

    def upsert(self, id, vector, metadata=None, ns=None):
        body = {"id": id, "vector": vector}
        if metadata is not None:
            body["metadata"] = metadata
        if ns is not None:
            body["namespace"] = ns
        return self.post("/v1/upsert", body).expect(200, "upsert %r" % id)

    def wait_health(self, timeout=60.0):
        """Until GET /health is 200 (Fail if the process exits first)."""
        deadline = time.time() + timeout
        last = "no answer"
        while time.time() < deadline:
            if not self.alive():
                fail("server exited with status %s during start-up: %s" % (self.proc.returncode, self.log_tail()))
            try:
                r = http_request(self.http_port, "GET", "/health", timeout=2.0)
                if r.status == 200:
                    return
                last = "HTTP %d" % r.status
            except Fail as e:
                last = str(e)
            time.sleep(0.05)
        fail("GET /health not 200 within %.0fs (last: %s; log: %s)" % (timeout, last, self.log_tail()))

    def wait_ready(self, timeout=60.0):
        """Until GET /ready is 200 (503 while recovering)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.alive():
                fail("server exited with status %s before /ready: %s" % (self.proc.returncode, self.log_tail()))
            try:
                if http_request(self.http_port, "GET", "/ready", timeout=2.0).status == 200:
                    return
            except Fail:
                pass
            time.sleep(0.05)
        fail("GET /ready not 200 within %.0fs (log: %s)" % (timeout, self.log_tail()))

    def wait_grpc(self, timeout=60.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.alive():
                fail("server exited with status %s during start-up: %s" % (self.proc.returncode, self.log_tail()))
            if tcp_connects(self.grpc_port, timeout=0.5):
                return
            time.sleep(0.05)
        fail("gRPC port %d not accepting within %.0fs (log: %s)" % (self.grpc_port, timeout, self.log_tail()))


class TestCtx:
    """Per-test state: temp dirs and the servers to stop afterwards."""

    def __init__(self, name, keep=False):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="vs-%s-" % name)
        self.keep = keep
        self.servers = []
        self._n = 0

    def tmpdir(self, name=None):
        self._n += 1
        d = os.path.join(self.dir, name or "tmp%d" % self._n)
        os.makedirs(d, exist_ok=True)
        return d

    def start(self, args=(), env=None, db=None, db_flag=True, http=True, grpc=True, port_flags=True,
              http_port=None, grpc_port=None, cwd=None, wait=True, timeout=60.0):
        """Starts a server on 127.0.0.1 with free ports and (db_flag) --db-path db or a fresh dir.
        http/grpc False add --no-http/--no-grpc. wait: for /health + /ready (or the gRPC port
        when there is no HTTP). Returns the Server."""
        self._n += 1
        db = db or os.path.join(self.dir, "db%d" % self._n)
        hp = http_port or (free_port() if http else None)
        gp = grpc_port or (free_port() if grpc else None)
        argv = [server_binary(), "--host", "127.0.0.1"]
        if port_flags:
            if http:
                argv += ["--http-port", str(hp)]
            if grpc:
                argv += ["--grpc-port", str(gp)]
        if not http:
            argv.append("--no-http")
        if not grpc:
            argv.append("--no-grpc")
        if db_flag:
            argv += ["--db-path", db]
        argv += list(args)
        log_dir = self.tmpdir("server%d" % self._n)
        srv = Server(argv, clean_env(env), cwd or self.dir, db, hp, gp, log_dir)
        self.servers.append(srv)
        if wait:
            if hp:
                srv.wait_health(timeout)
                srv.wait_ready(timeout)
            if gp:
                srv.wait_grpc(timeout)
        return srv

    def restart(self, srv, **kw):
        """SIGTERM srv (expect exit 0), then start a new server on the same db and ports."""
        rc = srv.stop()
        expect_eq(rc, 0, "exit status after SIGTERM (log: %s)" % srv.log_tail())
        kw.setdefault("db", srv.db)
        return self.start(**kw)

    def cleanup(self):
        for srv in self.servers:
            if srv.alive():
                srv.proc.send_signal(signal.SIGTERM)
                if srv.wait_exit(15) is None:
                    srv.kill()
            srv._close()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


# ----------------------------------------------------------------------------------- runner

def main(namespace, argv=None):
    """Runs every test_* function of namespace (a module's globals()) in definition order, each
    with a fresh TestCtx. Arguments: substrings selecting tests; -v prints tracebacks; --keep
    keeps temp dirs. Exit status 0 only if at least one test passed and none failed."""
    argv = sys.argv[1:] if argv is None else argv
    verbose = "-v" in argv
    keep = "--keep" in argv
    pats = [a for a in argv if not a.startswith("-")]
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    tests = [(n, f) for n, f in tests if not pats or any(p in n for p in pats)]
    passed = failed = skipped = 0
    for name, fn in tests:
        t = TestCtx(name, keep=keep)
        t0 = time.time()
        try:
            fn(t)
            passed += 1
            print("PASS %s (%.1fs)" % (name, time.time() - t0), flush=True)
        except Skip as e:
            skipped += 1
            print("SKIP %s: %s" % (name, e), flush=True)
        except Exception as e:  # a test's own bug is a failure too
            failed += 1
            msg = str(e) if isinstance(e, Fail) else "%s: %s" % (type(e).__name__, e)
            print("FAIL %s: %s" % (name, msg), flush=True)
            if verbose:
                traceback.print_exc()
        finally:
            t.cleanup()
            if keep:
                print("  kept %s" % t.dir, flush=True)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped), flush=True)
    if not tests:
        print("no test selected: failing", flush=True)
    elif passed == 0 and failed == 0:
        print("every test was skipped: failing", flush=True)
    sys.exit(0 if failed == 0 and passed > 0 else 1)
