#!/usr/bin/env python3
"""Read the JSON of GET /api/status on stdin and answer one question about it (used by the scripts).

  status.py get KEY              top-level value (active_core, epoch, healthy); empty when missing
  status.py core N KEY           a value of core N (status, active, pid, uptime_s, address)
  status.py healthy              exit 0 when the store is up, both cores are up and exactly one is active;
                                 otherwise print the reasons, one per line, and exit 1
  status.py table [LOCAL...]     the table printed by status.sh; LOCAL items are name=pid:alive
  status.py pretty               the JSON, indented
"""
import json
import signal
import sys


def fmt(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def core(doc, n):
    for c in doc.get("cores") or []:
        if str(c.get("id")) == str(n):
            return c
    return {}


def component(doc, name):
    for c in doc.get("components") or []:
        if c.get("name") == name:
            return c
    return {}


def problems(doc):
    out = []
    store = component(doc, "store")
    if store and store.get("status") != "up":
        out.append("store is %s: %s" % (store.get("status"), store.get("detail", "")))
    elif not store:
        out.append("the status names no store component")
    for n in (1, 2):
        c = core(doc, n)
        if c.get("status") != "up":
            out.append("core-%d is %s" % (n, c.get("status", "absent")))
        if c.get("reason"):
            # a partition: which link, since when (cores[].reachable / unreachable_since / reason)
            out.append("core-%d: %s" % (n, c.get("reason")))
    me = doc.get("this_core") or {}
    if me and not me.get("active") and me.get("reason"):
        out.append("core-%s (which answered) is not active: %s" % (me.get("id"), me.get("reason")))
    active = [c.get("id") for c in doc.get("cores") or [] if c.get("active")]
    if len(active) != 1:
        out.append("%d active cores (%s), expected exactly one"
                   % (len(active), ", ".join("core-%s" % a for a in active) or "none"))
    return out


def human_uptime(s):
    if s is None or s == "":
        return "-"
    s = int(float(s))
    if s < 120:
        return "%ds" % s
    if s < 7200:
        return "%dm%02ds" % (s // 60, s % 60)
    return "%dh%02dm" % (s // 3600, (s % 3600) // 60)


def table(doc, local):
    rows = [("PROCESS", "PID", "ALIVE", "CLUSTER", "ACTIVE", "EPOCH", "UPTIME")]
    store = component(doc, "store") if doc else {}
    pid, alive = local.get("store", ("-", "-"))
    rows.append(("store", pid, alive, store.get("status", "-") if doc else "?", "-", "-", "-"))
    for n in (1, 2):
        c = core(doc, n) if doc else {}
        pid, alive = local.get("core-%d" % n, ("-", "-"))
        api_pid = fmt(c.get("pid"))
        if pid == "-" and api_pid:
            pid = api_pid
        rows.append(("core-%d" % n, pid, alive, c.get("status", "?" if not doc else "absent"),
                     ("yes" if c.get("active") else "no") if c else "?",
                     fmt(doc.get("epoch")) if c.get("active") else "-",
                     human_uptime(c.get("uptime_s")) if c else "-"))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(str(v).ljust(widths[i]) for i, v in enumerate(r)).rstrip())
    for n in (1, 2):
        c = core(doc, n) if doc else {}
        if c.get("reachable") is False or c.get("reason"):
            print("core-%d PARTITIONED: %s" % (n, c.get("reason") or "unreachable since %s"
                                               % fmt(c.get("unreachable_since"))))
    me = (doc or {}).get("this_core") or {}
    if me and not me.get("active"):
        print("answered by core-%s, not active: %s" % (fmt(me.get("id")), fmt(me.get("reason"))))
    comps = doc.get("components") or [] if doc else []
    if comps:
        print()
        w = max(len("COMPONENT"), *(len(c.get("name", "")) for c in comps))
        print("COMPONENT".ljust(w) + "  STATUS          DETAIL")
        for c in comps:
            print(c.get("name", "").ljust(w) + "  " + fmt(c.get("status")).ljust(14) + "  "
                  + fmt(c.get("detail")))


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    raw = sys.stdin.read()
    try:
        doc = json.loads(raw) if raw.strip() else {}
    except ValueError as e:
        print("not JSON: %s" % e, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd == "get":
        print(fmt(doc.get(argv[2])))
    elif cmd == "core":
        print(fmt(core(doc, argv[2]).get(argv[3])))
    elif cmd == "healthy":
        p = problems(doc)
        for line in p:
            print(line)
        return 1 if p else 0
    elif cmd == "table":
        local = {}
        for item in argv[2:]:
            name, _, rest = item.partition("=")
            pid, _, alive = rest.partition(":")
            local[name] = (pid or "-", alive or "-")
        table(doc, local)
    elif cmd == "pretty":
        print(json.dumps(doc, indent=2))
    else:
        print("unknown command %s" % cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `status.sh | head` ends quietly
    sys.exit(main(sys.argv))
