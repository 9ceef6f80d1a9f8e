#!/usr/bin/env python3
"""`nni serve` driven by the official client (PyPI `nninteractive-client` 2.6.0).

    .venv-client/bin/python tools/test/server.py [--nni target/debug/nni] [--roots ROOT ...]

Run by `tools/test.sh server` (which installs the client venv and builds `nni`). Sections:

1. conformance: every case of ``../shared/conformance`` and ``tests/conformance`` replayed through
   ``nnInteractiveRemoteInferenceSession`` against one ``nni serve`` per model, beside the same case
   through the C ABI (the Python binding): after every step the client's target buffer must equal
   the C ABI's mask, voxel for voxel (the reference's Dice is printed for information);
2. concurrency: several clients at once, on different images, each get what they got alone;
3. capacity: the claim past ``--max-sessions`` gets the reference's answer (503, Retry-After,
   ``ServerAtCapacityError``), and a released slot is claimable again; leases that send the same
   image share one normalised copy (and only while one of them holds it);
4. faults: a client process killed mid-session is reaped after the liveness timeout (not before),
   its slot is reused, the other client is untouched; an idle client is reaped at the idle timeout;
5. the README's "Use it from napari, Slicer or MITK today", followed as written: its server command
   and its check with the client;
6. bad input: malformed arrays, wrong shapes and types, a wrong key, an unknown lease, an
   oversized body, broken JSON: each a 4xx with a clear detail, the server's memory bounded, and
   the session still right afterwards; an image over --max-lease-mb is refused (413) before it is copied.

Each check prints one line ending in PASS or FAIL; the last line is ``N passed, M failed``.
"""

import argparse
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "bindings", "python"))
sys.path.insert(0, os.path.join(REPO, "tools", "test"))

import httpx  # noqa: E402
import psutil  # noqa: E402
from nnInteractive.inference.remote import (  # noqa: E402
    ServerAtCapacityError,
    SessionExpiredError,
    nnInteractiveRemoteInferenceSession,
)
from nnInteractive.inference.remote.serialization import pack_array  # noqa: E402

import conformance  # noqa: E402  (model conversion and the C ABI replay of one step)
from case_arrays import as_npy, load_array  # noqa: E402
from nninteractive_native import Session  # noqa: E402

RESULTS = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    RESULTS["passed" if ok else "failed"] += 1
    print(f"{name:<72} {'PASS' if ok else 'FAIL'}{'  ' + detail if detail else ''}")
    sys.stdout.flush()
    return ok


class Server:
    """One `nni serve` process on a free port; its log is kept for failures."""

    def __init__(self, nni, model, *extra):
        cmd = [nni, "serve", *(["--model", model] if model else []), "--port", "0", "--threads", "2", *extra]
        env = dict(os.environ)
        env.setdefault("NNI_ONNXRUNTIME_PATH", os.path.join(REPO, ".deps", "onnxruntime", "libonnxruntime.so"))
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
        self.log = []
        deadline = time.time() + 60
        self.url = None
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.append(line)
            m = re.search(r"serving on (http://\S+)", line)
            if m:
                self.url = m.group(1)
                break
        if self.url is None:
            self.stop()
            raise RuntimeError("nni serve did not start:\n" + "".join(self.log))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def print_log_tail(self, lines=20):
        """The server's last log lines and whether it still runs, after a failed check."""
        state = "running" if self.proc.poll() is None else f"exited with {self.proc.returncode}"
        print(f"    nni serve ({state}), its last {lines} log lines:")
        for line in self.log[-lines:]:
            print("    | " + line.rstrip())

    def rss_mb(self):
        return psutil.Process(self.proc.pid).memory_info().rss / 2**20

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ------------------------------------------------------------------ replays


def client_step(rs, case_dir, step):
    """One case step through the remote client (the protocol's calls, as the plug-ins make them)."""
    op = step["op"]
    pos = bool(step.get("positive", True))
    run = bool(step.get("run_prediction", True))

    def mask():
        return load_array(os.path.join(case_dir, step["mask"]))

    if op == "point":
        rs.add_point_interaction(step["at"], include_interaction=pos, run_prediction=run)
    elif op == "bbox":
        rs.add_bbox_interaction([[a, b] for a, b in zip(step["min"], step["max"])],
                                include_interaction=pos, run_prediction=run)
    elif op == "scribble":
        rs.add_scribble_interaction(mask(), include_interaction=pos, run_prediction=run)
    elif op == "lasso":
        rs.add_lasso_interaction(mask(), include_interaction=pos, run_prediction=run)
    elif op == "initial_seg":
        rs.add_initial_seg_interaction(mask(), run_prediction=bool(step.get("run_prediction", False)))
    elif op == "undo":
        rs.undo()
    elif op == "reset":
        rs.reset_interactions()
    else:
        raise ValueError(f"unknown op {op!r}")


