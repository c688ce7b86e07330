#!/usr/bin/env python3
"""Lints the deployment and observability files (no Docker engine or cluster needed).

Pins:
  - Dockerfile: a `build` stage on debian:12 that runs scripts/install-deps.sh build and make build;
    a runtime stage on debian:12 with only runtime libraries (every one exists in apt:
    `apt-cache show` exits 0), and, when build/vecstore-server exists, covering every shared
    library `ldd` names (package via dpkg -S, inside the runtime packages' dependency closure or
    Priority: required); non-root USER, VOLUME /data, ENV DB_PATH=/data/vectors.db, EXPOSE 50051
    8080, HEALTHCHECK on /health, STOPSIGNAL SIGTERM, exec-form ENTRYPOINT vecstore-server.
  - .dockerignore keeps build dirs, .cache and .git out and the sources in.
  - docker-compose.yml: service vecstore, container_name vecstore-server, ports, /data volume,
    RUST_LOG=info, healthcheck; monitoring services mount files that exist.
  - deploy/k8s: Deployment (probes /health and /ready on 8080, env DB_PATH, ports, PVC claim,
    memory request >= the README formula for 1M x 768, grace period), Service (selector and
    ports match the pod), PersistentVolumeClaim vecstore-pvc.
  - observability: promtool check config / check rules / test rules pass; prometheus.yml scrapes
    job vecstore on localhost:8080; the Grafana dashboard is valid JSON whose every panel has a
    data source and targets, whose every PromQL expression parses (promtool) and names only
    metrics the server exports (the list below, itself checked against src/service/metrics.c).

Run: python3 tests/integration/test_deploy_files.py [-v] [name-substring ...]
Needs: python3-yaml, promtool (Debian prometheus), apt-cache, dpkg (scripts/install-deps.sh).
"""

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
sys.dont_write_bytecode = True

import harness as h  # noqa: E402
from harness import expect, expect_eq, fail, short  # noqa: E402

REPO = h.REPO

# Every metric family the server exports (src/service/metrics.c); histogram series add
# _bucket/_sum/_count. Shared with test_prometheus.py.
EXPORTED_METRICS = {
    "vecstore_upsert_total", "vecstore_query_total", "vecstore_delete_total",
    "vecstore_query_duration_seconds", "vecstore_vectors_total", "vecstore_namespaces",
    "vecstore_cache_hits_total", "vecstore_cache_misses_total", "vecstore_namespace_vector_count",
    "vecstore_namespace_quota_utilization", "vecstore_namespace_requests_total",
    "vecstore_http_requests_total", "vecstore_grpc_requests_total", "vecstore_errors_total",
    "process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
    "process_threads", "process_open_fds", "process_max_fds", "process_start_time_seconds",
}
HISTOGRAMS = {"vecstore_query_duration_seconds"}
PROMETHEUS_BUILTIN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}

RUNTIME_PKGS_EXPECTED = {"libmicrohttpd12", "libwslay1", "libjansson4", "libssl3", "libgrpc29",
                         "libprotobuf-c1", "ca-certificates", "curl"}


def path(rel):
    return os.path.join(REPO, rel)


def read(rel):
    p = path(rel)
    expect(os.path.isfile(p), "%s is missing" % rel)
    with open(p, encoding="utf-8") as fh:
        return fh.read()


def yaml_docs(rel):
    import yaml
    try:
        return [d for d in yaml.safe_load_all(read(rel)) if d is not None]
    except yaml.YAMLError as e:
        fail("%s: invalid YAML: %s" % (rel, short(str(e), 300)))


def run(argv, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def need_tool(name):
    p = shutil.which(name)
    expect(p, "%s not found on PATH: run ./scripts/install-deps.sh" % name)
    return p


# ----------------------------------------------------------------------------- metric names in PromQL

PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values",
    "group", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
    "offset", "rate", "irate", "increase", "delta", "idelta", "deriv", "changes", "resets",
    "histogram_quantile", "label_values", "label_replace", "label_join", "abs", "ceil", "floor", "round",
    "clamp", "clamp_min", "clamp_max", "vector", "scalar", "time", "timestamp", "sort", "sort_desc",
    "absent", "absent_over_time", "avg_over_time", "max_over_time", "min_over_time", "sum_over_time",
    "count_over_time", "last_over_time", "predict_linear", "humanize", "inf", "nan",
}


