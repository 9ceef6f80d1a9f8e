#!/usr/bin/env python3
"""The remote network against a real NVIDIA Triton server on loopback (stage `triton`).

    .venv-client/bin/python tools/test/triton.py [--nni target/debug/nni] [--roots ROOT ...]

Every conformance model is converted (tools/test/conformance.py's cache), made into a Triton model
repository by tools/model/triton_repo.py (what `nni-convert --triton-repo` writes: batch axis
dynamic, config.pbtxt with dynamic batching and the engine's metadata as parameters), and served by
PyPI's PyTriton (the real `tritonserver`; ONNX Runtime, the engine's own version, runs the network
in the bound function: tools/test/triton_serve.py). Sections:

1. conformance: every case, step by step, through a session whose forwards run on Triton (the C ABI
   with `network_url`, no model file: the metadata comes from Triton's config) and through a local
   session on the same model file: the masks are identical after every step, bit for bit; the
   remote session's prompt log names the model file's SHA-256, so `nni replay` with the local
   model makes its mask again;
2. nni serve: `nni serve --network-url` (no --model) driven by the official client
   (nninteractive-client 2.6.0): every case == the local C ABI session;
3. batching: four sessions clicking at once (each step started together) have their forwards
   merged by Triton's dynamic batcher (the served function sees batches of more than one), and
   each gets, step by step, what it gets alone;
4. faults: a wrong model name; Triton stopped mid-session (the prompt fails with
   NNI_ERR_UNAVAILABLE and changes nothing) and restarted (the same prompt then works); a slow
   forward cancelled (the call returns while the server's forward is still running); a forward
   past the timeout; replies cut short by a proxy (an error, nothing changed; the next prompt works
   once the replies are whole);
5. https: a proxy in front of Triton with a certificate from a test CA (openssl): refused without
   the CA, a prompt == local with `network_ca_file`, a missing CA file refused.

Each check prints one line ending in PASS or FAIL; the last line is ``N passed, M failed``.
"""

import argparse
import http.client
import http.server
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "bindings", "python"))
sys.path.insert(0, os.path.join(REPO, "tools", "test"))

import conformance  # noqa: E402
import server as server_test  # noqa: E402  (the nni serve process and the client replay)
from nninteractive_native import NniError, Session  # noqa: E402

TRITON_PYTHON = os.path.join(REPO, ".venv-triton", "bin", "python")
RESULTS = server_test.RESULTS
check = server_test.check


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Triton:
    """tools/test/triton_serve.py on fixed loopback ports (kept across a restart)."""

    def __init__(self, repo, control, threads=1):
        self.repo, self.control, self.threads = repo, control, threads
        self.ports = [free_port(), free_port(), free_port()]
        self.url = f"http://127.0.0.1:{self.ports[0]}"
        self.proc = None
        self.log_path = os.path.join(control, "triton.log")

    def start(self):
        libdir = subprocess.check_output(
            [TRITON_PYTHON, "-c", "import sysconfig; print(sysconfig.get_config_var('LIBDIR'))"], text=True).strip()
        env = dict(os.environ)
        # PyTriton's Python stub must load the venv interpreter's libpython, not the system's.
        env["LD_LIBRARY_PATH"] = libdir + os.pathsep + env.get("LD_LIBRARY_PATH", "")
        log = open(self.log_path, "a")
        start = log.tell()
        self.proc = subprocess.Popen(
            [TRITON_PYTHON, os.path.join(REPO, "tools", "test", "triton_serve.py"), self.repo, self.control,
             "--http-port", str(self.ports[0]), "--grpc-port", str(self.ports[1]),
             "--metrics-port", str(self.ports[2]), "--threads", str(self.threads)],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            with open(self.log_path) as f:
                f.seek(start)
                if "READY" in f.read():
                    return
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("Triton did not start:\n" + open(self.log_path).read()[-4000:])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            try:  # whatever is left of its process group (tritonserver, its Python stubs)
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # The port is free again only once tritonserver itself has gone.
        deadline = time.time() + 30
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.ports[0])) != 0:
                    return
            time.sleep(0.2)

    def batches(self, model=None):
        path = os.path.join(self.control, "batches.log")
        if not os.path.exists(path):
            return []
        rows = [line.split() for line in open(path) if line.strip()]
        return [int(n) for name, n in rows if model is None or name == model]


