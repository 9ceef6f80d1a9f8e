"""The half of deploy/'s routing rule that lives in the client: does the official remote client
(nninteractive-client 2.6.0, `nnInteractiveRemoteInferenceSession`, what napari, Slicer and MITK use)
send the ingress's affinity cookie back on every request after /claim?

A stand-in for the ingress answers on loopback the way ingress-nginx with cookie affinity does:
the /claim answer sets `NNI_REPLICA=<replica>|<backend>; Path=/; HttpOnly` (a claim passed on from
a full replica carries two such headers, the second naming the replica that took it), and it records
the cookie of every later request. Two sessions run at once in one process, one through 127.0.0.1 and
one through `localhost` (a host name without a dot, which Python's cookie jar treats specially).

Run with the client's venv (`.venv-client/bin/python`); prints a JSON list of
{"name", "ok", "detail"} for tools/test/deploy_check.py.
"""

import json
import sys
import threading
import time
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from nnInteractive.inference.remote import nnInteractiveRemoteInferenceSession

COOKIE = "NNI_REPLICA"
BACKEND = "0f3c"  # ingress-nginx appends "|<backend key>" to the replica's key
LIVENESS_S = 10.0  # the client heartbeats every max(5, liveness / 2) seconds

CAPABILITIES = {
    "supported_interactions": {"points": True, "bbox2d": True, "bbox3d": True, "scribble": True, "lasso": True},
    "channel_mapping": {"prev_seg": 0, "bbox2d": [1, 2], "points": [3, 4], "scribble": [5, 6], "lasso": [1, 2]},
    "num_interaction_channels": 7,
    "supports_initial_label": True,
    "supports_zero_shot_label_refinement": False,
    "preferred_scribble_thickness": [2, 2, 2],
    "interaction_decay": 0.9,
    "inference_session_version": "2.6.0",
    "license": "test",
    "supports_undo": True,
    "do_autozoom": True,
}


class Ingress(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log = []  # (path, lease token, cookie value or None)
    claims = 0
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def _reply(self, body, cookies=()):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for value in cookies:
            self.send_header("Set-Cookie", f"{COOKIE}={value}|{BACKEND}; Path=/; HttpOnly")
        self.end_headers()
        self.wfile.write(data)

    def _handle(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        jar = SimpleCookie(self.headers.get("Cookie") or "")
        cookie = jar[COOKIE].value if COOKIE in jar else None
        path = self.path
        with Ingress.lock:
            Ingress.log.append((path, self.headers.get("X-Lease-Token"), cookie))
            if path == "/claim":
                Ingress.claims += 1
                k = Ingress.claims
        if path == "/claim":
            # The first claim was passed on from a full replica: two cookies, the last one wins.
            cookies = ["replica-a", "replica-b"] if k == 1 else ["replica-c"]
            self._reply(
                {"lease_token": f"lease-{k}", "idle_timeout_seconds": 600.0,
                 "liveness_timeout_seconds": LIVENESS_S, "max_sessions": 16},
                cookies,
            )
        elif path == "/capabilities":
            self._reply(CAPABILITIES)
        elif path in ("/heartbeat", "/lease_status"):
            self._reply({"remaining_seconds": 600.0, "idle_timeout_seconds": 600.0})
        elif path == "/release":
            self._reply({"released": True})
        else:
            self._reply({})

    do_GET = _handle
    do_POST = _handle


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ingress)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    results = []

    def check(name, ok, detail=""):
        results.append({"name": name, "ok": bool(ok), "detail": detail})

    expected = {"lease-1": f"replica-b|{BACKEND}", "lease-2": f"replica-c|{BACKEND}"}
    try:
        one = nnInteractiveRemoteInferenceSession(f"http://127.0.0.1:{port}", api_key="key")
        two = nnInteractiveRemoteInferenceSession(f"http://localhost:{port}", api_key="key")
        one.lease_status()
        one.set_do_autozoom(False)
        two.lease_status()
        two.set_do_autozoom(True)
        deadline = time.monotonic() + 2 * LIVENESS_S
        while time.monotonic() < deadline:
            with Ingress.lock:
                beats = {t for p, t, _ in Ingress.log if p == "/heartbeat"}
            if beats >= set(expected):
                break
            time.sleep(0.2)
        one.close()
        two.close()
    except Exception as e:  # noqa: BLE001 - any failure is a failed check, said in its detail
        check("client: sessions ran against the stand-in ingress", False, repr(e))
    finally:
        server.shutdown()

    log = list(Ingress.log)
    claims = [c for p, _, c in log if p == "/claim"]
    check(
        "client: /claim goes out without a cookie (a fresh cookie jar per session, so the ingress "
        "picks a replica and may pass a full one's claim on)",
        len(claims) == 2 and claims == [None, None],
        f"claims seen with cookies {claims}",
    )
    after = [(p, t, c) for p, t, c in log if p != "/claim"]
    wrong = [(p, t, c) for p, t, c in after if expected.get(t) != c]
    paths = sorted({p for p, _, _ in after})
    check(
        "client: every request after /claim carries the cookie the claim's answer set last "
        f"({', '.join(paths)})",
        after and not wrong and {t for _, t, _ in after} == set(expected),
        f"{len(after)} requests; wrong: {wrong[:4]}",
    )
    beats = [(t, c) for p, t, c in log if p == "/heartbeat"]
    check(
        "client: the background heartbeat thread sends the cookie too",
        {t for t, _ in beats} == set(expected) and all(expected[t] == c for t, c in beats),
        f"heartbeats {beats}",
    )
    check(
        "client: two sessions in one process keep their own cookies (127.0.0.1 and localhost)",
        not wrong and all(any(t == lease for _, t, _ in after) for lease in expected),
        f"leases seen {sorted({t for _, t, _ in after if t})}",
    )
    released = [(t, c) for p, t, c in log if p == "/release"]
    check(
        "client: /release at close() carries the cookie, so it reaches the lease's replica",
        sorted(released) == sorted(expected.items()),
        f"releases {released}",
    )
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