def promql_metrics(expr):
    """-> set of the metric names an expression selects (labels, strings, ranges, variables and
    function / keyword names removed)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # string literals
    e = re.sub(r"\{[^{}]*\}", "{}", e)                     # label matchers
    e = re.sub(r"\[[^\]]*\]", "[]", e)                     # range selectors
    e = re.sub(r"\$\{?\w+\}?", " ", e)                     # Grafana variables
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)(?!\w)", e):
        w = m.group(1)
        if w.lower() in PROMQL_WORDS:
            continue
        rest = e[m.end():].lstrip()
        if rest.startswith("(") and w not in EXPORTED_METRICS:   # a function call
            continue
        names.add(w)
    return names


def family_of(name):
    for h_ in HISTOGRAMS:
        if name in (h_ + "_bucket", h_ + "_sum", h_ + "_count"):
            return h_
    return name


def dashboard():
    text = read("observability/grafana-dashboard.json")
    try:
        d = json.loads(text)
    except ValueError as e:
        fail("grafana-dashboard.json is not valid JSON: %s" % e)
    return d.get("dashboard", d)


def dashboard_panels(d):
    out = []
    for p in d.get("panels") or []:
        out.append(p)
        out.extend(p.get("panels") or [])
    return [p for p in out if p.get("type") != "row"]


def dashboard_exprs(d):
    """-> [(panel title, expr)] over every panel target."""
    return [(p.get("title"), t.get("expr") or "") for p in dashboard_panels(d) for t in p.get("targets") or []]


def grafana_to_promql(expr):
    """Substitutes the dashboard's variables so promtool can parse the expression."""
    e = expr.replace("$__rate_interval", "1m").replace("$__interval", "1m").replace("$__range", "1h")
    return re.sub(r"\$\{?(instance|namespace)\}?", ".*", e)


# ----------------------------------------------------------------------------- Dockerfile

def dockerfile_instructions():
    """-> [(INSTRUCTION, args)] with continuation lines joined and comments dropped."""
    out, cur = [], ""
    for line in read("Dockerfile").splitlines():
        s = line.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if cur and s.startswith("#"):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        parts = cur.split(None, 1)
        out.append((parts[0].upper(), parts[1] if len(parts) > 1 else ""))
        cur = ""
    expect(not cur, "Dockerfile ends inside a continued line")
    return out


def dockerfile_stages():
    """-> (global ARGs {name: default}, [stage dict(name, base, ins)])."""
    args, stages = {}, []
    for ins, rest in dockerfile_instructions():
        if ins == "FROM":
            m = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$", rest, re.I)
            expect(m, "bad FROM line: %r" % rest)
            base = re.sub(r"\$\{?(\w+)\}?", lambda mm: args.get(mm.group(1), mm.group(0)), m.group(1))
            stages.append({"name": m.group(2), "base": base, "ins": []})
        elif not stages:
            expect(ins == "ARG", "instruction %s before the first FROM" % ins)
            k, _, v = rest.partition("=")
            args[k.strip()] = v.strip()
        else:
            stages[-1]["ins"].append((ins, rest))
    return args, stages


def stage_get(stage, ins):
    return [r for i, r in stage["ins"] if i == ins]


def runtime_packages(stage):
    pkgs = []
    for r in stage_get(stage, "RUN"):
        for m in re.finditer(r"apt-get\s+install\s+((?:-\S+\s+)*)([^&;|]+)", r):
            pkgs += [w for w in m.group(2).split() if not w.startswith("-")]
    return pkgs


