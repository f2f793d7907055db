#!/usr/bin/env python3
"""Drives each bench task through Heyken's author loop and checks it with its hidden acceptance tests.

Usage: autonomy.py SANDBOX_URL TOKEN TASKS_JSON TIMEOUT_S [RESULTS_JSON]

Per task: POST /api/features/create {name, description} (nothing else: the model writes it), poll GET
/api/features/{id} until the loop stopped, deploy it when it waits for approval, then invoke it with each hidden
acceptance input (never shown to the model) and compare its output. Prints one line per task and the figures.
"""
import json
import statistics
import sys
import time
import urllib.error
import urllib.request


def call(method, url, token=None, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read() or b"null")
        except ValueError:
            return e.code, None
    except (urllib.error.URLError, OSError) as e:
        return -1, {"error": str(e)}


def run_task(base, token, task, timeout):
    t0 = time.monotonic()
    status, created = call("POST", base + "/api/features/create", token,
                           {"name": task["name"], "description": task["description"]})
    if status != 201:
        return {"task": task["name"], "passed": False, "attempts": 0, "loop_s": 0.0,
                "why": f"create answered {status}: {created}"}
    fid = created["feature_id"]
    view = None
    while time.monotonic() - t0 < timeout:
        status, view = call("GET", f"{base}/api/features/{fid}")
        authoring = (view or {}).get("authoring") if status == 200 else None
        if authoring and authoring["state"] != "authoring":
            break
        time.sleep(0.5)  # polling a remote system, not synchronisation of this process
    loop_s = time.monotonic() - t0
    authoring = (view or {}).get("authoring") or {}
    attempts = len(authoring.get("attempts") or [])
    result = {"task": task["name"], "feature_id": fid, "attempts": attempts, "loop_s": round(loop_s, 2),
              "state": authoring.get("state"), "passed": False}
    if authoring.get("state") in (None, "authoring"):
        result["why"] = f"the loop did not stop within {timeout} s"
        return result
    if authoring["state"] == "failed":
        result["why"] = "failed: " + str(authoring.get("reason"))
        return result
    if authoring["state"] == "awaiting_approval":
        status, deployed = call("POST", base + "/api/features/deploy", token, {"feature_id": fid})
        if status != 200:
            result["why"] = f"deploy answered {status}: {deployed}"
            return result
    wrong = []
    for args, expected in task["acceptance"]:
        status, out = call("POST", f"{base}/api/features/{fid}/invoke", token, {"args": args})
        got = (out or {}).get("output", "").strip() if status == 200 else f"HTTP {status}: {out}"
        if got != expected:
            wrong.append(f"{args!r}: expected {expected!r}, got {got!r}")
    result["acceptance"] = f"{len(task['acceptance']) - len(wrong)}/{len(task['acceptance'])}"
    result["passed"] = not wrong
    if wrong:
        result["why"] = "hidden tests: " + "; ".join(wrong[:3])
    return result


def main():
    base, token, tasks_file, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    results_file = sys.argv[5] if len(sys.argv) > 5 else None
    tasks = json.load(open(tasks_file))
    results = []
    print(f"{'task':<12} {'result':<7} {'attempts':>8} {'loop s':>8}  detail")
    for task in tasks:
        r = run_task(base, token, task, timeout)
        results.append(r)
        print(f"{r['task']:<12} {'PASS' if r['passed'] else 'FAIL':<7} {r['attempts']:>8} {r['loop_s']:>8.1f}  "
              f"{r.get('acceptance', '') + ' hidden tests' if r['passed'] else r.get('why', '')}", flush=True)
    passed = [r for r in results if r["passed"]]
    times = [r["loop_s"] for r in results]
    attempts = [r["attempts"] for r in results]
    print()
    print(f"pass rate: {len(passed)}/{len(results)} = {100.0 * len(passed) / len(results):.0f}% "
          f"(hidden acceptance tests all passing)")
    print(f"attempts used: total {sum(attempts)}, mean {statistics.mean(attempts):.2f}, "
          f"first-try passes {sum(1 for r in passed if r['attempts'] == 1)}, "
          f"after repair {sum(1 for r in passed if r['attempts'] > 1)}")
    print(f"time per task (create -> loop stopped): median {statistics.median(times):.1f} s, "
          f"min {min(times):.1f} s, max {max(times):.1f} s, total {sum(times):.1f} s")
    if results_file:
        json.dump(results, open(results_file, "w"), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
