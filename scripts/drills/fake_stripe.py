"""A fake Stripe for the kill -9 drill: PaymentIntents keyed by Idempotency-Key.

POST /v1/payment_intents makes one intent per Idempotency-Key (a repeated key answers the same
intent, as Stripe does) and appends `create <key> <intent>` to the events file when it first
sees a key. While the hold file exists, that first answer waits until the hold file is removed.
GET /v1/payment_intents/<id> answers the intent. GET /counts answers {key: intents made}.
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

port_file, events_file, hold_file = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
intents = {}
by_key = {}
counts = {}


def note(line):
    with open(events_file, "a") as f:
        f.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/counts":
            with lock:
                return self.answer(200, counts)
        if self.path.startswith("/v1/payment_intents/"):
            intent = intents.get(self.path.rsplit("/", 1)[1])
            if intent:
                return self.answer(200, intent)
        self.answer(404, {"error": {"type": "invalid_request_error", "message": "no such object"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        form = parse_qs(self.rfile.read(length).decode())
        if self.path != "/v1/payment_intents":
            return self.answer(404, {"error": {"type": "invalid_request_error", "message": "unknown"}})
        key = self.headers.get("Idempotency-Key", "")
        with lock:
            first = key not in by_key
            if first:
                n = len(intents) + 1
                intent = {
                    "id": f"pi_drill_{n}",
                    "object": "payment_intent",
                    "amount": int(form["amount"][0]),
                    "currency": form["currency"][0],
                    "status": "requires_payment_method",
                    "client_secret": f"pi_drill_{n}_secret_x",
                    "metadata": {"payment_id": form.get("metadata[payment_id]", [""])[0]},
                }
                intents[intent["id"]] = intent
                by_key[key] = intent["id"]
                counts[key] = counts.get(key, 0) + 1
            intent = intents[by_key[key]]
        note(f"create {key} {intent['id']}")
        if first:
            while os.path.exists(hold_file):
                time.sleep(0.02)
        try:
            self.answer(200, intent)
        except OSError:
            note(f"lost {key}")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
