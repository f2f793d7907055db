#!/usr/bin/env python3
"""HTTP and JSON side of bench/sandbox.sh (standard library only: urllib, threads).

  sandbox_bench.py wait-backend MONITOR_URL BACKEND TIMEOUT_S
      wait until GET MONITOR_URL/api/status names the component "sandbox" up with "backend BACKEND";
      print its detail; exit 1 (with the last detail) at the deadline
  sandbox_bench.py run SANDBOX_URL BACKEND ROUNDS OUT_JSON
      the measurements of one backend against the Sandbox Manager at SANDBOX_URL (token in
      HEYKEN_API_TOKEN); progress lines on stdout, figures in OUT_JSON:
        1. ROUNDS x create -> test -> poll the run until passed -> deploy -> first ok invoke
        2. invoke latency: INVOKE_WARMUP warm-up, then INVOKES sequential invokes of one deployed feature
        3. CONCURRENT features created (not timed), then their test runs started at once
  sandbox_bench.py report OUT_JSON...
      the results table of every backend (OUT_JSON may also hold "plain_ms", the plain-process times)
  sandbox_bench.py stats VALUES...
      "median X, p99 Y, max Z" of numbers (ms)
  sandbox_bench.py add-plain OUT_JSON MS...
      store the plain-process times (ms) in OUT_JSON
  sandbox_bench.py set OUT_JSON KEY VALUE
      set a string field of OUT_JSON (created when missing)
"""
import json
import math
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request

TARGET_S = {"docker": 3.0, "bubblewrap": 1.0}
INVOKES = int(os.environ.get("BENCH_INVOKES", "200"))
INVOKE_WARMUP = int(os.environ.get("BENCH_INVOKE_WARMUP", "10"))
CONCURRENT = int(os.environ.get("BENCH_CONCURRENT", "20"))
POLL_S = 0.025          # run polling of the timed rounds (brief: 20-50 ms)
CONCURRENT_POLL_S = 0.1  # per run while CONCURRENT runs are polled at once (20 pollers at 25 ms would be 800 req/s)
ROUND_TIMEOUT_S = 180
INVOKE_ARGS = "Paris"
EXPECTED = "Hello, Paris!\n"

HELLO_MAIN = """import json, sys
request = json.load(sys.stdin)
print("Hello, " + str(request.get("args") or "world") + "!")
"""
HELLO_TEST = """import subprocess
out = subprocess.run(["python3", "main.py"], input=b'{"args": "Paris"}', capture_output=True).stdout
assert out == b"Hello, Paris!\\n", out
print("hello test passed")
"""
HELLO_CI = """stages: [test]
unit:
  stage: test
  image: python:3.11
  script:
    - python3 test_main.py
"""


def say(*args):
    print(*args, flush=True)


def hello_files(name):
    manifest = ("name: %s\ndescription: sandbox benchmark hello world\ncommand: %s\nrun: python3 main.py\n"
                % (name, name))
    return {"heyken.yml": manifest, "main.py": HELLO_MAIN, "test_main.py": HELLO_TEST, ".gitlab-ci.yml": HELLO_CI}


