#!/usr/bin/env python3
"""A scripted Ollama-compatible server for the author loop (docs/self-development.md), standard library only.

Usage: standin.py PORT [MODEL ...]   (models default: llama3:latest qwen2.5-coder:7b)

It serves GET /, /api/version, /api/tags, /api/ps, POST /api/show, /api/chat (streaming or not). A chat whose messages
hold "Feature name: <name>" is answered with the prepared plan of that bench task (standin_plans.py): the first
attempt of a task in WRONG_FIRST gets the buggy version, a repair ("Attempt <n> ...") the correct one. Anything else
gets an empty plan. Every chat is logged to stderr as one line: the feature, the attempt and what was answered.
"""
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import standin_plans

CREATED_AT = "2025-06-01T12:00:00.123456789Z"
METRICS = {"total_duration": 1234567890, "load_duration": 12345678, "prompt_eval_count": 26,
           "prompt_eval_duration": 130079000, "eval_count": 12, "eval_duration": 423271000}


def normalize(name):
    return name if ":" in name else name + ":latest"


class Handler(BaseHTTPRequestHandler):
    models = []
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, content_type="application/json; charset=utf-8"):
        data = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        return json.loads(raw or b"{}")

    def do_HEAD(self):
        self.send(200, b"", "text/plain; charset=utf-8")

    def do_GET(self):
        if self.path == "/":
            self.send(200, b"Ollama is running", "text/plain; charset=utf-8")
        elif self.path == "/api/version":
            self.send(200, {"version": "0.13.5"})
        elif self.path == "/api/tags":
            self.send(200, {"models": [{"name": m, "model": m, "modified_at": "2025-05-10T08:06:48.639712648-07:00",
                                        "size": 4661224676, "digest": "365c0bd3c000a25d28ddbf732fe1c6add414de7275464c4e4d1c3b5fcb5d8ad1",
                                        "details": {"parent_model": "", "format": "gguf", "family": "llama",
                                                    "families": ["llama"], "parameter_size": "8.0B",
                                                    "quantization_level": "Q4_0"}} for m in self.models]})
        elif self.path == "/api/ps":
            self.send(200, {"models": []})
        else:
            self.send(404, b"404 page not found", "text/plain; charset=utf-8")

    def do_POST(self):
        try:
            body = self.read_json()
        except ValueError:
            self.send(400, {"error": "invalid JSON"})
            return
        model = body.get("model") or body.get("name") or ""
        if self.path == "/api/show":
            if normalize(model) not in self.models:
                self.send(404, {"error": f"model '{model}' not found"})
                return
            self.send(200, {"modelfile": "", "parameters": "", "template": "", "details": {"family": "llama"},
                            "model_info": {"llama.context_length": 32768}, "capabilities": ["completion"]})
        elif self.path == "/api/chat":
            if not model:
                self.send(400, {"error": "model is required"})
                return
            if normalize(model) not in self.models:
                self.send(404, {"error": f"model '{model}' not found"})
                return
            content = answer(body.get("messages") or [])
            final = {"model": model, "created_at": CREATED_AT, "message": {"role": "assistant", "content": content},
                     "done": True, "done_reason": "stop", **METRICS}
            if body.get("stream", True) is False:
                self.send(200, final)
            else:
                first = {"model": model, "created_at": CREATED_AT,
                         "message": {"role": "assistant", "content": content}, "done": False}
                last = dict(final, message={"role": "assistant", "content": ""})
                data = (json.dumps(first, separators=(",", ":")) + "\n" + json.dumps(last, separators=(",", ":"))
                        + "\n").encode()
                self.send(200, data, "application/x-ndjson")
        else:
            self.send(404, b"404 page not found", "text/plain; charset=utf-8")


def answer(messages):
    text = "\n".join(m.get("content", "") for m in messages if m.get("role") == "user")
    name = re.search(r"Feature name: ([A-Za-z0-9_-]+)", text)
    command = re.search(r"Chat command: !([a-z0-9_-]+)", text)
    last = messages[-1].get("content", "") if messages else ""
    attempt = re.match(r"Attempt (\d+)", last)
    if not name or not command or name.group(1) not in standin_plans.SOLUTIONS:
        print(f"standin: no plan for {name.group(1) if name else '?'}", file=sys.stderr, flush=True)
        return json.dumps({"summary": "", "files": [], "testCommand": ""})
    task = name.group(1)
    wrong = attempt is None and task in standin_plans.WRONG_FIRST
    plan = {"summary": f"{task}: {'first try' if wrong else 'solution'}",
            "files": standin_plans.files(task, command.group(1), wrong=wrong), "testCommand": "python3 test_main.py"}
    print(f"standin: {task} attempt {int(attempt.group(1)) + 1 if attempt else 1}: "
          f"{'wrong first try' if wrong else 'solution'}", file=sys.stderr, flush=True)
    return json.dumps(plan)


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    Handler.models = [normalize(m) for m in (sys.argv[2:] or ["llama3:latest", "qwen2.5-coder:7b"])]
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
