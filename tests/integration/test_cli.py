#!/usr/bin/python3
"""vecstore-server's command line (SPEC section 1) and logs (SPEC section 9), against the real binary.

Pins: --help / -h / --version output; every invalid value -> exit status 2 with the exact one-line
message; start-up failures -> exit status 1 naming the port; flag > environment > default for the
db path, ports, switches and the log level; `HTTP listening on` / `gRPC listening on` on stdout;
every stderr line in `timestamp LEVEL message` form; the open-server warning; SIGTERM and SIGINT
-> exit status 0 with the data there after a restart.

Run: /usr/bin/python3 tests/integration/test_cli.py [-v] [--keep] [name-substring ...]
(binary: $VECSTORE_SERVER, else build/vecstore-server).
"""

import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
sys.dont_write_bytecode = True

import harness as h  # noqa: E402
from harness import expect, expect_eq, fail, free_port, short  # noqa: E402

LOG_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (ERROR|WARN|INFO|DEBUG|TRACE) \S")

GUIDE_OPTIONS = ["-d", "--db-path", "--grpc-port", "--http-port", "--dimension", "--debug", "--no-grpc",
                 "--no-http", "-h", "--help"]
SPEC_OPTIONS = ["--host", "--metric", "--threads", "--fsync", "--max-body-bytes", "--max-ws-frame-bytes",
                "--api-key", "--metrics-require-key", "--tls-cert", "--tls-key", "--tls-client-ca", "-V",
                "--version", "--max-connections", "--idle-timeout"]


def has_option(text, opt):
    return re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(opt), text) is not None


