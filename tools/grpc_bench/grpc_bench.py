#!/usr/bin/env python3
"""gRPC load generator for vecstore-server: loads N random vectors with BatchUpsert, then runs
closed-loop clients (one process each, so the GIL does not cap the rate) calling Query (or
Upsert, or QueryStream) for a fixed duration, and prints throughput and latency percentiles.

Usage:
  python3 tools/grpc_bench/grpc_bench.py --addr 127.0.0.1:50051 [--dim 128] [--n 10000]
      [--clients 8] [--seconds 10] [--op query|upsert|stream] [--limit 10] [--namespace bench]
      [--api-key KEY] [--seed 1]
Stubs are generated from proto/vecstore.proto with protoc + grpc_python_plugin into a temp dir.
A benchmark, not a test: it never fails on timings.
"""
import argparse
import multiprocessing as mp
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


def gen_stubs():
    out = tempfile.mkdtemp(prefix="vs-grpc-bench-")
    proto = os.path.join(REPO, "proto")
    subprocess.run([shutil.which("protoc"), "-I" + proto, "--python_out=" + out, "--grpc_out=" + out,
                    "--plugin=protoc-gen-grpc=" + shutil.which("grpc_python_plugin"),
                    os.path.join(proto, "vecstore.proto")], check=True)
    return out


def stubs(path):
    if path not in sys.path:
        sys.path.insert(0, path)
    import vecstore_pb2
    import vecstore_pb2_grpc
    return vecstore_pb2, vecstore_pb2_grpc


def rvec(rng, dim):
    return [rng.uniform(-1.0, 1.0) for _ in range(dim)]


def worker(args, stub_dir, wid, deadline, q):
    import grpc
    pb, pbg = stubs(stub_dir)
    ch = grpc.insecure_channel(args.addr, options=[("grpc.max_receive_message_length", 256 << 20)])
    c = pbg.VecStoreServiceStub(ch)
    md = [("authorization", "Bearer " + args.api_key)] if args.api_key else None
    rng = random.Random(args.seed * 1000 + wid)
    lat, errors, i = [], 0, 0
    while time.time() < deadline:
        t0 = time.perf_counter()
        try:
            if args.op == "query":
                c.Query(pb.QueryRequest(vector=rvec(rng, args.dim), limit=args.limit, namespace=args.namespace),
                        timeout=30, metadata=md)
            elif args.op == "stream":
                for _ in c.QueryStream(pb.QueryStreamRequest(vector=rvec(rng, args.dim), limit=args.limit,
                                                             namespace=args.namespace), timeout=30, metadata=md):
                    pass
            else:
                c.Upsert(pb.UpsertRequest(id="w%d-%d" % (wid, i), vector=rvec(rng, args.dim),
                                          namespace=args.namespace), timeout=30, metadata=md)
        except grpc.RpcError:
            errors += 1
        lat.append(time.perf_counter() - t0)
        i += 1
    q.put((lat, errors))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", default="127.0.0.1:50051")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--op", choices=("query", "upsert", "stream"), default="query")
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--namespace", default="bench")
    ap.add_argument("--api-key", default=None)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    import grpc
    stub_dir = gen_stubs()
    pb, pbg = stubs(stub_dir)
    ch = grpc.insecure_channel(args.addr, options=[("grpc.max_send_message_length", 256 << 20)])
    md = [("authorization", "Bearer " + args.api_key)] if args.api_key else None
    admin = pbg.VecStoreAdminServiceStub(ch)
    try:
        admin.CreateNamespace(pb.CreateNamespaceRequest(id=args.namespace, dimension=args.dim), timeout=30,
                              metadata=md)
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
    c = pbg.VecStoreServiceStub(ch)
    rng = random.Random(args.seed)
    t0 = time.time()
    for start in range(0, args.n, 1000):
        recs = [pb.Record(id="v%d" % i, vector=rvec(rng, args.dim)) for i in range(start, min(args.n, start + 1000))]
        c.BatchUpsert(pb.BatchUpsertRequest(records=recs, namespace=args.namespace), timeout=300, metadata=md)
    load_s = time.time() - t0
    print("loaded %d x %d-d vectors in %.2f s (%.0f vectors/s, BatchUpsert of 1000)" % (
        args.n, args.dim, load_s, args.n / load_s if load_s else 0))
    q = mp.Queue()
    deadline = time.time() + args.seconds
    procs = [mp.Process(target=worker, args=(args, stub_dir, w, deadline, q)) for w in range(args.clients)]
    for p in procs:
        p.start()
    lat, errors = [], 0
    for _ in procs:
        l, e = q.get()
        lat.extend(l)
        errors += e
    for p in procs:
        p.join()
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(p / 100.0 * len(lat)))] * 1000 if lat else 0.0
    print("op=%s clients=%d seconds=%.0f limit=%d: %d calls, %.0f calls/s, errors=%d, latency ms p50=%.2f "
          "p95=%.2f p99=%.2f max=%.2f" % (args.op, args.clients, args.seconds, args.limit, len(lat),
                                          len(lat) / args.seconds, errors, pct(50), pct(95), pct(99),
                                          lat[-1] * 1000 if lat else 0.0))
    shutil.rmtree(stub_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