def test_dockerfile_stages_and_runtime_settings(t):
    args, stages = dockerfile_stages()
    expect(len(stages) >= 2, "Dockerfile has %d stage(s), expected a build and a runtime stage" % len(stages))
    build, rt = stages[0], stages[-1]
    expect_eq(build["name"], "build", "first stage name")
    for st in (build, rt):
        expect_eq(st["base"], "debian:12", "base image of stage %s" % st["name"])
    runs = " && ".join(stage_get(build, "RUN"))
    expect(re.search(r"(^|\s)\./scripts/install-deps\.sh\s+build\b", runs),
           "build stage does not run ./scripts/install-deps.sh build: %s" % short(runs))
    expect(re.search(r"\bmake\s+build\b", runs), "build stage does not run make build")
    expect(any(i == "COPY" for i, _ in build["ins"]), "build stage copies nothing")
    expect(runs.index("install-deps.sh") < runs.index("make build"), "make build runs before install-deps")

    copies = stage_get(rt, "COPY")
    expect(any(re.match(r"--from=build\s+\S*vecstore-server\s+\S+", c) for c in copies),
           "runtime stage does not COPY --from=build the vecstore-server binary: %s" % copies)
    users = stage_get(rt, "USER")
    expect(users, "runtime stage has no USER")
    expect(users[-1].split(":")[0] not in ("root", "0"), "runtime runs as root")
    expect(re.search(r"useradd\b.*\b%s\b" % re.escape(users[-1].split(":")[0]), " ".join(stage_get(rt, "RUN"))),
           "USER %s is never created with useradd" % users[-1])
    expect_eq(" ".join(stage_get(rt, "EXPOSE")).split(), ["50051", "8080"], "EXPOSE")
    vols = " ".join(stage_get(rt, "VOLUME"))
    expect(vols in ("/data", '["/data"]'), "VOLUME is %r, expected /data" % vols)
    envs = " ".join(stage_get(rt, "ENV"))
    expect(re.search(r"\bDB_PATH=/data/vectors\.db\b", envs), "no ENV DB_PATH=/data/vectors.db: %r" % envs)
    hc = stage_get(rt, "HEALTHCHECK")
    expect(len(hc) == 1 and "CMD" in hc[0] and "/health" in hc[0] and "curl" in hc[0],
           "HEALTHCHECK does not curl /health: %s" % hc)
    expect_eq(stage_get(rt, "STOPSIGNAL"), ["SIGTERM"], "STOPSIGNAL")
    ep = stage_get(rt, "ENTRYPOINT")
    expect(len(ep) == 1, "runtime stage needs exactly one ENTRYPOINT: %s" % ep)
    try:
        argv = json.loads(ep[0])
    except ValueError:
        fail("ENTRYPOINT is not exec form (a JSON array): %r" % ep[0])
    expect(isinstance(argv, list) and argv and os.path.basename(argv[0]) == "vecstore-server",
           "ENTRYPOINT does not run vecstore-server: %r" % ep[0])
    dst = [c.split()[-1] for c in copies if "vecstore-server" in c]
    expect(argv[0] in dst or any(argv[0].startswith(d.rstrip("/") + "/") for d in dst),
           "ENTRYPOINT %s is not where the binary is copied (%s)" % (argv[0], dst))
    pkgs = set(runtime_packages(rt))
    expect_eq(pkgs & RUNTIME_PKGS_EXPECTED, RUNTIME_PKGS_EXPECTED, "runtime packages")
    dev = [p for p in pkgs if p.endswith("-dev") or p in ("build-essential", "cmake", "gcc", "make")]
    expect(not dev, "runtime stage installs build packages: %s" % dev)
    # The script the build stage calls exists, is executable and knows the `build` mode.
    s = read("scripts/install-deps.sh")
    expect(os.access(path("scripts/install-deps.sh"), os.X_OK), "scripts/install-deps.sh is not executable")
    expect(re.search(r"^\s*build\)", s, re.M), "scripts/install-deps.sh has no `build` mode")


def test_runtime_packages_exist_in_apt(t):
    need_tool("apt-cache")
    _, stages = dockerfile_stages()
    pkgs = runtime_packages(stages[-1])
    expect(pkgs, "runtime stage installs no packages")
    for p in pkgs:
        rc, out = run(["apt-cache", "show", p])
        expect(rc == 0 and re.search(r"^Package: %s$" % re.escape(p), out, re.M),
               "runtime package %s is not in apt (apt-cache show exit %d: %s)" % (p, rc, short(out, 200)))