def levels(text):
    """-> list of the level of every stderr line (Fail on a line not in log format)."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        m = LOG_RE.match(line)
        expect(m, "stderr line not `timestamp LEVEL message`: %r" % short(line, 160))
        out.append(m.group(1))
    return out


def traffic(srv):
    srv.upsert("a", [0.1, 0.2, 0.3], {"t": "x"})
    srv.post("/v1/query", {"vector": [0.1, 0.2, 0.3], "limit": 1}).expect(200, "query")
    srv.get("/v1/vectors/nope").expect(404, "unknown id")


# ----------------------------------------------------------------------------- no server needed

def test_help_lists_every_option_with_defaults(t):
    rc, out, err = h.run_server_cmd(["--help"])
    expect_eq(rc, 0, "--help exit status")
    expect_eq(err, "", "--help stderr")
    missing = [o for o in GUIDE_OPTIONS + SPEC_OPTIONS if not has_option(out, o)]
    expect(not missing, "--help lacks %s" % missing)
    for d in ("[default: vecstore.db]", "[default: 50051]", "[default: 8080]", "[default: 0.0.0.0]",
              "[default: cosine]", "[default: always]", "[default: 67108864]", "[default: 16777216]",
              "[default: 10000]", "[default: 30]", "[default: info]"):
        expect(d in out, "--help lacks %r" % d)
    for env in ("DB_PATH", "RUST_LOG", "VECSTORE_LOG", "VECSTORE_API_KEY", "VECSTORE_<FLAG>"):
        expect(env in out, "--help does not mention %s" % env)
    expect(out.startswith("VecStore") and "Usage: vecstore-server [OPTIONS]" in out, "help header")
    expect(re.search(r"^  -d, --db-path <PATH> +Path to vector database", out, re.M), "guide layout of -d")
    rc2, out2, _ = h.run_server_cmd(["-h"])
    expect_eq((rc2, out2), (0, out), "-h prints the same help")
    # --help wins over the options around it, even a bad one after it
    rc3, out3, _ = h.run_server_cmd(["--http-port", "9", "--help", "--bogus"])
    expect_eq((rc3, out3), (0, out), "--help among other options")


def test_version(t):
    for flag in ("--version", "-V"):
        rc, out, err = h.run_server_cmd([flag])
        expect_eq(rc, 0, "%s exit status" % flag)
        expect(re.fullmatch(r"vecstore-server \d+\.\d+\.\d+\n", out), "%s printed %r" % (flag, out))
        expect_eq(err, "", "%s stderr" % flag)


# (args, env, the exact stderr line)
BAD = [
    (["--http-port", "0"], None, "error: invalid value '0' for '--http-port <PORT>': port must be 1-65535"),
    (["--grpc-port", "65536"], None,
     "error: invalid value '65536' for '--grpc-port <PORT>': port must be 1-65535"),
    (["--http-port", "70000"], None,
     "error: invalid value '70000' for '--http-port <PORT>': port must be 1-65535"),
    (["--http-port", "abc"], None,
     "error: invalid value 'abc' for '--http-port <PORT>': not a number; a port is 1-65535"),
    (["--http-port", "-1"], None,
     "error: invalid value '-1' for '--http-port <PORT>': not a number; a port is 1-65535"),
    (["--http-port=8o80"], None,
     "error: invalid value '8o80' for '--http-port <PORT>': not a number; a port is 1-65535"),
    ([], {"VECSTORE_HTTP_PORT": "0"},
     "error: invalid value '0' for VECSTORE_HTTP_PORT (--http-port <PORT>): port must be 1-65535"),
    ([], {"VECSTORE_GRPC_PORT": "99999"},
     "error: invalid value '99999' for VECSTORE_GRPC_PORT (--grpc-port <PORT>): port must be 1-65535"),
    (["--metric", "cosin"], None,
     "error: invalid value 'cosin' for '--metric <M>': expected one of cosine, l2, dot"),
    ([], {"VECSTORE_METRIC": "L2"},
     "error: invalid value 'L2' for VECSTORE_METRIC (--metric <M>): expected one of cosine, l2, dot"),
    (["--fsync", "sometimes"], None,
     "error: invalid value 'sometimes' for '--fsync <POLICY>': expected one of always, everysec, never"),
    (["--dimension", "0"], None, "error: invalid value '0' for '--dimension <DIM>': must be 1-65536"),
    (["--dimension", "65537"], None, "error: invalid value '65537' for '--dimension <DIM>': must be 1-65536"),
    (["--threads", "0"], None, "error: invalid value '0' for '--threads <N>': must be 1-1024"),
    (["--max-body-bytes", "lots"], None,
     "error: invalid value 'lots' for '--max-body-bytes <N>': not a number; expected 1-1099511627776"),
    (["--max-ws-frame-bytes", "0"], None,
     "error: invalid value '0' for '--max-ws-frame-bytes <N>': must be 1-1099511627776"),
    (["--no-grpc", "--no-http"], None,
     "error: '--no-grpc' and '--no-http' cannot be used together: at least one protocol must stay enabled"),
    (["--no-grpc"], {"VECSTORE_NO_HTTP": "1"},
     "error: '--no-grpc' and '--no-http' cannot be used together: at least one protocol must stay enabled"),
    ([], {"VECSTORE_NO_HTTP": "maybe"},
     "error: invalid value 'maybe' for VECSTORE_NO_HTTP (--no-http): expected true or false "
     "(1/0, yes/no, on/off)"),
    (["--bogus-option"], None, "error: unknown option '--bogus-option' (see 'vecstore-server --help')"),
    (["--bogus-option=3"], None, "error: unknown option '--bogus-option' (see 'vecstore-server --help')"),
    (["-x"], None, "error: unknown option '-x' (see 'vecstore-server --help')"),
    (["stray"], None, "error: unexpected argument 'stray' (see 'vecstore-server --help')"),
    (["--http-port"], None, "error: a value is required for '--http-port <PORT>' but none was supplied"),
    (["-d"], None, "error: a value is required for '-d <PATH>' but none was supplied"),
    (["--debug=yes"], None, "error: option '--debug' takes no value (got 'yes')"),
    (["--api-key", ""], None, "error: invalid value '***' for '--api-key <KEY>': must not be empty"),
    (["--host", ""], None, "error: invalid value '' for '--host <ADDR>': must not be empty"),
    ([], {"VECSTORE_LOG": "loud"},
     "error: invalid value 'loud' for VECSTORE_LOG: expected error, warn, info, debug or trace"),
]


def test_invalid_values_exit_2_with_one_exact_line(t):
    db = os.path.join(t.dir, "db")
    for args, env, want in BAD:
        full = ["--host", "127.0.0.1", "--db-path", db] + args
        rc, out, err = h.run_server_cmd(full, env=env)
        label = " ".join(args) + (" env %s" % env if env else "")
        expect_eq(rc, 2, "%s: exit status (stderr %s)" % (label, short(err)))
        expect_eq(err, want + "\n", "%s: stderr" % label)
        expect_eq(out, "", "%s: stdout" % label)
    expect(not os.path.exists(db), "a rejected start-up created the db directory")


def test_db_path_not_a_directory_exits_2(t):
    f = os.path.join(t.dir, "plainfile")
    with open(f, "w") as fh:
        fh.write("x\n")
    rc, out, err = h.run_server_cmd(["--db-path", f])
    expect_eq((rc, err), (2, "error: invalid value '%s' for '--db-path <PATH>': not a directory (the database "
                             "path must be a directory)\n" % f), "--db-path FILE")
    rc, out, err = h.run_server_cmd([], env={"DB_PATH": f})
    expect_eq((rc, err), (2, "error: invalid value '%s' for DB_PATH (--db-path <PATH>): not a directory (the "
                             "database path must be a directory)\n" % f), "DB_PATH=FILE")
    sub = os.path.join(f, "sub")
    rc, out, err = h.run_server_cmd(["-d", sub])
    expect_eq((rc, err), (2, "error: invalid value '%s' for '-d <PATH>': a parent of the path is not a "
                             "directory\n" % sub), "-d FILE/sub")


def test_tls_files_checked_exit_2(t):
    d = t.tmpdir()
    cert, key = os.path.join(d, "no-cert.pem"), os.path.join(d, "no-key.pem")
    rc, out, err = h.run_server_cmd(["--tls-cert", cert, "--tls-key", key])
    expect_eq((rc, err), (2, "error: invalid value '%s' for '--tls-cert <PEM>': cannot read the file: No such "
                             "file or directory\n" % cert), "missing cert")
    real = os.path.join(d, "cert.pem")
    with open(real, "w") as fh:
        fh.write("-----BEGIN CERTIFICATE-----\n")
    rc, out, err = h.run_server_cmd(["--tls-cert", real, "--tls-key", d])
    expect_eq((rc, err), (2, "error: invalid value '%s' for '--tls-key <PEM>': not a regular file\n" % d),
              "key is a directory")
    rc, out, err = h.run_server_cmd(["--tls-cert", real])
    expect_eq((rc, err), (2, "error: '--tls-cert <PEM>' requires '--tls-key <PEM>' (TLS needs both a "
                             "certificate and its key)\n"), "cert without key")
    rc, out, err = h.run_server_cmd(["--tls-client-ca", real])
    expect_eq((rc, err), (2, "error: '--tls-client-ca <PEM>' requires '--tls-cert <PEM>' and '--tls-key "
                             "<PEM>'\n"), "client CA without cert")
    rc, out, err = h.run_server_cmd([], env={"VECSTORE_TLS_CERT": cert, "VECSTORE_TLS_KEY": key})
    expect_eq((rc, err), (2, "error: invalid value '%s' for VECSTORE_TLS_CERT (--tls-cert <PEM>): cannot read "
                             "the file: No such file or directory\n" % cert), "VECSTORE_TLS_CERT")


# ----------------------------------------------------------------------------- running servers

def test_port_in_use_exits_1_naming_the_port(t):
    for which, other in (("--http-port", "--grpc-port"), ("--grpc-port", "--http-port")):
        s, port = h.occupied_port()
        try:
            rc, out, err = h.run_server_cmd(["--host", "127.0.0.1", "--db-path", t.tmpdir(), which, str(port),
                                             other, str(free_port())], timeout=30)
        finally:
            s.close()
        expect_eq(rc, 1, "%s %d in use: exit status (stderr %s)" % (which, port, short(err)))
        errs = [l for l in err.splitlines() if " ERROR " in l]
        expect(errs and str(port) in errs[-1] and which in errs[-1],
               "%s in use: no ERROR line naming %s %d: %s" % (which, which, port, short(err)))
        levels(err)


def test_listening_lines_log_format_and_open_warning(t):
    srv = t.start()
    expect_eq(srv.stdout(), "HTTP listening on 127.0.0.1:%d\ngRPC listening on 127.0.0.1:%d\n" % (
        srv.http_port, srv.grpc_port), "stdout")
    traffic(srv)
    lv = levels(srv.stderr())
    expect("INFO" in lv and "DEBUG" not in lv and "TRACE" not in lv, "levels at the default: %s" % lv)
    warn = [l for l in srv.stderr().splitlines() if " WARN " in l and "without an API key" in l]
    expect(warn, "no open-server warning: %s" % srv.log_tail())
    expect_eq(srv.stop(), 0, "exit status after SIGTERM")
    levels(srv.stderr())


def test_api_key_no_warning_and_never_logged(t):
    key = "s3cret-admin-key-0123456789"
    srv = t.start(args=["--debug"], env={"VECSTORE_API_KEY": key}, wait=False)
    srv.wait_health()
    auth = {"Authorization": "Bearer " + key}
    h.wait_until(lambda: h.http_request(srv.http_port, "GET", "/ready").status == 200, 30)
    srv.post("/v1/upsert", {"id": "k", "vector": [1.0, 2.0]}).expect(401, "upsert without the key")
    h.http_request(srv.http_port, "POST", "/v1/upsert", {"id": "k", "vector": [1.0, 2.0]},
                   headers=auth).expect(200, "upsert with the key")
    expect_eq(srv.stop(), 0, "exit status")
    log = srv.log()
    expect("without an API key" not in log, "open-server warning although VECSTORE_API_KEY is set")
    expect(key not in log, "the API key appears in the log")
    expect(re.search(r" DEBUG config .*api_key=set", log), "the debug config line lacks api_key=set")


def test_default_db_path_sigterm_and_restart(t):
    cwd = t.tmpdir("cwd")
    srv = t.start(db_flag=False, cwd=cwd)
    srv.upsert("a", [0.25, 0.5, 1.0], {"name": "a"})
    expect_eq(srv.stop(signal.SIGTERM), 0, "exit status after SIGTERM")
    db = os.path.join(cwd, "vecstore.db")
    expect(os.path.isdir(db) and os.listdir(db), "./vecstore.db not created (cwd has %s)" % os.listdir(cwd))
    expect("shutdown complete" in srv.stderr(), "no `shutdown complete` line: %s" % srv.log_tail())
    srv2 = t.start(db_flag=False, cwd=cwd)
    j = srv2.get("/v1/vectors/a").expect(200, "record after restart").json()
    expect_eq(j.get("vector"), [0.25, 0.5, 1.0], "vector after restart")
    expect_eq(j.get("metadata"), {"name": "a"}, "metadata after restart")
    expect_eq(srv2.stop(signal.SIGINT), 0, "exit status after SIGINT")
    expect("SIGINT received" in srv2.stderr(), "SIGINT not logged: %s" % srv2.log_tail())


def test_db_path_precedence(t):
    cwd = t.tmpdir("cwd")
    a, b, c = (os.path.join(t.dir, n) for n in ("from_db_path", "from_vecstore_db_path", "from_flag"))
    # DB_PATH alone
    srv = t.start(db_flag=False, cwd=cwd, env={"DB_PATH": a})
    srv.upsert("x", [1.0, 0.0])
    expect_eq(srv.stop(), 0, "exit status")
    expect(os.path.isdir(a) and os.listdir(a), "DB_PATH not used")
    # VECSTORE_DB_PATH beats DB_PATH
    srv = t.start(db_flag=False, cwd=cwd, env={"DB_PATH": a, "VECSTORE_DB_PATH": b})
    srv.upsert("x", [1.0, 0.0])
    expect_eq(srv.stop(), 0, "exit status")
    expect(os.path.isdir(b) and os.listdir(b), "VECSTORE_DB_PATH not used")
    # the flag (-d) beats both
    srv = t.start(db_flag=False, cwd=cwd, env={"DB_PATH": a, "VECSTORE_DB_PATH": b}, args=["-d", c])
    srv.upsert("x", [1.0, 0.0])
    expect_eq(srv.stop(), 0, "exit status")
    expect(os.path.isdir(c) and os.listdir(c), "-d not used")
    expect(not os.path.exists(os.path.join(cwd, "vecstore.db")), "./vecstore.db created although a path was set")
    # an empty variable counts as unset: the default ./vecstore.db
    srv = t.start(db_flag=False, cwd=cwd, env={"DB_PATH": ""})
    expect_eq(srv.stop(), 0, "exit status")
    expect(os.path.isdir(os.path.join(cwd, "vecstore.db")), "DB_PATH='' did not fall back to ./vecstore.db")


def test_env_ports_switches_and_flag_precedence(t):
    hp, gp = free_port(), free_port()
    srv = t.start(port_flags=False, http_port=hp, grpc_port=gp,
                  env={"VECSTORE_HTTP_PORT": str(hp), "VECSTORE_GRPC_PORT": str(gp)})
    expect("HTTP listening on 127.0.0.1:%d" % hp in srv.stdout(), "VECSTORE_HTTP_PORT not used")
    expect_eq(srv.stop(), 0, "exit status")
    # a bad variable that a flag overrides is never looked at
    hp2 = free_port()
    srv = t.start(http_port=hp2, env={"VECSTORE_HTTP_PORT": "0"})
    expect("HTTP listening on 127.0.0.1:%d" % hp2 in srv.stdout(), "--http-port not used over the variable")
    expect_eq(srv.stop(), 0, "exit status")
    # VECSTORE_NO_GRPC=true disables gRPC
    gp3 = free_port()
    srv = t.start(grpc_port=gp3, env={"VECSTORE_NO_GRPC": "true"}, wait=False)
    srv.wait_health()
    srv.wait_ready()
    expect(not h.tcp_connects(gp3), "VECSTORE_NO_GRPC=true but gRPC listens")
    expect("gRPC listening" not in srv.stdout(), "VECSTORE_NO_GRPC=true but stdout says gRPC listens")
    expect_eq(srv.stop(), 0, "exit status")


def test_no_grpc_and_no_http(t):
    gp = free_port()
    srv = t.start(grpc=False, args=["--grpc-port", str(gp)])
    srv.upsert("a", [1.0, 0.0])
    expect(not h.tcp_connects(gp), "--no-grpc but port %d accepts" % gp)
    expect_eq(srv.stdout(), "HTTP listening on 127.0.0.1:%d\n" % srv.http_port, "stdout with --no-grpc")
    expect_eq(srv.stop(), 0, "exit status")
    hp = free_port()
    srv = t.start(http=False, args=["--http-port", str(hp)])
    expect(not h.tcp_connects(hp), "--no-http but port %d accepts" % hp)
    expect_eq(srv.stdout(), "gRPC listening on 127.0.0.1:%d\n" % srv.grpc_port, "stdout with --no-http")
    expect_eq(srv.stop(), 0, "exit status")


def grpc_health(port, service=""):
    """grpc.health.v1.Health/Check over a raw channel (no generated code) -> status number."""
    try:
        import grpc
    except ImportError:
        h.skip("python3-grpcio is not installed")
    req = b"" if not service else b"\x0a" + bytes([len(service)]) + service.encode()
    with grpc.insecure_channel("127.0.0.1:%d" % port) as ch:
        fn = ch.unary_unary("/grpc.health.v1.Health/Check", request_serializer=lambda b: b,
                            response_deserializer=lambda b: b)
        resp = fn(req, timeout=10)
    # the answer is one varint field 1 (status); absent = 0
    return resp[1] if len(resp) >= 2 and resp[0] == 0x08 else 0


def test_grpc_port_opens_after_recovery(t):
    """With --no-http the gRPC port is the readiness signal: once it accepts, every namespace is
    loaded and grpc.health.v1 answers SERVING (here after a SIGKILL, so the log is replayed)."""
    srv = t.start()
    recs = [{"id": "r%04d" % i, "vector": [float(i % 7), float(i % 11), 1.0]} for i in range(2000)]
    srv.post("/v1/batch-upsert", {"records": recs}).expect(200, "batch-upsert")
    srv.kill()
    srv2 = t.start(http=False, db=srv.db)
    expect_eq(grpc_health(srv2.grpc_port), 1, "grpc.health.v1 status as soon as the port accepts")
    expect_eq(srv2.stdout(), "gRPC listening on 127.0.0.1:%d\n" % srv2.grpc_port, "stdout")
    expect_eq(srv2.stop(), 0, "exit status")
    srv3 = t.start(db=srv.db)
    expect_eq(srv3.get("/v1/stats").expect(200, "stats").json().get("active_count"), 2000, "records after replay")


def test_log_levels(t):
    def run(args=(), env=None):
        srv = t.start(args=args, env=env)
        traffic(srv)
        expect_eq(srv.stop(), 0, "exit status (%s %s)" % (args, env))
        return levels(srv.stderr())

    lv = run(args=["--debug"])
    expect("DEBUG" in lv, "--debug: no DEBUG line")
    lv = run(env={"VECSTORE_DEBUG": "1"})
    expect("DEBUG" in lv, "VECSTORE_DEBUG=1: no DEBUG line")
    lv = run(env={"RUST_LOG": "debug"})
    expect("DEBUG" in lv and "TRACE" not in lv, "RUST_LOG=debug: %s" % sorted(set(lv)))
    lv = run(env={"RUST_LOG": "vecstore=trace"})
    expect("DEBUG" in lv, "RUST_LOG=vecstore=trace: no DEBUG/TRACE line")
    lv = run(env={"RUST_LOG": "info"})
    expect("DEBUG" not in lv and "TRACE" not in lv and "INFO" in lv, "RUST_LOG=info: %s" % sorted(set(lv)))
    # VECSTORE_LOG beats RUST_LOG; warn hides INFO but keeps the open-server warning
    lv = run(env={"RUST_LOG": "debug", "VECSTORE_LOG": "warn"})
    expect(set(lv) <= {"WARN", "ERROR"} and "WARN" in lv, "VECSTORE_LOG=warn: %s" % sorted(set(lv)))
    # --debug raises a quieter variable
    lv = run(args=["--debug"], env={"VECSTORE_LOG": "error"})
    expect("DEBUG" in lv, "--debug with VECSTORE_LOG=error: no DEBUG line")
    # RUST_LOG that names no level: a warning, the default level
    srv = t.start(env={"RUST_LOG": "hyper"})
    lv = levels(srv.stderr())
    expect(any("RUST_LOG=hyper names no log level" in l for l in srv.stderr().splitlines()),
           "no warning about RUST_LOG=hyper: %s" % srv.log_tail())
    expect("INFO" in lv and "DEBUG" not in lv, "RUST_LOG=hyper: %s" % sorted(set(lv)))
    expect_eq(srv.stop(), 0, "exit status")


def test_vectors_never_logged(t):
    srv = t.start(args=["--debug"])
    v = [0.7071234, 0.1234567, 0.9876543]
    srv.upsert("secret-vector", v, {"t": "x"})
    srv.post("/v1/query", {"vector": v, "limit": 1}).expect(200, "query")
    expect_eq(srv.stop(), 0, "exit status")
    log = srv.log()
    for frag in ("0.707123", "0.123456", "0.987654"):
        expect(frag not in log, "a vector component (%s...) appears in the log" % frag)


def test_unreadable_db_dir_exits_1(t):
    if os.geteuid() == 0:
        h.skip("running as root: permissions do not stop root")
    d = t.tmpdir("locked")
    os.chmod(d, 0)
    try:
        rc, out, err = h.run_server_cmd(["--host", "127.0.0.1", "--db-path", d, "--http-port", str(free_port()),
                                         "--grpc-port", str(free_port())], timeout=30)
    finally:
        os.chmod(d, 0o755)
    expect_eq(rc, 1, "unreadable db dir: exit status (%s)" % short(err))
    expect(d in err, "the error does not name %s: %s" % (d, short(err)))


if __name__ == "__main__":
    h.main(globals())