def load_case(case_dir):
    with open(os.path.join(case_dir, "case.json")) as f:
        case = json.load(f)
    return case, load_array(os.path.join(case_dir, case["image"]))


def replay_remote(url, case_dir, api_key=None):
    """The target buffer after every step, through the client."""
    case, image = load_case(case_dir)
    masks = []
    with nnInteractiveRemoteInferenceSession(url, api_key=api_key) as rs:
        rs.set_do_autozoom(bool(case.get("autozoom", True)))
        rs.set_image(image[None])
        target = np.zeros(image.shape, np.uint8)
        rs.set_target_buffer(target)
        for step in case["steps"]:
            client_step(rs, case_dir, step)
            masks.append(target.copy())
    return masks


def replay_c_abi(onnx, case_dir):
    """The mask after every step, through the C ABI."""
    case, image = load_case(case_dir)
    masks = []
    sess = Session(onnx, device="cpu", num_threads=2, autozoom=bool(case.get("autozoom", True)))
    try:
        sess.set_image(image)
        for step in case["steps"]:
            conformance.run_step(sess, case_dir, step)
            masks.append(np.array(sess.get_mask(), copy=True))
    finally:
        sess.close()
    return masks


def dice(a, b):
    a, b = a.astype(bool), b.astype(bool)
    s = int(a.sum()) + int(b.sum())
    return 1.0 if s == 0 else 2.0 * int((a & b).sum()) / s


def conformance_cases(roots, ref_python):
    """Every case of the case sets `roots` with its converted model (converted or reused as
    tools/test/conformance.py does), as [(case_dir, onnx)], set by set, cases in name order."""
    out = []
    for root in roots:
        root = os.path.abspath(root)
        models = conformance.convert_models(root, os.path.join(REPO, "build", "conformance-models"),
                                            ref_python, 2, False)
        cases_dir = os.path.join(root, "cases")
        for name in sorted(os.listdir(cases_dir)):
            case_dir = os.path.join(cases_dir, name)
            case, _ = load_case(case_dir)
            out.append((case_dir, models[os.path.realpath(os.path.join(root, case["model"]))]))
    return out


def section_conformance(nni, roots, ref_python):
    """Every case through the client and through the C ABI: identical after every step."""
    alone = {}
    for root in roots:
        by_model = {}
        for case_dir, onnx in conformance_cases([root], ref_python):
            by_model.setdefault(onnx, []).append(case_dir)
        for onnx, case_dirs in by_model.items():
            server = Server(nni, onnx)
            try:
                for case_dir in case_dirs:
                    name = os.path.basename(case_dir)
                    case, _ = load_case(case_dir)
                    try:
                        remote = replay_remote(server.url, case_dir)
                    except Exception as e:  # noqa: BLE001 - reported as a failed check
                        check(f"conformance {name}: replay through the client", False, repr(e))
                        server.print_log_tail()
                        continue
                    local = replay_c_abi(onnx, case_dir)
                    alone[case_dir] = (onnx, remote)
                    for i, (step, r, c) in enumerate(zip(case["steps"], remote, local)):
                        same = np.array_equal(r, c)
                        info = f"{int(r.sum())} voxels"
                        if "expect" in step:
                            want = load_array(os.path.join(case_dir, step["expect"]))
                            info += f", Dice vs reference {dice(r, want):.4f}"
                        if not same:
                            info += f", {int((r != c).sum())} voxels differ from the C ABI"
                        check(f"conformance {name} step {i:02d} {step['op']}: client == C ABI", same, info)
            finally:
                server.stop()
    return alone