def _dpkg_owners(libs):
    """-> {lib: Debian package owning it, or None}; one dpkg -S call (paths tried as given, resolved,
    and with /lib <-> /usr/lib swapped, since usrmerge registers either)."""
    cands = {}
    for lib in libs:
        cs = [lib, os.path.realpath(lib)]
        for c in list(cs):
            for a, b in (("/usr/lib/", "/lib/"), ("/lib/", "/usr/lib/"), ("/lib64/", "/usr/lib64/")):
                if c.startswith(a):
                    cs.append(b + c[len(a):])
        cands[lib] = cs
    allpaths = sorted({c for cs in cands.values() for c in cs})
    _, out = run(["dpkg", "-S"] + allpaths)
    owner_of = {}
    for line in out.splitlines():
        m = re.match(r"^([^:\s,]+)(?::[\w-]+)?(?:, [^:]+)*: (/\S+)$", line)
        if m:
            owner_of[m.group(2)] = m.group(1)
    return {lib: next((owner_of[c] for c in cs if c in owner_of), None) for lib, cs in cands.items()}


def test_runtime_packages_cover_the_binary(t):
    """Every shared library of the built binary comes from a runtime package, a dependency of one,
    or a package every Debian image holds (Priority: required)."""
    binary = os.environ.get("VECSTORE_SERVER") or path("build/vecstore-server")
    if not os.path.isfile(binary):
        h.skip("no %s yet (make build)" % binary)
    need_tool("ldd")
    _, stages = dockerfile_stages()
    pkgs = runtime_packages(stages[-1])
    rc, out = run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                   "--no-breaks", "--no-replaces", "--no-enhances", "--no-pre-depends"] + pkgs)
    expect_eq(rc, 0, "apt-cache depends exit status")
    closure = set(pkgs)
    for line in out.splitlines():
        s = line.strip()
        if s.startswith("Depends:") or s.startswith("PreDepends:"):
            closure.add(s.split(":", 1)[1].strip().strip("<>").split(":")[0])
        elif s and ":" not in s and not s.startswith("|"):
            closure.add(s.strip("<>").split(":")[0])
    rc, out = run(["ldd", binary])
    expect_eq(rc, 0, "ldd exit status (%s)" % short(out))
    libs = re.findall(r"=>\s+(/\S+)", out) + re.findall(r"^\s*(/\S+)\s+\(", out, re.M)
    expect(len(libs) >= 5, "ldd found only %d libraries: %s" % (len(libs), short(out)))
    owners = _dpkg_owners(libs)
    for lib in libs:
        owner = owners[lib]
        expect(owner, "no Debian package owns %s (linked by the binary)" % lib)
        if owner in closure:
            continue
        rc, prio = run(["dpkg-query", "-W", "-f=${Priority}", owner])
        expect(prio.strip() == "required",
               "%s (package %s) is linked by vecstore-server but not installed by the runtime stage %s"
               % (lib, owner, sorted(pkgs)))
    expect(any("libgrpc" in l for l in libs) and any("libmicrohttpd" in l for l in libs),
           "the binary links neither gRPC nor microhttpd: %s" % short(out))


def test_dockerignore(t):
    pats = [l.strip() for l in read(".dockerignore").splitlines() if l.strip() and not l.startswith("#")]

    def ignored(rel):
        res = False
        for p in pats:
            neg = p.startswith("!")
            pp = p[1:] if neg else p
            pp = pp.rstrip("/")
            hit = fnmatch.fnmatch(rel, pp) or (pp.startswith("**/") and
                                                (fnmatch.fnmatch(rel, pp[3:]) or fnmatch.fnmatch(rel, pp)))
            # a directory pattern excludes everything below it
            parts = rel.split("/")
            for i in range(1, len(parts)):
                pre = "/".join(parts[:i])
                if fnmatch.fnmatch(pre, pp) or (pp.startswith("**/") and fnmatch.fnmatch(parts[i - 1], pp[3:])):
                    hit = True
            if hit:
                res = not neg
        return res

    for rel in (".git", ".git/HEAD", ".cache/node", "build", "build/vecstore-server", "build-test",
                "build-test/CMakeCache.txt", "vecstore.db", "compile_commands.json"):
        expect(ignored(rel), ".dockerignore does not exclude %s" % rel)
    for rel in ("CMakeLists.txt", "Makefile", "scripts/install-deps.sh", "src/server/main.c", "include/vecstore/err.h",
                "proto/vecstore.proto", "src/grpc/CMakeLists.txt", "README.md"):
        expect(not ignored(rel), ".dockerignore excludes %s, which the build needs" % rel)