class CuttingProxy:
    """An HTTP proxy in front of Triton that, while `cut` is set, sends only the first half of each
    /infer reply's body (with the whole reply's Content-Length) and closes the connection."""

    def __init__(self, upstream_port, tls=None):
        proxy = self
        self.cut = False
        self.cuts = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def relay(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                up = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                up.request(self.command, self.path, body=body, headers=headers)
                reply = up.getresponse()
                data = reply.read()
                cut = proxy.cut and self.path.endswith("/infer") and reply.status == 200
                self.send_response(reply.status)
                for k, v in reply.getheaders():
                    if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                if cut:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data[: len(data) // 2] if cut else data)
                self.wfile.flush()
                if cut:
                    proxy.cuts += 1
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                up.close()

            do_GET = relay
            do_POST = relay

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:  # (certificate, key): serve https
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


# ------------------------------------------------------------------ setup


def model_repository(roots, ref_python, repo_dir):
    """Convert every model (cached), write its Triton repository; returns the cases as
    [(case_dir, onnx, triton model name)]."""
    cases = []
    names = {}
    for case_dir, onnx in server_test.conformance_cases(roots, ref_python):
        if onnx not in names:
            name = "m%d-%s" % (len(names), "".join(c if c.isalnum() or c in "-_" else "-"
                                                    for c in os.path.basename(os.path.dirname(onnx))))
            # A queue delay long enough that forwards started together are batched on a busy
            # 2-core machine (production repositories keep the small default).
            cmd = [os.path.join(REPO, ".venv", "bin", "python"), os.path.join(REPO, "tools", "model", "triton_repo.py"),
                   onnx, repo_dir, "--name", name, "--instance-kind", "cpu", "--queue-delay-us", "200000"]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if not check(f"triton_repo.py {os.path.basename(os.path.dirname(onnx))}: batch of 2 == alone",
                         proc.returncode == 0, (proc.stdout + proc.stderr).strip().splitlines()[0][:90]):
                print(proc.stdout + proc.stderr)
                raise SystemExit(1)
            names[onnx] = name
        cases.append((case_dir, onnx, names[onnx]))
    return cases


def remote_session(triton, name, case, **kw):
    return Session(None, network_url=f"{triton.url}/v2/models/{name}", autozoom=bool(case.get("autozoom", True)),
                   **kw)


def local_session(onnx, case):
    # One thread, as the served function's ONNX Runtime: its CPU convolutions are not bit-identical
    # across thread counts (a deep stage's Conv differs in the last bit between 1 and 2 threads),
    # while with one thread a row of a batch is bit-identical to the same input alone.
    return Session(onnx, device="cpu", num_threads=1, autozoom=bool(case.get("autozoom", True)))


def replay_steps(sess, case_dir, case, image, on_step=None):
    """The mask after every step (and undo's answers)."""
    masks = []
    sess.set_image(image)
    for i, step in enumerate(case["steps"]):
        if on_step:
            on_step(i)
        conformance.run_step(sess, case_dir, step)
        masks.append(np.array(sess.get_mask(), copy=True))
    return masks


# ------------------------------------------------------------------ sections


def section_conformance(triton, cases, nni):
    alone = {}
    for case_dir, onnx, name in cases:
        label = os.path.basename(case_dir)
        case, image = server_test.load_case(case_dir)
        local = local_session(onnx, case)
        try:
            want = replay_steps(local, case_dir, case, image)
        finally:
            local.close()
        alone[case_dir] = want
        remote = remote_session(triton, name, case)
        try:
            described = remote.describe()
            got = replay_steps(remote, case_dir, case, image)
            differ = [i for i, (a, b) in enumerate(zip(got, want)) if not np.array_equal(a, b)]
            check(f"conformance {label}: {len(got)} steps on Triton == local, bit for bit", not differ,
                  f"steps differing: {differ}" if differ else f"{int(got[-1].sum())} voxels at the end")
            if label == os.path.basename(cases[0][0]):
                check("a remote session says where it runs", "remote" in described and name in described,
                      described[:100])
            with tempfile.TemporaryDirectory() as tmp:
                log = os.path.join(tmp, "log.json")
                with open(log, "w") as f:
                    f.write(remote.export_log())
                out = os.path.join(tmp, "replayed.npy")
                image_path = os.path.join(tmp, "image.npy")
                np.save(image_path, image)
                proc = conformance.replay(argparse.Namespace(nni=nni, threads=1), log, image_path, onnx, out)
                ok = proc.returncode == 0 and np.array_equal(np.load(out), got[-1])
                check(f"conformance {label}: its prompt log replayed locally (nni replay)", ok,
                      (proc.stderr.strip().splitlines() or [""])[-1][:90])
        finally:
            remote.close()
    return alone


def section_serve(triton, cases, nni, alone):
    by_model = {}
    for case_dir, onnx, name in cases:
        by_model.setdefault(name, []).append(case_dir)
    for name, case_dirs in by_model.items():
        srv = server_test.Server(nni, None, "--network-url", f"{triton.url}/v2/models/{name}")
        try:
            for case_dir in case_dirs:
                label = os.path.basename(case_dir)
                try:
                    got = server_test.replay_remote(srv.url, case_dir)
                except Exception as e:  # noqa: BLE001 - a failed check
                    check(f"nni serve --network-url {label}: client == local", False, repr(e))
                    srv.print_log_tail()
                    continue
                differ = [i for i, (a, b) in enumerate(zip(got, alone[case_dir])) if not np.array_equal(a, b)]
                check(f"nni serve --network-url {label}: client == local, every step", not differ,
                      f"steps differing: {differ}" if differ else "")
        finally:
            srv.stop()


def section_batching(triton, cases, alone):
    # The case with the most forwards on one model.
    case_dir, onnx, name = max(cases, key=lambda c: len(server_test.load_case(c[0])[0]["steps"]))
    case, image = server_test.load_case(case_dir)
    n = 4
    barrier = threading.Barrier(n)
    results = [None] * n
    errors = []
    before = len(triton.batches(name))

    def worker(k):
        try:
            sess = remote_session(triton, name, case)
            try:
                results[k] = replay_steps(sess, case_dir, case, image, on_step=lambda i: barrier.wait(120))
            finally:
                sess.close()
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sizes = triton.batches(name)[before:]
    check(f"batching: {n} sessions ran {os.path.basename(case_dir)} at once", not errors, "; ".join(errors)[:120])
    check("batching: Triton merged their forwards (batches > 1)", max(sizes, default=0) > 1,
          f"{len(sizes)} batches, sizes {sorted(set(sizes))}, {sum(sizes)} forwards")
    for k in range(n):
        same = results[k] is not None and all(np.array_equal(a, b) for a, b in zip(results[k], alone[case_dir]))
        check(f"batching: session {k} got, every step, what it gets alone", same)


class SlowForwards:
    """While alive, each forward of triton_serve.py first sleeps `seconds` (its `slow` file);
    end() lets forwards run at once again and waits for the slow one under way to finish."""

    def __init__(self, control, seconds):
        self.slow = os.path.join(control, "slow")
        self.done = os.path.join(control, "slow-done")
        if os.path.exists(self.done):
            os.remove(self.done)
        with open(self.slow, "w") as f:
            f.write(str(seconds))

    def end(self):
        if os.path.exists(self.slow):
            os.remove(self.slow)
            deadline = time.time() + 30
            while time.time() < deadline and not os.path.exists(self.done):
                time.sleep(0.05)


def expect_failed_prompt(label, status, text, sess, case_dir, step, mask_before):
    """`step` fails with `status` and a message holding `text`, and leaves the mask as it was."""
    try:
        conformance.run_step(sess, case_dir, step)
        check(f"{label}: the prompt fails", False, "it succeeded")
    except NniError as e:
        check(f"{label}: the prompt fails with {status}" + (f" ({text!r})" if text else ""),
              e.status_name == status and text in e.message, e.message[:100])
    check(f"{label}: the mask is as it was", np.array_equal(sess.get_mask(), mask_before))


def section_faults(triton, cases, nni):
    case_dir, onnx, name = cases[0]
    case, image = server_test.load_case(case_dir)
    # Two prompts that each run a forward: the case's first points and boxes, predicting.
    steps = [dict(s, run_prediction=True) for s in case["steps"] if s["op"] in ("point", "bbox")][:2]
    if len(steps) < 2:
        steps = [{"op": "point", "at": [int(v) // 2 for v in image.shape]}] * 2

    try:
        Session(None, network_url=f"{triton.url}/v2/models/no-such-model")
        check("a wrong model name is refused", False, "the session opened")
    except NniError as e:
        check("a wrong model name is refused (NNI_ERR_MODEL, named)",
              e.status_name == "NNI_ERR_MODEL" and "no-such-model" in e.message, e.message[:100])

    def local_after(k):
        s = local_session(onnx, case)
        try:
            s.set_image(image)
            for st in steps[:k]:
                conformance.run_step(s, case_dir, st)
            return np.array(s.get_mask(), copy=True)
        finally:
            s.close()

    want1, want2 = local_after(1), local_after(2)

    # Triton stopped mid-session, then restarted.
    sess = remote_session(triton, name, case, network_retries=1)
    try:
        sess.set_image(image)
        conformance.run_step(sess, case_dir, steps[0])
        triton.stop()
        expect_failed_prompt("Triton stopped", "NNI_ERR_UNAVAILABLE", "", sess, case_dir, steps[1], want1)
        triton.start()
        conformance.run_step(sess, case_dir, steps[1])
        check("Triton restarted: the same prompt works, == local", np.array_equal(sess.get_mask(), want2))
        check("Triton restarted: undo returns to the mask before it", sess.undo() and
              np.array_equal(sess.get_mask(), want1))
    finally:
        sess.close()

    # A slow forward cancelled: the call returns while the server still runs it.
    slow = None
    sess = remote_session(triton, name, case)
    try:
        sess.set_image(image)
        conformance.run_step(sess, case_dir, steps[0])
        slow = SlowForwards(triton.control, 10)
        seen = len(triton.batches())
        outcome = {}

        def prompt():
            try:
                conformance.run_step(sess, case_dir, steps[1])
                outcome["status"] = "OK"
            except NniError as e:
                outcome["status"] = e.status_name

        t = threading.Thread(target=prompt)
        t.start()
        deadline = time.time() + 30
        while time.time() < deadline and len(triton.batches()) == seen:
            time.sleep(0.02)
        started = len(triton.batches()) > seen
        sess.request_cancel()
        t.join(60)
        still_running = not os.path.exists(slow.done)
        check("slow forward: the call was cancelled (NNI_ERR_CANCELLED)",
              started and outcome.get("status") == "NNI_ERR_CANCELLED", str(outcome))
        check("slow forward: the cancel returned while Triton still ran the forward", still_running)
        check("slow forward: the mask is as it was", np.array_equal(sess.get_mask(), want1))
        slow.end()
        conformance.run_step(sess, case_dir, steps[1])
        check("slow forward: the next prompt works, == local", np.array_equal(sess.get_mask(), want2))
    finally:
        if slow:
            slow.end()
        sess.close()

    # A forward past the timeout.
    slow = None
    sess = remote_session(triton, name, case, network_timeout=1.0, network_retries=0)
    try:
        sess.set_image(image)
        conformance.run_step(sess, case_dir, steps[0])
        slow = SlowForwards(triton.control, 4)
        expect_failed_prompt("timeout", "NNI_ERR_INFERENCE", "within 1 s", sess, case_dir, steps[1], want1)
        slow.end()
        conformance.run_step(sess, case_dir, steps[1])
        check("timeout: the next prompt works, == local", np.array_equal(sess.get_mask(), want2))
    finally:
        if slow:
            slow.end()
        sess.close()

    # Replies cut short.
    proxy = CuttingProxy(triton.ports[0])
    try:
        sess = Session(None, network_url=f"http://127.0.0.1:{proxy.port}/v2/models/{name}",
                       autozoom=bool(case.get("autozoom", True)), network_retries=2)
        try:
            sess.set_image(image)
            conformance.run_step(sess, case_dir, steps[0])
            proxy.cut = True
            expect_failed_prompt("cut replies", "NNI_ERR_INFERENCE", "broke off", sess, case_dir, steps[1], want1)
            check("cut replies: ... after the retries (3 replies cut)", proxy.cuts == 3, f"{proxy.cuts} replies cut")
            proxy.cut = False
            conformance.run_step(sess, case_dir, steps[1])
            check("cut replies: whole again, the next prompt works, == local",
                  np.array_equal(sess.get_mask(), want2))
        finally:
            sess.close()
    finally:
        proxy.close()


def make_certificates(folder):
    """A test CA and a certificate for 127.0.0.1 signed by it (openssl); returns (ca, cert, key)."""
    ca_key, ca, key, csr, cert = (os.path.join(folder, n) for n in ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem"))
    ext = os.path.join(folder, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    for cmd in (
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=nninteractive-native test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
         "-days", "2", "-extfile", ext],
    ):
        subprocess.run(cmd, check=True, capture_output=True)
    return ca, cert, key


def section_tls(triton, cases):
    """https to the network server: trusted through the CA file given, refused without it."""
    case_dir, onnx, name = cases[0]
    case, image = server_test.load_case(case_dir)
    step = next(dict(s, run_prediction=True) for s in case["steps"] if s["op"] in ("point", "bbox"))
    with tempfile.TemporaryDirectory() as tmp:
        try:
            ca, cert, key = make_certificates(tmp)
        except (OSError, subprocess.CalledProcessError) as e:
            check("https: a test CA made with openssl", False, repr(e)[:100])
            return
        proxy = CuttingProxy(triton.ports[0], tls=(cert, key))
        url = f"https://127.0.0.1:{proxy.port}/v2/models/{name}"
        try:
            try:
                Session(None, network_url=url, network_retries=0)
                check("https: a server certificate from an unknown CA is refused", False, "accepted")
            except NniError as e:
                check("https: a server certificate from an unknown CA is refused (NNI_ERR_UNAVAILABLE)",
                      e.status_name == "NNI_ERR_UNAVAILABLE" and "certificate" in e.message, e.message[:100])
            local = local_session(onnx, case)
            try:
                local.set_image(image)
                conformance.run_step(local, case_dir, step)
                want = np.array(local.get_mask(), copy=True)
            finally:
                local.close()
            sess = Session(None, network_url=url, network_ca_file=ca, autozoom=bool(case.get("autozoom", True)))
            try:
                sess.set_image(image)
                conformance.run_step(sess, case_dir, step)
                check("https: with the CA file (network_ca_file) a prompt runs, == local",
                      np.array_equal(sess.get_mask(), want))
            finally:
                sess.close()
            try:
                Session(None, network_url=url, network_ca_file=cert + ".missing")
                check("https: a missing CA file is refused", False, "accepted")
            except NniError as e:
                check("https: a missing CA file is refused (NNI_ERR_INVALID_ARGUMENT, named)",
                      e.status_name == "NNI_ERR_INVALID_ARGUMENT" and ".missing" in e.message, e.message[:100])
        finally:
            proxy.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nni", default=os.path.join(REPO, "target", "debug", "nni"))
    ap.add_argument("--roots", nargs="+", default=[os.environ.get("NNI_CONFORMANCE_ROOT", os.path.join(REPO, "..", "shared", "conformance")),
                                                   os.path.join(REPO, "tests", "conformance")])
    ap.add_argument("--ref-python", default=os.environ.get("NNI_REF_PYTHON", os.path.join(REPO, ".venv-ref", "bin", "python")))
    args = ap.parse_args()
    os.environ.setdefault("NNI_ONNXRUNTIME_PATH", os.path.join(REPO, ".deps", "onnxruntime", "libonnxruntime.so"))
    work = os.path.join(REPO, "build", "triton")
    repo_dir = os.path.join(work, "repository")
    control = os.path.join(work, "control")
    subprocess.run(["rm", "-rf", work], check=True)
    os.makedirs(control)
    cases = model_repository(args.roots, args.ref_python, repo_dir)
    triton = Triton(repo_dir, control)
    triton.start()
    try:
        alone = section_conformance(triton, cases, args.nni)
        section_serve(triton, cases, args.nni, alone)
        section_batching(triton, cases, alone)
        section_faults(triton, cases, args.nni)
        section_tls(triton, cases)
    finally:
        triton.stop()
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
