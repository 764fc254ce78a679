#!/usr/bin/env python3
"""webhook_receiver.py — the receiving end of test 0108 (webhooks).

Serves HTTP on 127.0.0.1:PORT and verifies every POST with the Standard
Webhooks reference library (PyPI `standardwebhooks`):
standardwebhooks.Webhook(secret).verify(body, headers), for each secret in
SECRETS_FILE (one per line, read at each request so the test can add one
after a rotation). Each request becomes one JSON line in LOG_FILE:
  {"path", "webhook_id", "verified": true|false, "secret": index or null,
   "signatures": n, "type", "status", "error"}
What the reply is depends on the path:
  /ok           200
  /flaky        500 the first time a webhook-id is seen, then 200
  /later        503 with Retry-After: 8 the first time, then 200
  /gone         410
  /redirect     302 to /target (which would answer 200 if ever followed)
  /target       200
Usage: webhook_receiver.py PORT SECRETS_FILE LOG_FILE
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook

PORT, SECRETS, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]
seen = set()


def secrets():
    with open(SECRETS) as f:
        return [line.strip() for line in f if line.strip()]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {k.lower(): v for k, v in self.headers.items()}
        rec = {"path": self.path, "webhook_id": headers.get("webhook-id"),
               "verified": False, "secret": None,
               "signatures": len(headers.get("webhook-signature", "").split()),
               "type": None, "error": None, "time": time.time()}
        for i, s in enumerate(secrets()):
            try:
                payload = Webhook(s).verify(body, headers)
            except Exception as e:  # noqa: BLE001 - recorded for the test
                rec["error"] = f"{type(e).__name__}: {e}"
                continue
            rec.update(verified=True, secret=i, error=None,
                       type=payload.get("type"))
            break
        status = 200
        if self.path in ("/flaky", "/later") and rec["webhook_id"] not in seen:
            seen.add(rec["webhook_id"])
            status = 500 if self.path == "/flaky" else 503
        elif self.path == "/gone":
            status = 410
        elif self.path == "/redirect":
            status = 302
        rec["status"] = status
        with open(LOG, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "/target")
        if status == 503:
            self.send_header("Retry-After", "8")
        self.send_header("Content-Length", "0")
        self.end_headers()


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