# ----------------------------------------------------------------------------- compose

def test_docker_compose(t):
    docs = yaml_docs("docker-compose.yml")
    expect_eq(len(docs), 1, "YAML documents in docker-compose.yml")
    svcs = docs[0].get("services") or {}
    v = svcs.get("vecstore")
    expect(isinstance(v, dict), "no service `vecstore`: %s" % sorted(svcs))
    expect_eq(v.get("container_name"), "vecstore-server", "container_name")
    build = v.get("build")
    ctx = build if isinstance(build, str) else (build or {}).get("context")
    expect_eq(ctx, ".", "build context")
    expect_eq([str(p) for p in v.get("ports") or []], ["8080:8080", "50051:50051"], "ports")
    vols = [str(x) for x in v.get("volumes") or []]
    expect(any(x.split(":")[1] == "/data" for x in vols if ":" in x), "no volume mounted at /data: %s" % vols)
    env = v.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    expect_eq(str(env.get("RUST_LOG")), "info", "RUST_LOG")
    expect_eq(str(env.get("DB_PATH")), "/data/vectors.db", "DB_PATH")
    hc = v.get("healthcheck") or {}
    expect("/health" in json.dumps(hc.get("test")), "healthcheck does not test /health: %s" % hc)
    named = set((docs[0].get("volumes") or {}).keys())
    for name, s in svcs.items():
        for m in s.get("volumes") or []:
            src = str(m).split(":")[0]
            if src.startswith("./"):
                expect(os.path.exists(path(src[2:])), "service %s mounts %s, which does not exist" % (name, src))
            else:
                expect(src in named, "service %s uses volume %s not declared at top level" % (name, src))
        for dep in s.get("depends_on") or []:
            expect(dep in svcs, "service %s depends on unknown service %s" % (name, dep))
    for opt in ("prometheus", "grafana"):
        expect(opt in svcs, "no optional %s service" % opt)
        expect("monitoring" in (svcs[opt].get("profiles") or []), "%s is not in the monitoring profile" % opt)
    # Grafana provisioning files are valid and point where compose mounts the dashboard.
    ds = yaml_docs("observability/grafana/datasource.yml")[0]
    expect_eq(ds["datasources"][0]["type"], "prometheus", "provisioned data source type")
    dp = yaml_docs("observability/grafana/dashboards.yml")[0]
    dash_dir = dp["providers"][0]["options"]["path"]
    expect(any(str(m).split(":")[1].startswith(dash_dir + "/") and "grafana-dashboard.json" in str(m)
               for m in svcs["grafana"].get("volumes") or []),
           "grafana does not mount the dashboard under %s" % dash_dir)


# ----------------------------------------------------------------------------- Kubernetes

def k8s_objects():
    d = path("deploy/k8s")
    expect(os.path.isdir(d), "deploy/k8s is missing")
    objs = []
    for f in sorted(os.listdir(d)):
        if f.endswith((".yaml", ".yml")):
            for o in yaml_docs("deploy/k8s/" + f):
                expect(isinstance(o, dict) and o.get("apiVersion") and o.get("kind") and
                       (o.get("metadata") or {}).get("name"), "%s: object without apiVersion/kind/name" % f)
                objs.append(o)
    return objs