# ---------------------------------------------------------------- HTTP
class Api:
    def __init__(self, base, token):
        self.base = base.rstrip("/")
        self.token = token

    def call(self, method, path, body=None, timeout=30):
        """(status, parsed JSON or text, seconds); status 0 when nothing answered."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if method != "GET" and self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        except (urllib.error.URLError, OSError) as e:
            return 0, {"error": "no answer", "detail": str(e)}, time.perf_counter() - t0
        dt = time.perf_counter() - t0
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = raw.decode(errors="replace")
        return status, doc, dt

    def create(self, name):
        return self.call("POST", "/api/features/create",
                         {"name": name, "description": "sandbox benchmark " + name, "files": hello_files(name)})

    def test(self, fid):
        return self.call("POST", "/api/features/test", {"feature_id": fid})

    def run(self, fid, run_id):
        return self.call("GET", "/api/features/%s/runs/%s" % (fid, run_id))

    def deploy(self, fid):
        return self.call("POST", "/api/features/deploy", {"feature_id": fid})

    def invoke(self, fid, args=INVOKE_ARGS):
        return self.call("POST", "/api/features/%s/invoke" % fid, {"args": args})


class BenchError(Exception):
    pass


def brief(doc, n=300):
    s = (doc if isinstance(doc, str) else json.dumps(doc)).strip().replace("\n", " | ")
    return s if len(s) <= n else s[:n] + "..."


def finished(run_doc):
    return isinstance(run_doc, dict) and run_doc.get("status") not in (None, "running", "pending")


def job_summary(run_doc):
    out = []
    for j in (run_doc or {}).get("jobs") or []:
        out.append("%s: %s reason=%s exit=%s %sms backend=%s%s%s" % (
            j.get("name"), j.get("status"), j.get("reason"), j.get("exit_code"), j.get("duration_ms"),
            j.get("backend"), (" detail=" + brief(j["detail"], 200)) if j.get("detail") else "",
            (" log_tail=" + brief(j["log_tail"], 300)) if j.get("status") != "passed" and j.get("log_tail") else ""))
    return "; ".join(out)


def create_checked(api, name):
    st, doc, dt = api.create(name)
    if st != 201 or not isinstance(doc, dict) or not doc.get("feature_id"):
        raise BenchError("create %s: HTTP %s %s" % (name, st, brief(doc)))
    return doc["feature_id"], dt


def poll_run(api, fid, run_id, interval, deadline):
    polls = 0
    while True:
        st, doc, _ = api.run(fid, run_id)
        polls += 1
        if st == 200 and finished(doc):
            return doc, polls
        if time.perf_counter() > deadline:
            raise BenchError("run %s of feature %s not finished after %d s (last: HTTP %s %s)"
                             % (run_id, fid, ROUND_TIMEOUT_S, st, brief(doc)))
        time.sleep(interval)


# ---------------------------------------------------------------- 1. create -> first invoke
def one_round(api, backend, name, notes):
    """Create -> test -> passed -> deploy -> first ok invoke; returns the figures (seconds)."""
    t0 = time.perf_counter()
    deadline = t0 + ROUND_TIMEOUT_S
    fid, _ = create_checked(api, name)
    t_created = time.perf_counter()
    st, doc, _ = api.test(fid)
    if st != 202 or not isinstance(doc, dict) or not doc.get("run_id"):
        raise BenchError("test %s: HTTP %s %s" % (name, st, brief(doc)))
    run_id = doc["run_id"]
    run_doc, polls = poll_run(api, fid, run_id, POLL_S, deadline)
    t_passed = time.perf_counter()
    if run_doc.get("status") != "passed":
        raise BenchError("run %s of %s ended %s (detail %s): %s" % (run_id, name, run_doc.get("status"),
                                                                   run_doc.get("detail"), job_summary(run_doc)))
    deploy_tries = 0
    while True:
        st, doc, _ = api.deploy(fid)
        deploy_tries += 1
        if st == 200:
            break
        if time.perf_counter() > deadline:
            raise BenchError("deploy %s: HTTP %s %s" % (name, st, brief(doc)))
        if deploy_tries == 1:
            notes.append("deploy of %s right after the run passed answered HTTP %s %s (retried)"
                         % (name, st, brief(doc, 200)))
        time.sleep(POLL_S)
    t_deployed = time.perf_counter()
    invoke_tries = 0
    while True:
        st, doc, _ = api.invoke(fid)
        invoke_tries += 1
        if st == 200 and isinstance(doc, dict) and doc.get("ok"):
            break
        if time.perf_counter() > deadline:
            raise BenchError("invoke %s: HTTP %s %s" % (name, st, brief(doc)))
        if invoke_tries == 1:
            notes.append("first invoke of %s right after deploy answered HTTP %s %s (retried)"
                         % (name, st, brief(doc, 300)))
        time.sleep(POLL_S)
    t_done = time.perf_counter()
    if doc.get("output") != EXPECTED:
        notes.append("invoke of %s answered output %r, expected %r" % (name, doc.get("output"), EXPECTED))
    if doc.get("backend") != backend:
        notes.append("invoke of %s ran on backend %r, expected %r" % (name, doc.get("backend"), backend))
    jobs = run_doc.get("jobs") or []
    for j in jobs:
        if j.get("backend") != backend:
            notes.append("test job %s of %s ran on backend %r, expected %r" % (j.get("name"), name, j.get("backend"),
                                                                              backend))
    return {
        "name": name, "feature_id": fid, "run_id": run_id,
        "total": t_done - t0, "create": t_created - t0, "test": t_passed - t_created,
        "deploy": t_deployed - t_passed, "invoke": t_done - t_deployed,
        "job_ms": sum(j.get("duration_ms") or 0 for j in jobs), "polls": polls,
        "deploy_tries": deploy_tries, "invoke_tries": invoke_tries,
        "invoke_ms": doc.get("duration_ms"), "core": doc.get("core"), "run_core": run_doc.get("core"),
        "attempts": run_doc.get("attempts"),
    }


# ---------------------------------------------------------------- 2. invoke latency
def pct(values, p):
    """Nearest-rank percentile."""
    v = sorted(values)
    if not v:
        return float("nan")
    return v[max(0, math.ceil(p / 100.0 * len(v)) - 1)]


def invoke_latency(api, fid, notes):
    for _ in range(INVOKE_WARMUP):
        api.invoke(fid)
    wall, server, bad = [], [], []
    for i in range(INVOKES):
        st, doc, dt = api.invoke(fid)
        if st == 200 and isinstance(doc, dict) and doc.get("ok") and doc.get("output") == EXPECTED:
            wall.append(dt * 1000.0)
            if doc.get("duration_ms") is not None:
                server.append(float(doc["duration_ms"]))
        else:
            bad.append("invoke %d: HTTP %s %s" % (i + 1, st, brief(doc, 300)))
        if (i + 1) % 50 == 0:
            say("    %d/%d invokes, p50 so far %.1f ms" % (i + 1, INVOKES, pct(wall, 50) if wall else float("nan")))
    notes.extend(bad[:5])
    if len(bad) > 5:
        notes.append("... and %d more failed invokes" % (len(bad) - 5))
    return {"wall_ms": wall, "server_ms": server, "failed": len(bad)}


# ---------------------------------------------------------------- 3. concurrent test runs
def concurrent_runs(api, backend, notes):
    fids = []
    say("  creating %d features bench-conc-%s-1..%d (not timed) ..." % (CONCURRENT, backend, CONCURRENT))
    for n in range(1, CONCURRENT + 1):
        fid, _ = create_checked(api, "bench-conc-%s-%d" % (backend, n))
        fids.append(fid)
    results = [None] * len(fids)
    barrier = threading.Barrier(len(fids))
    t_first = [None]
    lock = threading.Lock()

    def worker(i, fid):
        barrier.wait()
        t_req = time.perf_counter()
        with lock:
            if t_first[0] is None or t_req < t_first[0]:
                t_first[0] = t_req
        st, doc, _ = api.test(fid)
        if st != 202 or not isinstance(doc, dict) or not doc.get("run_id"):
            results[i] = {"status": "http-%s" % st, "detail": brief(doc), "start": t_req, "end": time.perf_counter()}
            return
        try:
            run_doc, _ = poll_run(api, fid, doc["run_id"], CONCURRENT_POLL_S, t_req + ROUND_TIMEOUT_S)
        except BenchError as e:
            results[i] = {"status": "timeout", "detail": str(e), "start": t_req, "end": time.perf_counter()}
            return
        results[i] = {"status": run_doc.get("status"), "detail": run_doc.get("detail"), "run": run_doc,
                      "start": t_req, "end": time.perf_counter(),
                      "job_ms": sum(j.get("duration_ms") or 0 for j in run_doc.get("jobs") or []),
                      "core": run_doc.get("core"), "attempts": run_doc.get("attempts")}

    say("  starting %d test runs at once ..." % len(fids))
    threads = [threading.Thread(target=worker, args=(i, f), daemon=True) for i, f in enumerate(fids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t_last = max(r["end"] for r in results)
    total = t_last - t_first[0]
    failed = [r for r in results if r["status"] != "passed"]
    for k, r in enumerate(failed[:5]):
        notes.append("concurrent run %s: %s %s %s" % (k + 1, r["status"], r.get("detail") or "",
                                                       job_summary(r.get("run"))))
    per_run = [r["end"] - r["start"] for r in results]
    job_ms = [r["job_ms"] for r in results if "job_ms" in r]
    cores = {}
    for r in results:
        cores[str(r.get("core"))] = cores.get(str(r.get("core")), 0) + 1
    return {"total_s": total, "n": len(results), "failed": len(failed),
            "statuses": {s: sum(1 for r in results if r["status"] == s) for s in {r["status"] for r in results}},
            "per_run_s": per_run, "job_ms": job_ms, "cores": cores,
            "attempts_max": max((r.get("attempts") or 1) for r in results)}


# ---------------------------------------------------------------- commands
def cmd_wait_backend(monitor, backend, timeout):
    deadline = time.time() + float(timeout)
    last = "no answer from %s" % monitor
    api = Api(monitor, None)
    while True:
        st, doc, _ = api.call("GET", "/api/status", timeout=3)
        if st == 200 and isinstance(doc, dict):
            comp = next((c for c in doc.get("components") or [] if c.get("name") == "sandbox"), None)
            if comp is None:
                last = "the status names no sandbox component"
            else:
                last = "sandbox is %s: %s" % (comp.get("status"), comp.get("detail"))
                if comp.get("status") == "up" and str(comp.get("detail", "")).startswith("backend %s" % backend):
                    print(last)
                    return 0
        elif st:
            last = "HTTP %s %s" % (st, brief(doc))
        if time.time() > deadline:
            print(last)
            return 1
        time.sleep(0.25)


def cmd_run(base, backend, rounds, out):
    api = Api(base, os.environ.get("HEYKEN_API_TOKEN", ""))
    notes = []
    res = {"backend": backend, "rounds": [], "notes": notes, "errors": []}

    def save():
        with open(out, "w") as f:
            json.dump(res, f, indent=1)

    say("  [1/3] create -> test -> deploy -> first invoke, %d rounds" % rounds)
    for n in range(1, rounds + 1):
        name = "bench-hello-%s-%d" % (backend, n)
        try:
            r = one_round(api, backend, name, notes)
        except BenchError as e:
            res["errors"].append("round %d: %s" % (n, e))
            say("    round %d (%s): FAILED: %s" % (n, name, e))
            save()
            continue
        res["rounds"].append(r)
        say("    round %d (%s): %.2f s  (create %.2f, test until passed %.2f [job %d ms, %d polls], deploy %.2f, "
            "invoke %.2f [%s ms in the sandbox])" % (n, name, r["total"], r["create"], r["test"], r["job_ms"],
                                                    r["polls"], r["deploy"], r["invoke"], r["invoke_ms"]))
        save()
    if not res["rounds"]:
        res["errors"].append("no feature was deployed: invoke latency and overhead not measured")
    else:
        fid = res["rounds"][0]["feature_id"]
        say("  [2/3] invoke latency: %d warm-up + %d sequential invokes of %s"
            % (INVOKE_WARMUP, INVOKES, res["rounds"][0]["name"]))
        res["latency"] = invoke_latency(api, fid, notes)
        save()
    say("  [3/3] %d concurrent test runs" % CONCURRENT)
    try:
        res["concurrent"] = concurrent_runs(api, backend, notes)
        c = res["concurrent"]
        say("    %d runs: all finished after %.2f s, %d failed/errored (%s)"
            % (c["n"], c["total_s"], c["failed"], ", ".join("%s %d" % kv for kv in sorted(c["statuses"].items()))))
    except BenchError as e:
        res["errors"].append("concurrent runs: %s" % e)
        say("    FAILED: %s" % e)
    save()
    return 0


def fmt_stats(values, unit="ms", digits=1):
    if not values:
        return "no figure"
    f = "%%.%df" % digits
    return ("median " + f + " %s, p99 " + f + " %s, max " + f + " %s") % (
        statistics.median(values), unit, pct(values, 99), unit, max(values), unit)


def cmd_stats(values):
    print(fmt_stats([float(v) for v in values]))
    return 0


def cmd_report(paths):
    rc = 0

    def line(label, text):
        print("   %-40s %s" % (label, text))

    for p in paths:
        with open(p) as f:
            res = json.load(f)
        b = res["backend"]
        target = TARGET_S.get(b)
        print()
        print("-- backend %s%s" % (b, (" (" + res["sandbox_detail"] + ")") if res.get("sandbox_detail") else ""))
        if res.get("skipped"):
            print("   SKIPPED: %s" % res["skipped"])
            rc = 1
            continue
        rounds = [r["total"] for r in res.get("rounds", [])]
        if rounds:
            med = statistics.median(rounds)
            verdict = "PASS" if target is not None and med <= target else "MISS"
            line("create->test->deploy->first invoke", "%s s" % " ".join("%.2f" % x for x in rounds))
            line("", "median %.2f s, max %.2f s; target median <= %.0f s: %s" % (med, max(rounds), target, verdict))
            line("  median per phase", ", ".join(
                "%s %.2f s" % (ph, statistics.median(r[ph] for r in res["rounds"]))
                for ph in ("create", "test", "deploy", "invoke")))
            line("  median test job in the sandbox", "%d ms (test = request until the run passed)"
                 % statistics.median(r["job_ms"] for r in res["rounds"]))
        else:
            line("create->test->deploy->first invoke", "no figure")
            rc = 1
        lat = res.get("latency")
        if lat and lat["wall_ms"]:
            w = lat["wall_ms"]
            line("invoke latency, %d invokes (client)" % len(w),
                 "p50 %.1f ms, p99 %.1f ms, max %.1f ms; failed %d" % (pct(w, 50), pct(w, 99), max(w), lat["failed"]))
            if lat["server_ms"]:
                s = lat["server_ms"]
                line("  server-reported duration_ms", "p50 %.0f ms, p99 %.0f ms" % (pct(s, 50), pct(s, 99)))
            if lat["failed"]:
                rc = 1
        else:
            line("invoke latency", "no figure")
        c = res.get("concurrent")
        if c:
            line("%d concurrent test runs" % c["n"],
                 "all finished after %.2f s; failed/errored %d (expected 0)" % (c["total_s"], c["failed"]))
            line("  per run, request until finished", fmt_stats(c["per_run_s"], "s", 2))
            line("  test job in the sandbox", fmt_stats(c["job_ms"], "ms", 0))
            line("  runs per core", ", ".join("core-%s %d" % kv for kv in sorted(c["cores"].items()))
                 + ("; attempts max %s" % c["attempts_max"]))
            if c["failed"]:
                rc = 1
        else:
            line("concurrent test runs", "no figure")
        plain = res.get("plain_ms") or []
        if plain and lat and lat["server_ms"]:
            pm, sm = statistics.median(plain), statistics.median(lat["server_ms"])
            line("overhead per job", "plain process %.1f ms, sandbox job %.0f ms: +%.0f ms" % (pm, sm, sm - pm))
            line("", "(medians: 20 local runs of python3 main.py < input.json vs invoke duration_ms)")
        elif plain:
            line("overhead per job", "plain process %.1f ms; no sandbox figure" % statistics.median(plain))
        for e in res.get("errors") or []:
            print("   ERROR: %s" % e)
            rc = 1
        notes = res.get("notes") or []
        if notes:
            print("   notes:")
            for n in notes[:15]:
                print("     - %s" % n)
            if len(notes) > 15:
                print("     - ... %d more in %s" % (len(notes) - 15, p))
    return rc


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 64
    cmd, args = argv[1], argv[2:]
    if cmd == "wait-backend" and len(args) == 3:
        return cmd_wait_backend(*args)
    if cmd == "run" and len(args) == 4:
        return cmd_run(args[0], args[1], int(args[2]), args[3])
    if cmd == "report" and args:
        return cmd_report(args)
    if cmd == "stats":
        return cmd_stats(args)
    if cmd == "add-plain" and len(args) >= 2:  # OUT_JSON MS...: store the plain-process times
        with open(args[0]) as f:
            res = json.load(f)
        res["plain_ms"] = [float(v) for v in args[1:]]
        with open(args[0], "w") as f:
            json.dump(res, f, indent=1)
        return 0
    if cmd == "set" and len(args) == 3:  # OUT_JSON KEY VALUE: a string field (creates the file)
        res = {}
        if os.path.exists(args[0]):
            with open(args[0]) as f:
                res = json.load(f)
        res[args[1]] = args[2]
        with open(args[0], "w") as f:
            json.dump(res, f, indent=1)
        return 0
    print("unknown command or arguments: %s (see --help)" % " ".join(argv[1:]), file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
