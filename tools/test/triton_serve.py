#!/usr/bin/env python3
"""A real NVIDIA Triton server on loopback serving a model repository written by
tools/model/triton_repo.py, for the `triton` test stage.

    triton_serve.py REPO CONTROL_DIR --http-port P --grpc-port G --metrics-port M

PyPI's PyTriton ships the `tritonserver` binary with its Python backend only (no onnxruntime
backend), so each model's `1/model.onnx` runs in ONNX Runtime inside a function PyTriton binds,
declared from the model's own `config.pbtxt` (parsed with Triton's protobuf definitions, so a
config Triton would refuse fails here): the same inputs, outputs, `max_batch_size`, dynamic
batcher queue delay and `parameters` (the engine reads `nninteractive.meta` from them).

CONTROL_DIR steers and records: each batch's size is appended to `batches.log` (`NAME SIZE`);
while `slow` exists, a forward first sleeps the seconds it holds, and writes `slow-done` after.
Prints `READY` once serving; stops on SIGTERM.
"""

import argparse
import os
import signal
import sys
import threading
import time


def read_config(path):
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    with open(path) as f:
        return text_format.Parse(f.read(), model_config_pb2.ModelConfig())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("repo")
    ap.add_argument("control")
    ap.add_argument("--http-port", type=int, required=True)
    ap.add_argument("--grpc-port", type=int, required=True)
    ap.add_argument("--metrics-port", type=int, required=True)
    ap.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads per model")
    args = ap.parse_args()

    import numpy as np
    import onnxruntime as ort
    from pytriton.decorators import batch
    from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
    from pytriton.models import model as pytriton_model
    from pytriton.triton import Triton, TritonConfig

    os.makedirs(args.control, exist_ok=True)
    log_lock = threading.Lock()
    extra_parameters = {}

    # PyTriton writes the config of a bound function itself; the repository's parameters (the
    # engine's metadata) are added to what it writes.
    original = pytriton_model.Model._get_triton_model_config

    def with_parameters(self):
        config = original(self)
        config.backend_parameters.update(extra_parameters.get(self.model_name, {}))
        return config

    pytriton_model.Model._get_triton_model_config = with_parameters

    def make_infer(name, sess, input_name, output_name):
        @batch
        def infer(**inputs):
            x = inputs[input_name]
            with log_lock, open(os.path.join(args.control, "batches.log"), "a") as f:
                f.write(f"{name} {x.shape[0]}\n")
            slow = os.path.join(args.control, "slow")
            if os.path.exists(slow):
                try:
                    seconds = float(open(slow).read().strip() or "0")
                except (OSError, ValueError):
                    seconds = 0.0
                time.sleep(seconds)
                open(os.path.join(args.control, "slow-done"), "w").close()
            return {output_name: sess.run(None, {input_name: np.ascontiguousarray(x)})[0]}

        return infer

    config = TritonConfig(http_port=args.http_port, grpc_port=args.grpc_port, metrics_port=args.metrics_port,
                          exit_timeout_secs=1)
    triton = Triton(config=config)
    for name in sorted(os.listdir(args.repo)):
        cfg_path = os.path.join(args.repo, name, "config.pbtxt")
        if not os.path.isfile(cfg_path):
            continue
        cfg = read_config(cfg_path)
        if cfg.name != name or cfg.platform != "onnxruntime_onnx" or len(cfg.input) != 1 or len(cfg.output) != 1:
            raise SystemExit(f"triton_serve: {cfg_path}: not a one-input, one-output onnxruntime model named {name}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = args.threads
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(os.path.join(args.repo, name, "1", "model.onnx"), opts,
                                    providers=["CPUExecutionProvider"])
        extra_parameters[name] = {k: v.string_value for k, v in cfg.parameters.items()}
        i, o = cfg.input[0], cfg.output[0]
        triton.bind(
            model_name=name,
            infer_func=make_infer(name, sess, i.name, o.name),
            inputs=[Tensor(name=i.name, dtype=np.float32, shape=tuple(i.dims))],
            outputs=[Tensor(name=o.name, dtype=np.float32, shape=tuple(o.dims))],
            config=ModelConfig(
                max_batch_size=cfg.max_batch_size,
                batcher=DynamicBatcher(
                    max_queue_delay_microseconds=cfg.dynamic_batching.max_queue_delay_microseconds),
            ),
            strict=True,
        )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    triton.run()
    print("READY", flush=True)
    stop.wait()
    triton.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