def parse_quantity(q):
    m = re.fullmatch(r"([0-9.]+)(Ki|Mi|Gi|Ti|k|M|G|T)?", str(q))
    expect(m, "bad quantity %r" % q)
    mult = {None: 1, "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "k": 1e3, "M": 1e6, "G": 1e9,
            "T": 1e12}[m.group(2)]
    return float(m.group(1)) * mult


def test_k8s_manifests(t):
    objs = k8s_objects()
    by_kind = {}
    for o in objs:
        by_kind.setdefault(o["kind"], []).append(o)
    for k in ("Deployment", "Service", "PersistentVolumeClaim"):
        expect(len(by_kind.get(k, [])) == 1, "deploy/k8s: expected one %s, got %d" % (k, len(by_kind.get(k, []))))
    dep, svc, pvc = by_kind["Deployment"][0], by_kind["Service"][0], by_kind["PersistentVolumeClaim"][0]
    expect_eq(dep["apiVersion"], "apps/v1", "Deployment apiVersion")
    spec = dep["spec"]
    pod = spec["template"]
    expect_eq(spec["selector"]["matchLabels"], {k: pod["metadata"]["labels"][k] for k in spec["selector"]["matchLabels"]},
              "Deployment selector vs pod labels")
    expect_eq(spec.get("replicas"), 1, "replicas (one process owns the ReadWriteOnce volume)")
    expect_eq((spec.get("strategy") or {}).get("type"), "Recreate", "update strategy")
    ps = pod["spec"]
    expect(int(ps.get("terminationGracePeriodSeconds", 30)) >= 30,
           "terminationGracePeriodSeconds too short for the shutdown snapshot")
    cs = ps["containers"]
    expect_eq(len(cs), 1, "containers")
    c = cs[0]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    expect_eq(ports, {"grpc": 50051, "http": 8080}, "container ports")
    env = {e["name"]: e.get("value") for e in c.get("env") or []}
    expect_eq(env.get("DB_PATH"), "/data/vectors.db", "env DB_PATH")
    expect_eq(env.get("RUST_LOG"), "info", "env RUST_LOG")
    for probe, p in (("livenessProbe", "/health"), ("readinessProbe", "/ready")):
        g = (c.get(probe) or {}).get("httpGet") or {}
        expect_eq((g.get("path"), g.get("port")), (p, 8080), probe)
    mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts") or []}
    vols = {v["name"]: v for v in ps.get("volumes") or []}
    data = [n for n, mp in mounts.items() if mp == "/data"]
    expect(data, "nothing mounted at /data")
    claim = (vols[data[0]].get("persistentVolumeClaim") or {}).get("claimName")
    expect_eq(claim, pvc["metadata"]["name"], "claimName of the /data volume")
    expect_eq(claim, "vecstore-pvc", "PVC name")
    expect("ReadWriteOnce" in pvc["spec"]["accessModes"], "PVC is not ReadWriteOnce")
    expect(parse_quantity(pvc["spec"]["resources"]["requests"]["storage"]) >= 10 * 2 ** 30, "PVC under 10Gi")
    # Memory: README formula for 1,000,000 x 768 float32 = 3.07 GB of vectors alone.
    res = c.get("resources") or {}
    req = parse_quantity(res["requests"]["memory"])
    lim = parse_quantity(res["limits"]["memory"])
    expect(req >= 4 * 768 * 1000000, "memory request %s below 4 B x 768 x 1M" % res["requests"]["memory"])
    expect(lim >= req, "memory limit below the request")
    expect("1,000,000" in read("deploy/k8s/deployment.yaml") or "1M" in read("deploy/k8s/deployment.yaml"),
           "deployment.yaml does not explain the sizing")
    sel = svc["spec"]["selector"]
    expect(all(pod["metadata"]["labels"].get(k) == v for k, v in sel.items()), "Service selector matches no pod")
    sports = {p["name"]: (p["port"], p.get("targetPort")) for p in svc["spec"]["ports"]}
    expect_eq(sports, {"grpc": (50051, 50051), "http": (8080, 8080)}, "Service ports")
    # The pod runs as the image's user, which must be able to write the volume.
    sc = ps.get("securityContext") or {}
    df = read("Dockerfile")
    m = re.search(r"--uid\s+(\d+)", df)
    expect(m, "Dockerfile creates no user with a fixed --uid")
    expect_eq(str(sc.get("runAsUser")), m.group(1), "pod runAsUser vs Dockerfile uid")
    expect_eq(str(sc.get("fsGroup")), re.search(r"--gid\s+(\d+)", df).group(1), "pod fsGroup vs Dockerfile gid")