def section_concurrency(nni, alone):
    """Four clients at once (three images, one of them twice) get what they got alone."""
    by_model = {}
    for case_dir, (onnx, masks) in alone.items():
        by_model.setdefault(onnx, []).append((case_dir, masks))
    onnx, cases = max(by_model.items(), key=lambda kv: len(kv[1]))
    picked = cases[:3] + cases[:1]
    server = Server(nni, onnx, "--max-sessions", str(len(picked)))
    results = [None] * len(picked)

    def worker(i, case_dir):
        try:
            results[i] = replay_remote(server.url, case_dir)
        except Exception as e:  # noqa: BLE001
            results[i] = e

    try:
        threads = [threading.Thread(target=worker, args=(i, c)) for i, (c, _) in enumerate(picked)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        took = time.time() - t0
        for i, (case_dir, want) in enumerate(picked):
            got = results[i]
            ok = isinstance(got, list) and len(got) == len(want) and all(
                np.array_equal(a, b) for a, b in zip(got, want))
            detail = repr(got) if isinstance(got, Exception) else f"{len(want)} steps"
            check(f"concurrency: client {i} ({os.path.basename(case_dir)}) gets what it got alone", ok, detail)
        print(f"(concurrency: {len(picked)} clients in {took:.1f} s)")
    finally:
        server.stop()
    return onnx


def section_capacity(nni, onnx):
    server = Server(nni, onnx, "--max-sessions", "2")
    try:
        a = nnInteractiveRemoteInferenceSession(server.url)
        b = nnInteractiveRemoteInferenceSession(server.url)
        try:
            nnInteractiveRemoteInferenceSession(server.url)
            check("capacity: the third claim past --max-sessions 2 is refused", False, "it was accepted")
        except ServerAtCapacityError as e:
            check("capacity: the third claim past --max-sessions 2 is refused", "at capacity (2 sessions)" in str(e),
                  f"ServerAtCapacityError: {e}")
        r = httpx.post(server.url + "/claim")
        check("capacity: 503 with Retry-After and a detail",
              r.status_code == 503 and r.headers.get("retry-after") == "10" and "capacity" in r.json()["detail"],
              f"{r.status_code} {r.text}")
        a.close()
        c = nnInteractiveRemoteInferenceSession(server.url)
        check("capacity: a released slot can be claimed again", True)
        b.close()
        c.close()
    finally:
        server.stop()


CHILD = r"""
import sys, time, numpy as np
from nnInteractive.inference.remote import nnInteractiveRemoteInferenceSession
s = nnInteractiveRemoteInferenceSession(sys.argv[1])
img = np.load(sys.argv[2])
s.set_image(img[None]); t = np.zeros(img.shape, np.uint8); s.set_target_buffer(t)
s.add_point_interaction([d // 2 for d in img.shape], include_interaction=True)
print("ready", flush=True)
time.sleep(3600)
"""


def section_shared_images(nni, onnx, case_dir):
    """Leases that send the same image share one normalised copy; another image does not."""
    server = Server(nni, onnx, "--max-sessions", "3")
    try:
        _, image = load_case(case_dir)

        def upload(img):
            token = httpx.post(server.url + "/claim").json()["lease_token"]
            r = httpx.post(server.url + "/set_image", content=pack_array(np.ascontiguousarray(img[None])),
                           headers={"X-Lease-Token": token, "X-Meta": "{}"}, timeout=120)
            return token, r.json()

        def release(token):
            httpx.post(server.url + "/release", headers={"X-Lease-Token": token})

        a, first = upload(image)
        b, second = upload(image)
        other = image.copy()
        other.flat[other.size // 3] += 1
        c, third = upload(other)
        check("shared images: the same image from a second lease is normalised once",
              first.get("image_shared") is False and second.get("image_shared") is True
              and third.get("image_shared") is False, f"{first}, {second}, {third}")
        for t in (a, b, c):
            release(t)
        d, again = upload(image)
        check("shared images: freed with the last lease that held it", again.get("image_shared") is False,
              f"{again}")
        release(d)
    finally:
        server.stop()


def section_faults(nni, onnx, case_dir):
    liveness = 8.0
    server = Server(nni, onnx, "--max-sessions", "2", "--liveness-timeout-seconds", str(liveness),
                    "--idle-timeout-seconds", "120")
    try:
        case, image = load_case(case_dir)
        survivor = nnInteractiveRemoteInferenceSession(server.url)
        survivor.set_do_autozoom(bool(case.get("autozoom", True)))
        survivor.set_image(image[None])
        target = np.zeros(image.shape, np.uint8)
        survivor.set_target_buffer(target)
        steps = [s for s in case["steps"] if s["op"] in ("point", "bbox")][:2]
        client_step(survivor, case_dir, steps[0])

        image_npy = as_npy(os.path.join(case_dir, case["image"]), tempfile.mkdtemp(prefix="nni-server-test-"))
        child = subprocess.Popen([sys.executable, "-c", CHILD, server.url, image_npy],
                                 stdout=subprocess.PIPE, text=True)
        ready = child.stdout.readline().strip() == "ready"
        check("faults: a second client claims and predicts", ready)
        child.kill()
        child.wait()
        killed = time.time()
        try:
            nnInteractiveRemoteInferenceSession(server.url).close()
            check("faults: the dead client's slot is held until the liveness timeout", False, "claimed at once")
        except ServerAtCapacityError:
            check("faults: the dead client's slot is held until the liveness timeout", True)
        reclaimed = None
        while time.time() - killed < liveness + 15:
            try:
                s = nnInteractiveRemoteInferenceSession(server.url)
                reclaimed = time.time() - killed
                s.close()
                break
            except ServerAtCapacityError:
                time.sleep(0.5)
        check(f"faults: the dead client is reaped after the liveness timeout ({liveness:.0f} s)",
              reclaimed is not None and reclaimed >= liveness - 1.0,
              f"slot free again after {reclaimed:.1f} s" if reclaimed else "never reaped")
        # The survivor (heartbeating) is untouched: its next prompt gives what the C ABI gives.
        client_step(survivor, case_dir, steps[1])
        sess = Session(onnx, device="cpu", num_threads=2, autozoom=bool(case.get("autozoom", True)))
        sess.set_image(image)
        for st in steps:
            conformance.run_step(sess, case_dir, st)
        want = np.array(sess.get_mask(), copy=True)
        sess.close()
        check("faults: the live client is untouched (its next prompt == C ABI)", np.array_equal(target, want),
              f"{int(target.sum())} voxels")
        survivor.close()
    finally:
        server.stop()

    server = Server(nni, onnx, "--idle-timeout-seconds", "3", "--liveness-timeout-seconds", "60")
    try:
        s = nnInteractiveRemoteInferenceSession(server.url)
        left = s.heartbeat()
        time.sleep(4.5)
        try:
            s.set_do_autozoom(False)
            check("faults: an idle client is reaped at the idle timeout", False, "still served")
        except SessionExpiredError as e:
            check("faults: an idle client is reaped at the idle timeout", 0 < left <= 3.0,
                  f"SessionExpiredError: {e}; heartbeat said {left:.2f} s left")
        s.close()
    finally:
        server.stop()


# ------------------------------------------------------------------ the README, as written


def section_readme(nni):
    """Start the server as the README says and run its check snippet; the printed count must be the
    one the README promises."""
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    start = text.index("## Use it from napari, Slicer or MITK today")
    section = text[start:text.index("\n## ", start + 3)]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, re.S)
    shell = next(b for lang, b in blocks if lang == "sh")
    snippet = next(b for lang, b in blocks if lang == "python")
    snippet = "\n".join(line[3:] if line.startswith("   ") else line for line in snippet.splitlines())
    command = next(line.strip() for line in shell.splitlines() if " serve " in line)
    args = command.split(" serve ", 1)[1].split()
    model = args[args.index("--model") + 1]
    rest = [a for i, a in enumerate(args) if a != "--model" and (i == 0 or args[i - 1] != "--model")]
    server = Server(nni, os.path.join(REPO, model), *rest)
    try:
        port = server.url.rsplit(":", 1)[1]
        code = snippet.replace("http://127.0.0.1:1527", f"http://127.0.0.1:{port}")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        promised = re.search(r"# (\d+): ", snippet).group(1)
        out = proc.stdout.strip()
        check("README: the server command and the client check, as written",
              proc.returncode == 0 and out == f"{promised} voxels segmented",
              f"printed {out!r}, the README promises {promised}" + (f"; {proc.stderr[-300:]}" if proc.returncode else ""))
    finally:
        server.stop()


# ------------------------------------------------------------------ bad input


def nnia(arr, **kw):
    return pack_array(np.ascontiguousarray(arr), **kw)


def pooled_connections(url, lease):
    """A client that reuses its connection (httpx's pool, the official client's) sends a small
    JSON body to /heartbeat, /undo and /reset_interactions, often after the headers in a packet of
    its own. The server must read it before answering, else it closes the connection after the
    reply without saying so and the client's next request on it fails ("Server disconnected
    without sending a response": the server stage's one-off failure). Here the body comes 50 ms
    after the headers, then a second request goes over the same connection."""
    host, port = url.split("//")[1].split(":")
    extra = "".join(f"{k}: {v}\r\n" for k, v in lease.items())

    def exchange(sock, head, body=b""):
        sock.sendall(head.encode())
        if body:
            time.sleep(0.05)
            sock.sendall(body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        header, rest = data.split(b"\r\n\r\n", 1)
        length = int(re.search(rb"content-length: *(\d+)", header, re.I).group(1))
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            rest += chunk
        return header.split(b"\r\n")[0].decode()

    for path in ("/heartbeat", "/undo", "/reset_interactions"):
        kept = 0
        for _ in range(5):
            with socket.create_connection((host, int(port)), timeout=30) as sock:
                first = exchange(sock, f"POST {path} HTTP/1.1\r\nHost: t\r\n{extra}Content-Type: application/json\r\n"
                                       "Content-Length: 2\r\n\r\n", b"{}")
                try:
                    second = exchange(sock, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                except OSError:
                    second = None
                kept += int(first is not None and " 200 " in first and second is not None)
        check(f"bad input: {path} with its body after the headers keeps the connection for the next request",
              kept == 5, f"{kept} of 5 connections carried a second request")


def section_lease_budget(nni, onnx):
    """--max-lease-mb: an image whose session would hold more (5 bytes a voxel) is refused before
    the engine copies it, and the lease keeps working with an image that fits."""
    server = Server(nni, onnx, "--max-lease-mb", "1")
    try:
        with nnInteractiveRemoteInferenceSession(server.url) as rs:
            big = np.ones((1, 64, 64, 64), np.int16)  # 1.25 MiB in a session
            try:
                rs.set_image(big)
                check("lease budget: a 64^3 image over --max-lease-mb 1 is refused", False, "accepted")
            except httpx.HTTPStatusError as e:
                detail = e.response.json().get("detail", "")
                check("lease budget: a 64^3 image over --max-lease-mb 1 is refused (413, names the flag)",
                      e.response.status_code == 413 and "--max-lease-mb" in detail, detail[:110])
            rng = np.random.default_rng(0)
            small = rng.normal(10, 2, (1, 32, 32, 32)).astype(np.int16)  # 160 KiB in a session
            small[0, 8:24, 8:24, 8:24] += 100
            rs.set_image(small)
            target = np.zeros(small.shape[1:], np.uint8)
            rs.set_target_buffer(target)
            rs.add_point_interaction([16, 16, 16], include_interaction=True)
            check("lease budget: the same lease then works with a 32^3 image", int(target.sum()) > 0,
                  f"{int(target.sum())} voxels")
    finally:
        server.stop()


def section_bad_input(nni, onnx, case_dir):
    key = "s3cret-key"
    server = Server(nni, onnx, "--api-key", key, "--max-upload-mb", "8")
    try:
        case, image = load_case(case_dir)
        url = server.url
        auth = {"Authorization": f"Bearer {key}"}
        h = httpx.Client(base_url=url, timeout=60)

        def expect(name, resp, status, detail_has):
            try:
                detail = resp.json().get("detail", "")
            except ValueError:
                detail = resp.text
            ok = resp.status_code == status and detail_has.lower() in str(detail).lower()
            return check(f"bad input: {name} -> {status}", ok, f"{resp.status_code} {str(detail)[:110]!r}")

        check("bad input: /healthz needs no key", h.get("/healthz").status_code == 200)
        expect("no API key", h.post("/claim"), 401, "missing bearer token")
        expect("wrong API key", h.post("/claim", headers={"Authorization": "Bearer nope"}), 401, "invalid bearer")
        expect("unknown lease", h.post("/heartbeat", headers={**auth, "X-Lease-Token": "f" * 32}), 410,
               "lease expired or unknown")
        expect("missing lease", h.post("/heartbeat", headers=auth), 410, "lease token missing")
        expect("unknown path", h.get("/nope", headers=auth), 404, "not found")
        for name, resp in (("no API key", h.post("/claim", content=b"{}")),
                           ("unknown path", h.post("/nope", headers=auth, content=b"{}"))):
            # sent before the body is read: the server closes, so it must say so
            check(f"bad input: {name}: the reply says Connection: close",
                  resp.headers.get("connection", "").lower() == "close", resp.headers.get("connection"))

        rs = nnInteractiveRemoteInferenceSession(url, api_key=key)
        lease = {**auth, "X-Lease-Token": rs._lease_token}
        rss0 = server.rss_mb()
        good = nnia(image[None])
        bin_h = {**lease, "Content-Type": "application/octet-stream", "X-Meta": "{}"}
        bad_magic = b"XXXX" + good[4:]
        expect("bad magic", h.post("/set_image", content=bad_magic, headers=bin_h), 400, "bad magic")
        expect("truncated payload", h.post("/set_image", content=good[: len(good) // 2], headers=bin_h), 400,
               "truncated")
        name_len = good[7]
        shape_at = 8 + name_len
        huge = bytearray(good)
        huge[shape_at + 8: shape_at + 16] = struct.pack("<q", 1 << 40)
        expect("shape of 2^40 voxels", h.post("/set_image", content=bytes(huge), headers=bin_h), 413, "too large")
        chunk_at = shape_at + 8 * 4 + 4
        lie = bytearray(good)
        lie[chunk_at: chunk_at + 8] = struct.pack("<Q", 1 << 62)
        expect("a chunk claiming 2^62 bytes", h.post("/set_image", content=bytes(lie), headers=bin_h), 400,
               "remain")
        small_lie = bytearray(good)
        small_lie[chunk_at: chunk_at + 8] = struct.pack("<Q", 64)
        expect("a chunk whose frame disagrees", h.post("/set_image", content=bytes(small_lie), headers=bin_h),
               400, "mismatch")
        expect("a 3D image", h.post("/set_image", content=nnia(image), headers=bin_h), 400, "4d image")
        expect("a complex image", h.post("/set_image", content=good.replace(b"float32", b"complex", 1)
                                         if b"float32" in good else good.replace(b"int16", b"int17", 1),
                                         headers=bin_h), 400, "dtype")
        big = os.urandom(9 << 20)
        over = h.post("/set_image", content=big, headers=bin_h)
        expect("a 9 MiB body over --max-upload-mb 8", over, 413, "length limit")
        check("bad input: ... and the connection is closed (the body's rest was never read)",
              over.headers.get("connection", "").lower() == "close", over.headers.get("connection"))
        expect("malformed X-Meta", h.post("/set_image", content=good, headers={**bin_h, "X-Meta": "{nope"}), 400,
               "x-meta")
        deep = '{"image_properties": ' + "[" * 300 + "]" * 300 + "}"
        expect("X-Meta nested 300 deep", h.post("/set_image", content=good, headers={**bin_h, "X-Meta": deep}), 400,
               "nested 301 deep")
        no_chunks = bytearray(good[:chunk_at - 4]) + struct.pack("<I", 0)
        expect("a header declaring voxels and no chunks", h.post("/set_image", content=bytes(no_chunks),
                                                                 headers=bin_h), 400, "the chunks hold 0")
        pooled_connections(url, lease)
        expect("a prompt before any image",
               h.post("/add_point_interaction", json={"coordinates": [1, 1, 1], "include_interaction": True},
                      headers=lease), 400, "no image")

        rs.set_image(image[None])
        target = np.zeros(image.shape, np.uint8)
        expect("a prompt before set_target_buffer",
               h.post("/add_point_interaction", json={"coordinates": [1, 1, 1], "include_interaction": True},
                      headers=lease), 400, "no target buffer")
        wrong = list(image.shape)
        wrong[0] += 1
        expect("target buffer of another shape",
               h.post("/set_target_buffer", json={"shape": wrong, "dtype": "uint8"}, headers=lease), 400, "differs")
        expect("float target buffer",
               h.post("/set_target_buffer", json={"shape": list(image.shape), "dtype": "float32"}, headers=lease),
               400, "bool or an integer")
        expect("huge target buffer",
               h.post("/set_target_buffer", json={"shape": [1 << 20, 1 << 20, 1 << 20], "dtype": "uint8"},
                      headers=lease), 413, "limit")
        expect("target buffer without dtype",
               h.post("/set_target_buffer", json={"shape": list(image.shape)}, headers=lease), 400,
               "missing required field: dtype")
        rs.set_target_buffer(target)
        expect("broken JSON", h.post("/add_point_interaction", content=b"{", headers=lease), 422, "json")
        expect("NaN coordinates",
               h.post("/add_point_interaction", content=b'{"coordinates":[NaN,1,1],"include_interaction":true}',
                      headers={**lease, "Content-Type": "application/json"}), 422, "json")
        expect("a zero-size box",
               h.post("/add_bbox_interaction", json={"bbox_coords": [[5, 5], [1, 9], [1, 9]],
                                                     "include_interaction": True}, headers=lease), 400,
               "positive size")
        wrong_mask = np.zeros([s + 1 for s in image.shape], np.uint8)
        mask_h = {**lease, "Content-Type": "application/octet-stream",
                  "X-Meta": json.dumps({"include_interaction": True})}
        expect("scribble of another shape", h.post("/add_scribble_interaction", content=nnia(wrong_mask),
                                                   headers=mask_h), 400, "differs from the image")
        half = np.full(image.shape, 0.5, np.float32)
        expect("scribble of 0.5 values", h.post("/add_scribble_interaction", content=nnia(half), headers=mask_h),
               400, "whole number")
        outside = {**mask_h, "X-Meta": json.dumps({"include_interaction": True,
                                                   "interaction_bbox": [[0, 2], [0, 2], [0, 10 ** 6]]})}
        expect("interaction_bbox outside the image",
               h.post("/add_scribble_interaction", content=nnia(np.ones((2, 2, 10 ** 6), np.uint8)), headers=outside),
               400, "exceeds the image")
        for i in range(20):  # a burst of bad uploads must not grow the server
            h.post("/set_image", content=bytes(huge), headers=bin_h)
            h.post("/add_scribble_interaction", content=nnia(wrong_mask), headers=mask_h)
        grown = server.rss_mb() - rss0
        check("bad input: memory stays bounded after 40 more bad uploads", grown < 300, f"RSS grew {grown:.0f} MiB")

        # The session is still right: a scribble given over a sub-box equals the same scribble given
        # image-shaped (through the C ABI).
        steps = [s for s in case["steps"] if s["op"] in ("point", "bbox")]
        client_step(rs, case_dir, steps[0])
        scribble = np.zeros(image.shape, np.uint8)
        c = [d // 2 for d in image.shape]
        scribble[c[0], c[1] - 3:c[1] + 3, c[2] - 2:c[2] + 2] = 1
        lo = [c[0], c[1] - 3, c[2] - 2]
        hi = [c[0] + 1, c[1] + 3, c[2] + 2]
        rs.add_scribble_interaction(scribble[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]], include_interaction=False,
                                    interaction_bbox=[[a, b] for a, b in zip(lo, hi)])
        sess = Session(onnx, device="cpu", num_threads=2, autozoom=bool(case.get("autozoom", True)))
        sess.set_image(image)
        conformance.run_step(sess, case_dir, steps[0])
        sess.add_scribble(scribble, positive=False)
        want = np.array(sess.get_mask(), copy=True)
        sess.close()
        check("bad input: afterwards the session is right (sub-box scribble == C ABI)", np.array_equal(target, want),
              f"{int(target.sum())} voxels")
        u = rs.undo()
        check("bad input: undo of the scribble through /undo", u and int(target.sum()) > 0)
        rs.close()
        expect("a released lease", h.post("/heartbeat", headers=lease), 410, "lease expired or unknown")
        h.close()
    finally:
        server.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nni", default=os.path.join(REPO, "target", "debug", "nni"))
    ap.add_argument("--roots", nargs="*", default=[os.environ.get("NNI_CONFORMANCE_ROOT",
                                                                  os.path.join(REPO, "..", "shared", "conformance")),
                                                   os.path.join(REPO, "tests", "conformance")])
    ap.add_argument("--ref-python", default=os.environ.get("NNI_REF_PYTHON",
                                                           os.path.join(REPO, ".venv-ref", "bin", "python")))
    args = ap.parse_args()
    t0 = time.time()
    section_readme(args.nni)
    alone = section_conformance(args.nni, args.roots, args.ref_python)
    if alone:
        onnx = section_concurrency(args.nni, alone)
        case_dir = next(c for c, (o, _) in alone.items() if o == onnx)
        section_capacity(args.nni, onnx)
        section_shared_images(args.nni, onnx, case_dir)
        section_faults(args.nni, onnx, case_dir)
        section_bad_input(args.nni, onnx, case_dir)
        section_lease_budget(args.nni, onnx)
    print(f"(server tests: {time.time() - t0:.0f} s)")
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] or not alone else 0


if __name__ == "__main__":
    sys.exit(main())