# ----------------------------------------------------------------------------- Prometheus files

def test_promtool_config_rules_and_rule_tests(t):
    promtool = need_tool("promtool")
    for argv in (["check", "config", "observability/prometheus.yml"],
                 ["check", "rules", "observability/alerts.yml"],
                 ["test", "rules", "observability/alerts_test.yml"]):
        rc, out = run([promtool] + argv, cwd=REPO)
        expect(rc == 0 and "SUCCESS" in out, "promtool %s failed (%d): %s" % (" ".join(argv), rc, short(out, 800)))
    cfg = yaml_docs("observability/prometheus.yml")[0]
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    expect("vecstore" in jobs, "no scrape job vecstore: %s" % sorted(jobs))
    targets = [tt for sc in jobs["vecstore"]["static_configs"] for tt in sc["targets"]]
    expect_eq(targets, ["localhost:8080"], "vecstore job targets")
    expect_eq(jobs["vecstore"].get("metrics_path", "/metrics"), "/metrics", "metrics_path")
    expect("alerts.yml" in cfg.get("rule_files") or [], "prometheus.yml does not load alerts.yml")
    rules = yaml_docs("observability/alerts.yml")[0]
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"] if "alert" in r}
    for a in ("NamespaceNearQuota", "NamespaceQuotaExceeded", "VecStoreDown", "VecStoreHighQueryLatencyP99",
              "VecStoreHighErrorRate"):
        expect(a in alerts, "alerts.yml lacks %s" % a)
    expect_eq(alerts["NamespaceNearQuota"]["expr"].strip(), "vecstore_namespace_quota_utilization > 0.8",
              "NamespaceNearQuota expr (the guide's)")
    expect_eq(alerts["NamespaceNearQuota"].get("for"), "5m", "NamespaceNearQuota for")
    expect_eq(alerts["NamespaceQuotaExceeded"]["expr"].strip(), "vecstore_namespace_quota_utilization >= 1.0",
              "NamespaceQuotaExceeded expr (the guide's)")
    for name, r in alerts.items():
        unknown = {family_of(m) for m in promql_metrics(r["expr"])} - EXPORTED_METRICS - PROMETHEUS_BUILTIN
        expect(not unknown, "alert %s uses metrics the server does not export: %s" % (name, sorted(unknown)))


def test_exported_metric_list_matches_the_source(t):
    """The list these tests check against is what src/service/metrics.c really prints."""
    src = read("src/service/metrics.c")
    in_src = set(re.findall(r'"((?:vecstore|process)_[a-z_]+)"', src))
    expect_eq(EXPORTED_METRICS - in_src, set(), "metrics listed here but absent from metrics.c")
    expect_eq(in_src - EXPORTED_METRICS, set(), "metrics in metrics.c missing from this list")


# ----------------------------------------------------------------------------- Grafana dashboard

def test_grafana_dashboard(t):
    d = dashboard()
    expect(d.get("title") and d.get("uid"), "dashboard has no title/uid")
    panels = dashboard_panels(d)
    expect(len(panels) >= 8, "only %d panels" % len(panels))
    ids = [p.get("id") for p in panels]
    expect_eq(len(ids), len(set(ids)), "panel ids unique")
    var_names = {v["name"] for v in (d.get("templating") or {}).get("list") or []}
    for p in panels:
        title = p.get("title")
        expect(title, "panel %s has no title" % p.get("id"))
        expect(isinstance(p.get("datasource"), dict) and p["datasource"].get("type") == "prometheus",
               "panel %r has no Prometheus datasource" % title)
        tg = p.get("targets") or []
        expect(tg, "panel %r has no targets" % title)
        refs = [x.get("refId") for x in tg]
        expect_eq(len(refs), len(set(refs)), "refIds of panel %r unique" % title)
        for x in tg:
            expect((x.get("expr") or "").strip(), "panel %r has a target without expr" % title)
            used = set(re.findall(r"\$\{?(\w+)\}?", x["expr"])) - {"__rate_interval", "__interval", "__range"}
            expect(used <= var_names, "panel %r uses undefined variables %s" % (title, used - var_names))
        gp = p.get("gridPos") or {}
        expect(all(k in gp for k in ("h", "w", "x", "y")) and gp["x"] + gp["w"] <= 24,
               "panel %r gridPos %s" % (title, gp))
    ds = p["datasource"].get("uid", "")
    m = re.fullmatch(r"\$\{?(\w+)\}?", ds)
    expect(m is None or m.group(1) in var_names, "datasource uid %s is no variable" % ds)
    exprs = dashboard_exprs(d)
    used = set()
    for title, e in exprs:
        names = promql_metrics(e)
        expect(names, "panel %r: no metric in %r" % (title, e))
        fam = {family_of(n) for n in names}
        unknown = fam - EXPORTED_METRICS
        expect(not unknown, "panel %r uses metrics the server does not export: %s" % (title, sorted(unknown)))
        used |= fam
    for must in ("vecstore_query_duration_seconds", "vecstore_query_total", "vecstore_upsert_total",
                 "vecstore_delete_total", "vecstore_cache_hits_total", "vecstore_cache_misses_total",
                 "vecstore_vectors_total", "vecstore_namespace_vector_count",
                 "vecstore_namespace_quota_utilization", "vecstore_http_requests_total"):
        expect(must in used, "no panel uses %s" % must)
    allx = " ".join(e for _, e in exprs)
    for q in ("0.5", "0.95", "0.99"):
        expect(re.search(r"histogram_quantile\(%s0*,\s*sum by \(le\) \(rate\(vecstore_query_duration_seconds_bucket"
                         % re.escape(q), allx), "no p%s latency query" % q)
    expect(re.search(r'status=~"5\.\.\|4\.\."', allx), "no 4xx/5xx error-rate query")
    expect("rate(vecstore_query_total" in allx, "no throughput query")
    # Every expression parses: promtool checks them as recording rules.
    promtool = need_tool("promtool")
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": "dashboard:expr_%d" % i, "expr": grafana_to_promql(e)} for i, (_, e) in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as fh:
        json.dump(rules, fh)   # JSON is YAML
        tmp = fh.name
    try:
        rc, out = run([promtool, "check", "rules", tmp])
    finally:
        os.unlink(tmp)
    expect(rc == 0, "a dashboard expression does not parse: %s" % short(out, 800))
    for v in (d.get("templating") or {}).get("list") or []:
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.match(r"label_values\((.*),\s*(\w+)\)$", q or "")
        if m:
            unknown = {family_of(n) for n in promql_metrics(m.group(1))} - EXPORTED_METRICS
            expect(not unknown, "variable %s uses unknown metrics %s" % (v["name"], unknown))


def test_promql_metric_extraction(t):
    """The helper the dashboard checks rely on finds metric names and nothing else."""
    cases = {
        'histogram_quantile(0.99, sum by (le) (rate(vecstore_query_duration_seconds_bucket{instance=~"$instance"}[5m])))':
            {"vecstore_query_duration_seconds_bucket"},
        'sum by (status) (rate(vecstore_http_requests_total{status=~"5..|4.."}[$__rate_interval]))':
            {"vecstore_http_requests_total"},
        'rate(a_total[1m]) / on(instance) group_left b_metric': {"a_total", "b_metric"},
        'up{job="vecstore"} == 1': {"up"},
        'max by (namespace) (vecstore_namespace_quota_utilization{namespace=~"$namespace"}) > 0.8':
            {"vecstore_namespace_quota_utilization"},
    }
    for e, want in cases.items():
        expect_eq(promql_metrics(e), want, "metrics of %r" % e)


if __name__ == "__main__":
    h.main(globals())
