"""Checks the Kubernetes manifests in deploy/ (stage `deploy`, docs/scale-out.md).

1. Every object kustomize would apply (the generated Secret included) validates against the
   Kubernetes JSON schemas of the oldest and newest release we claim, in strict mode (an unknown
   field is an error), with PyPI `kubernetes-validate` (schemas bundled: no network).
2. The references between objects hold: selectors select the pods they are meant to, target
   ports and probe ports name container ports, Secrets and ConfigMaps referenced exist with the
   keys asked for, every object is in the kustomization's namespace.
3. nni serve's arguments are flags `nni serve --help` accepts (target/debug/nni when built, else
   the clap definitions in cli/src), its --network-url names the Triton Service, its port and the
   model the pool loads, and the routing rule of the ingress is the one docs/scale-out.md argues for.
4. The official client keeps the ingress's cookie (tools/test/deploy_cookie.py, in the client's venv).
5. Broken copies of the manifests, made in a temporary folder, are refused: each must fail the
   check it breaks, so the checks above can fail.

Prints one line per check and then "N passed, M failed"; exits 1 when anything failed.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
# The oldest Kubernetes minor release the manifests are meant for, and the newest the validator has.
K8S_VERSIONS = ["1.30", kubernetes_validate.utils.major_minor(kubernetes_validate.utils.latest_version())]
# Flags of `nni serve` that the remote network (issue 24, item 1) adds; accepted before they land.
PENDING_FLAGS = {"--network-url": True, "--network-timeout": True}
# Secrets the manifests reference that the operator makes outside kustomize.
EXTERNAL_SECRETS = {"nni-tls": "the ingress's TLS certificate (cert-manager or kubectl create secret tls)"}
# One forward's input: 1 image + 7 interaction channels at the released network's 192^3 patch,
# float32 (docs/model-format.md); Triton must accept an HTTP request this large.
FORWARD_INPUT_BYTES = 8 * 192**3 * 4
# The client's read timeout for set_image (nninteractive-client 2.6.0: set_image_read_timeout).
CLIENT_SET_IMAGE_TIMEOUT_S = 600
NS_KINDS_CLUSTER = {"Namespace"}
NGINX = "nginx.ingress.kubernetes.io/"
# Values ingress-nginx's annotation validators accept (internal/ingress/annotations/proxy and
# sessionaffinity): an annotation it refuses is dropped, and the Ingress loses that setting.
NEXT_UPSTREAM_TOKENS = {"error", "timeout", "invalid_header", "http_500", "http_502", "http_503", "http_504",
                        "http_403", "http_404", "http_429", "non_idempotent", "off"}


# ------------------------------------------------------------------ loading


class Bundle:
    """What `kubectl apply -k DIR` would apply: the resources, and the Secrets kustomize makes."""

    def __init__(self, folder):
        self.dir = Path(folder)
        self.kustomization = yaml.safe_load((self.dir / "kustomization.yaml").read_text())
        self.namespace = self.kustomization.get("namespace")
        self.objects = []  # (file name, object)
        for name in self.kustomization.get("resources", []):
            path = self.dir / name
            if not path.is_file():
                continue
            for doc in yaml.safe_load_all(path.read_text()):
                if doc is not None:
                    self.objects.append((name, doc))
        self.secret_keys = {}  # generated Secret name -> keys (from the committed .example files)
        for gen in self.kustomization.get("secretGenerator", []):
            keys = {}
            for env in gen.get("envs", []):
                example = self.dir / (env + ".example")
                if example.is_file():
                    keys.update(parse_env(example.read_text()))
            for lit in gen.get("literals", []):
                k, _, v = lit.partition("=")
                keys[k] = v
            self.secret_keys[gen["name"]] = keys
            self.objects.append(("secretGenerator", {
                "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": gen["name"], "namespace": self.namespace},
                "stringData": keys,
            }))

    def of_kind(self, kind):
        return [o for _, o in self.objects if o.get("kind") == kind]

    def get(self, kind, name):
        for o in self.of_kind(kind):
            if o["metadata"]["name"] == name:
                return o
        return None


def parse_env(text):
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


def label(o):
    return f"{o.get('kind')}/{o.get('metadata', {}).get('name')}"


def pod_spec(workload):
    return workload["spec"]["template"]["spec"]


def pod_labels(workload):
    return workload["spec"]["template"]["metadata"].get("labels", {})


def containers(workload, init=True):
    spec = pod_spec(workload)
    return list(spec.get("containers", [])) + (list(spec.get("initContainers", [])) if init else [])


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def selected_workloads(bundle, selector):
    return [d for d in bundle.of_kind("Deployment") if selects(selector, pod_labels(d))]


def container(bundle, deployment, name):
    d = bundle.get("Deployment", deployment)
    if d is None:
        return None
    return next((c for c in containers(d) if c["name"] == name), None)


def port_names(workload):
    return {p.get("name"): p["containerPort"] for c in containers(workload, init=False) for p in c.get("ports", [])}


def mib(size):
    """An nginx size ("1024m", "2g", "0") in MiB; None when unparsable."""
    m = re.fullmatch(r"(\d+)([kKmMgG]?)", str(size).strip())
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2).lower()
    return {"": n / 2**20, "k": n / 1024, "m": n, "g": n * 1024}[unit]


# ------------------------------------------------------------------ nni serve's flags


def serve_flags():
    """{flag: takes a value} of `nni serve`, and where they were read."""
    exe = Path(os.environ.get("NNI_BIN", ROOT / "target" / "debug" / "nni"))
    if exe.is_file() and os.access(exe, os.X_OK):
        try:
            out = subprocess.run([str(exe), "serve", "--help"], capture_output=True, text=True,
                                 timeout=30).stdout
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        flags = {m.group(1): bool(m.group(2))
                 for m in re.finditer(r"(?m)^\s+(?:-\w, )?(--[a-z0-9-]+)( <[^>]+>)?", out)}
        if flags:
            return flags, f"{exe.relative_to(ROOT) if exe.is_relative_to(ROOT) else exe} serve --help"
    flags = {}
    for path, struct in (("cli/src/serve.rs", "ServeArgs"), ("cli/src/main.rs", "Common")):
        text = (ROOT / path).read_text()
        m = re.search(r"struct " + struct + r" \{(.*?)\n\}", text, re.S)
        if not m:
            continue
        for a in re.finditer(r"#\[arg\(([^\]]*)\)\]\s*(?:///[^\n]*\s*)*(?:pub\s+)?(\w+)\s*:\s*([^,\n]+)", m.group(1)):
            attrs, field, ty = a.groups()
            if "long" not in attrs:
                continue
            named = re.search(r'long\s*=\s*"([^"]+)"', attrs)
            flags["--" + (named.group(1) if named else field.replace("_", "-"))] = ty.strip() != "bool"
    flags["--help"] = False
    return flags, "the clap definitions in cli/src/serve.rs and cli/src/main.rs (no target/debug/nni)"


def parse_args(args):
    """[(flag, value or None)] of a command line of --flag=value / --flag value / --switch."""
    out, i = [], 0
    while i < len(args):
        a = args[i]
        if a.startswith("--") and "=" in a:
            f, _, v = a.partition("=")
            out.append((f, v))
        elif a.startswith("--") and i + 1 < len(args) and not args[i + 1].startswith("--"):
            out.append((a, args[i + 1]))
            i += 1
        else:
            out.append((a, None))
        i += 1
    return out


def serve_container(bundle):
    for d in bundle.of_kind("Deployment"):
        for c in containers(d, init=False):
            cmd = list(c.get("command", [])) + list(c.get("args", []))
            if len(cmd) >= 2 and Path(cmd[0]).name == "nni" and cmd[1] == "serve":
                return d, c, parse_args(cmd[2:])
    return None, None, []


def triton_container(bundle):
    for d in bundle.of_kind("Deployment"):
        for c in containers(d, init=False):
            if c.get("command", [None])[0] == "tritonserver":
                return d, c, dict(parse_args(c.get("args", [])))
    return None, None, {}


# ------------------------------------------------------------------ the checks (each: problems)


def check_kustomization(b):
    p = []
    listed = set(b.kustomization.get("resources", []))
    for name in listed:
        if not (b.dir / name).is_file():
            p.append(f"resource {name} does not exist")
    for f in sorted(b.dir.glob("*.yaml")):
        if f.name != "kustomization.yaml" and f.name not in listed:
            p.append(f"{f.name} is not listed in kustomization.yaml")
    for gen in b.kustomization.get("secretGenerator", []):
        for env in gen.get("envs", []):
            if not (b.dir / (env + ".example")).is_file():
                p.append(f"secretGenerator {gen['name']}: no {env}.example beside {env}")
    if not b.namespace:
        p.append("no namespace in kustomization.yaml")
    return p


def check_schema(obj, strict=True):
    p = []
    for v in K8S_VERSIONS:
        try:
            kubernetes_validate.validate(obj, v, strict=strict)
        except kubernetes_validate.ValidationError as e:
            where = "/".join(str(x) for x in e.path)
            p.append(f"Kubernetes {v}: {where}: {e.message}")
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.VersionNotSupportedError) as e:
            p.append(f"Kubernetes {v}: {e.message}")
    return p


def check_namespaces(b):
    p = []
    if b.get("Namespace", b.namespace) is None:
        p.append(f"no Namespace object {b.namespace}")
    for f, o in b.objects:
        if o["kind"] in NS_KINDS_CLUSTER:
            continue
        ns = o["metadata"].get("namespace")
        if ns != b.namespace:
            p.append(f"{f} {label(o)} is in namespace {ns!r}, the kustomization's is {b.namespace!r}")
    return p


def check_workload_selectors(b):
    p = []
    for d in b.of_kind("Deployment"):
        sel = d["spec"]["selector"].get("matchLabels", {})
        if not selects(sel, pod_labels(d)):
            p.append(f"{label(d)}: selector {sel} does not match its pod template's labels")
        for t in pod_spec(d).get("topologySpreadConstraints", []):
            if not selects(t["labelSelector"].get("matchLabels", {}), pod_labels(d)):
                p.append(f"{label(d)}: a topology spread constraint does not select its own pods")
    for kind in ("PodDisruptionBudget",):
        for o in b.of_kind(kind):
            if len(selected_workloads(b, o["spec"]["selector"].get("matchLabels", {}))) != 1:
                p.append(f"{label(o)}: its selector matches no Deployment's pods (or several)")
    return p


def check_services(b):
    p = []
    for s in b.of_kind("Service"):
        ds = selected_workloads(b, s["spec"].get("selector", {}))
        if len(ds) != 1:
            p.append(f"{label(s)}: selector {s['spec'].get('selector')} matches {len(ds)} Deployments' pods")
            continue
        names = port_names(ds[0])
        for port in s["spec"]["ports"]:
            t = port.get("targetPort", port["port"])
            if (isinstance(t, str) and t not in names) or (isinstance(t, int) and t not in names.values()):
                p.append(f"{label(s)}: targetPort {t!r} is not a container port of {label(ds[0])} ({names})")
    return p


def check_network_policies(b):
    p = []
    for n in b.of_kind("NetworkPolicy"):
        targets = selected_workloads(b, n["spec"]["podSelector"].get("matchLabels", {}))
        if len(targets) != 1:
            p.append(f"{label(n)}: podSelector matches {len(targets)} Deployments' pods")
            continue
        names = port_names(targets[0])
        for rule in n["spec"].get("ingress", []):
            for src in rule.get("from", []):
                if "podSelector" in src and not selected_workloads(b, src["podSelector"].get("matchLabels", {})):
                    p.append(f"{label(n)}: a 'from' podSelector {src['podSelector']} matches no pods")
            for port in rule.get("ports", []):
                if isinstance(port.get("port"), str) and port["port"] not in names:
                    p.append(f"{label(n)}: port {port['port']!r} is not a port of {label(targets[0])}")
    return p


def check_ingresses(b):
    p = []
    for i in b.of_kind("Ingress"):
        for rule in i["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                svc = path["backend"]["service"]
                s = b.get("Service", svc["name"])
                if s is None:
                    p.append(f"{label(i)}: path {path['path']} goes to Service {svc['name']}, which does not exist")
                    continue
                want = svc["port"].get("name", svc["port"].get("number"))
                have = {x.get("name") for x in s["spec"]["ports"]} | {x["port"] for x in s["spec"]["ports"]}
                if want not in have:
                    p.append(f"{label(i)}: Service {svc['name']} has no port {want!r}")
    return p


def check_secrets(b):
    p = []

    def ref(where, name, key=None, optional=False):
        if name in EXTERNAL_SECRETS:
            return
        if name not in b.secret_keys:
            p.append(f"{where}: Secret {name!r} is neither made by the kustomization nor a known external one")
        elif key is not None and key not in b.secret_keys[name] and not optional:
            p.append(f"{where}: Secret {name!r} has no key {key!r} (keys: {sorted(b.secret_keys[name])})")

    for d in b.of_kind("Deployment"):
        for c in containers(d):
            for e in c.get("env", []):
                r = e.get("valueFrom", {}).get("secretKeyRef")
                if r:
                    ref(f"{label(d)} {c['name']} env {e['name']}", r["name"], r["key"], r.get("optional", False))
            for e in c.get("envFrom", []):
                if "secretRef" in e:
                    ref(f"{label(d)} {c['name']} envFrom", e["secretRef"]["name"])
        for v in pod_spec(d).get("volumes", []):
            if "secret" in v:
                ref(f"{label(d)} volume {v['name']}", v["secret"]["secretName"])
    for i in b.of_kind("Ingress"):
        for t in i["spec"].get("tls", []):
            ref(f"{label(i)} tls", t["secretName"])
    return p


def check_configmaps(b):
    p = []
    for d in b.of_kind("Deployment"):
        for c in containers(d):
            for e in c.get("envFrom", []):
                if "configMapRef" in e and b.get("ConfigMap", e["configMapRef"]["name"]) is None:
                    p.append(f"{label(d)} {c['name']}: ConfigMap {e['configMapRef']['name']!r} does not exist")
            for e in c.get("env", []):
                r = e.get("valueFrom", {}).get("configMapKeyRef")
                if r:
                    cm = b.get("ConfigMap", r["name"])
                    if cm is None or r["key"] not in cm.get("data", {}):
                        p.append(f"{label(d)} {c['name']}: ConfigMap key {r['name']}/{r['key']} does not exist")
        for v in pod_spec(d).get("volumes", []):
            if "configMap" in v and b.get("ConfigMap", v["configMap"]["name"]) is None:
                p.append(f"{label(d)} volume {v['name']}: ConfigMap {v['configMap']['name']!r} does not exist")
    return p


def check_probes(b):
    p = []
    want = {
        "nni serve": (serve_container(b)[1], {"readinessProbe": "/healthz", "livenessProbe": "/healthz"}),
        "triton": (triton_container(b)[1], {"readinessProbe": "/v2/health/ready", "livenessProbe": "/v2/health/live"}),
    }
    for who, (c, probes) in want.items():
        if c is None:
            p.append(f"no {who} container")
            continue
        for probe, path in probes.items():
            got = c.get(probe, {}).get("httpGet", {}).get("path")
            if got != path:
                p.append(f"{who}: {probe} is {got!r}, not GET {path}")
    for d in b.of_kind("Deployment"):
        for c in containers(d, init=False):
            names = {x.get("name") for x in c.get("ports", [])} | {x["containerPort"] for x in c.get("ports", [])}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                port = c.get(probe, {}).get("httpGet", {}).get("port")
                if port is not None and port not in names:
                    p.append(f"{label(d)} {c['name']}: {probe} port {port!r} is not a port of the container")
    return p


def check_resources(b):
    p = []
    for d in b.of_kind("Deployment"):
        for c in containers(d):
            r = c.get("resources", {})
            for need in ("cpu", "memory"):
                if need not in r.get("requests", {}):
                    p.append(f"{label(d)} {c['name']}: no {need} request")
            if "memory" not in r.get("limits", {}):
                p.append(f"{label(d)} {c['name']}: no memory limit")
            img = c.get("image", "")
            if ":" not in img.rsplit("/", 1)[-1] or img.endswith(":latest"):
                p.append(f"{label(d)} {c['name']}: image {img!r} is not pinned to a tag")
    _, t, _ = triton_container(b)
    if t is not None:
        r = t.get("resources", {})
        gpu = (r.get("requests", {}).get("nvidia.com/gpu"), r.get("limits", {}).get("nvidia.com/gpu"))
        if gpu != (1, 1):
            p.append(f"triton: nvidia.com/gpu request/limit {gpu}, expected 1 and 1")
    _, s, _ = serve_container(b)
    if s is not None and "nvidia.com/gpu" in json.dumps(s.get("resources", {})):
        p.append("nni serve asks for a GPU: its forwards run on the Triton pool")
    return p


def check_serve_flags(b, flags):
    p = []
    accepted = dict(flags)
    accepted.update(PENDING_FLAGS)
    d, c, args = serve_container(b)
    if c is None:
        return ["no container runs `nni serve`"]
    for f, v in args:
        if f not in accepted:
            p.append(f"{f} is not a flag of nni serve")
        elif accepted[f] and v is None:
            p.append(f"{f} needs a value")
        elif not accepted[f] and v is not None:
            p.append(f"{f} takes no value (given {v!r})")
    seen = [f for f, _ in args]
    for f in set(seen):
        if seen.count(f) > 1:
            p.append(f"{f} given {seen.count(f)} times")
    return p


def check_serve_settings(b):
    p = []
    d, c, args = serve_container(b)
    if c is None:
        return ["no container runs `nni serve`"]
    a = dict(args)
    if a.get("--host") != "0.0.0.0":
        p.append(f"--host is {a.get('--host')!r}: the pod must listen on 0.0.0.0")
    http = port_names(d).get("http")
    if str(http) != a.get("--port", "1527"):
        p.append(f"--port {a.get('--port', '1527 (default)')} is not the container port 'http' ({http})")
    if "--api-key" in a:
        p.append("the API key is on the command line; it belongs in the Secret (NN_INTERACTIVE_API_KEY)")
    env = {e["name"]: e for e in c.get("env", [])}
    if "secretKeyRef" not in env.get("NN_INTERACTIVE_API_KEY", {}).get("valueFrom", {}):
        p.append("NN_INTERACTIVE_API_KEY does not come from a Secret: the server would run without authentication")
    for f in ("--max-sessions", "--max-upload-mb", "--history-mb"):
        if f not in a:
            p.append(f"{f} is not set (the default does not fit a container: docs/scale-out.md)")
    return p


def check_network_url(b):
    p = []
    _, _, args = serve_container(b)
    url = dict(args).get("--network-url")
    if url is None:
        return ["nni serve has no --network-url: every replica would need its own network and GPU"]
    m = re.fullmatch(r"https?://([a-z0-9.-]+):(\d+)/v2/models/([A-Za-z0-9_.-]+)", url)
    if not m:
        return [f"--network-url {url!r} is not http://HOST:PORT/v2/models/NAME"]
    host, port, model = m.group(1), int(m.group(2)), m.group(3)
    parts = host.split(".")
    if len(parts) > 1 and parts[1] != b.namespace:
        p.append(f"--network-url host {host} is not in namespace {b.namespace}")
    s = b.get("Service", parts[0])
    if s is None:
        return p + [f"--network-url host {host}: no Service {parts[0]!r}"]
    sp = next((x for x in s["spec"]["ports"] if x["port"] == port), None)
    if sp is None:
        return p + [f"--network-url port {port}: Service {parts[0]} has no such port"]
    td, tc, targs = triton_container(b)
    if td is None or not selects(s["spec"]["selector"], pod_labels(td)):
        p.append(f"Service {parts[0]} does not select the Triton pods")
    elif port_names(td).get(sp.get("targetPort")) != int(targs.get("--http-port", 8000)):
        p.append(f"Service {parts[0]} port {port} does not reach Triton's --http-port")
    cms = [cm for cm in b.of_kind("ConfigMap") if "MODEL_NAME" in cm.get("data", {})]
    names = {cm["data"]["MODEL_NAME"] for cm in cms}
    if names != {model}:
        p.append(f"--network-url names model {model!r}, the Triton pool loads {sorted(names)}")
    return p


def check_triton_settings(b):
    p = []
    d, c, a = triton_container(b)
    if c is None:
        return ["no container runs tritonserver"]
    size = a.get("--http-max-input-size")
    if size is None or int(size) < FORWARD_INPUT_BYTES + (1 << 20):
        p.append(f"--http-max-input-size {size}: Triton's default (64 MiB) or this refuses a forward's "
                 f"{FORWARD_INPUT_BYTES / 1e6:.0f} MB input")
    repo = a.get("--model-repository")
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    if repo not in mounts:
        p.append(f"--model-repository {repo} is not a mounted volume")
    else:
        inits = [i for i in pod_spec(d).get("initContainers", [])
                 if any(m["name"] == mounts[repo] for m in i.get("volumeMounts", []))]
        if not inits:
            p.append(f"nothing fills the volume {mounts[repo]} of the model repository")
        for i in inits:
            if i.get("image") != c.get("image"):
                p.append(f"init container {i['name']} uses {i.get('image')}, not the server's image")
    if a.get("--model-control-mode", "none") != "none":
        p.append("--model-control-mode is not none: readiness would not mean the model is loaded")
    return p


def check_routing(b):
    """The rule of ingress.yaml (docs/scale-out.md, "Routing")."""
    p = []
    _, _, args = serve_container(b)
    max_upload = int(dict(args).get("--max-upload-mb", 0) or 0)
    to_serve = []
    for i in b.of_kind("Ingress"):
        paths = [(x["path"], x.get("pathType")) for r in i["spec"].get("rules", [])
                 for x in r.get("http", {}).get("paths", [])
                 if x["backend"]["service"]["name"] == "nni-serve"]
        if paths:
            to_serve.append((i, paths))
    if not to_serve:
        return ["no Ingress routes to nni-serve"]
    cookie_names = set()
    claim_retry = False
    for i, paths in to_serve:
        an = i["metadata"].get("annotations", {})
        g = lambda k: an.get(NGINX + k)  # noqa: E731
        if g("upstream-hash-by"):
            p.append(f"{label(i)}: upstream-hash-by {g('upstream-hash-by')!r}: a hash sends the /claim "
                     "(no lease token yet) and the lease's later requests to different replicas")
        if g("affinity") != "cookie":
            p.append(f"{label(i)}: affinity is {g('affinity')!r}, not cookie (the lease's replica is "
                     "named by the cookie the /claim answer sets)")
        if g("affinity-mode") != "persistent":
            p.append(f"{label(i)}: affinity-mode is {g('affinity-mode')!r}: only persistent keeps every "
                     "client on its replica when replicas are added")
        if g("session-cookie-path") != "/":
            p.append(f"{label(i)}: session-cookie-path is {g('session-cookie-path')!r}: the cookie set by "
                     "/claim must go with every path")
        cookie_names.add(g("session-cookie-name"))
        if g("service-upstream") == "true":
            p.append(f"{label(i)}: service-upstream bypasses the per-pod affinity")
        retry = (g("proxy-next-upstream") or "").split()
        if not set(retry) <= NEXT_UPSTREAM_TOKENS:
            p.append(f"{label(i)}: proxy-next-upstream {sorted(set(retry) - NEXT_UPSTREAM_TOKENS)} are not values ingress-nginx accepts")
        if not re.fullmatch(r"[A-Za-z0-9._~:-]+", g("session-cookie-name") or ""):
            p.append(f"{label(i)}: session-cookie-name {g('session-cookie-name')!r} is not a name ingress-nginx accepts")
        for k in ("proxy-read-timeout", "proxy-send-timeout", "proxy-next-upstream-tries"):
            if g(k) is not None and not re.fullmatch(r"\d+", g(k)):
                p.append(f"{label(i)}: {k} {g(k)!r} is not a whole number")
        is_claim = paths == [("/claim", "Exact")]
        if is_claim:
            claim_retry = "http_503" in retry and "non_idempotent" in retry
        elif "non_idempotent" in retry or "http_503" in retry or "http_410" in retry:
            p.append(f"{label(i)}: retries lease requests on other replicas, which do not hold the lease")
        if not is_claim:
            size = mib(g("proxy-body-size") or "1m")
            if size is None or (size != 0 and size < max_upload):
                p.append(f"{label(i)}: proxy-body-size {g('proxy-body-size')!r} is below nni serve's "
                         f"--max-upload-mb {max_upload}")
            if int(g("proxy-read-timeout") or 60) < CLIENT_SET_IMAGE_TIMEOUT_S:
                p.append(f"{label(i)}: proxy-read-timeout {g('proxy-read-timeout')} s is below the client's "
                         f"{CLIENT_SET_IMAGE_TIMEOUT_S} s for set_image")
    if len(cookie_names) != 1 or None in cookie_names:
        p.append(f"the Ingresses to nni-serve name different cookies {sorted(map(str, cookie_names))}")
    if not claim_retry:
        p.append("no Ingress passes a /claim refused by a full replica (503) on to another replica")
    return p


def check_secret_files(b, real_tree):
    p = []
    for gen in b.kustomization.get("secretGenerator", []):
        for env in gen.get("envs", []):
            for k, v in parse_env((b.dir / (env + ".example")).read_text()).items():
                if "REPLACE" not in v:
                    p.append(f"{env}.example: {k} holds a value, not a placeholder")
            if real_tree:
                rel = (b.dir / env).relative_to(ROOT)
                r = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", str(rel)])
                if r.returncode != 0:
                    p.append(f"{rel} is not ignored by git: a real key could be committed")
    return p


# ------------------------------------------------------------------ running


class Report:
    def __init__(self):
        self.passed = self.failed = 0

    def line(self, name, problems):
        if problems:
            self.failed += 1
            print(f"FAIL  {name}: " + "; ".join(problems))
        else:
            self.passed += 1
            print(f"ok    {name}")
        sys.stdout.flush()


def reference_checks(b, flags):
    """name -> problems, for the checks that look at the whole bundle."""
    return {
        "kustomization: every resource exists, every manifest in deploy/ is listed": check_kustomization(b),
        f"namespace: every object in {b.namespace}": check_namespaces(b),
        "selectors: Deployments select their pod templates; budgets and spread constraints their pods": check_workload_selectors(b),
        "services: each selects one Deployment's pods; target ports are container ports": check_services(b),
        "network policy: selects the Triton pods, admits nni serve's pods, on ports they have": check_network_policies(b),
        "ingress: backends are existing Services and ports": check_ingresses(b),
        "secrets: every reference resolves (kustomize's secretGenerator, or external: "
        + ", ".join(EXTERNAL_SECRETS) + ")": check_secrets(b),
        "configmaps: every reference resolves": check_configmaps(b),
        "probes: nni serve GET /healthz; Triton /v2/health/ready and /v2/health/live; on container ports": check_probes(b),
        "resources: cpu and memory requests, memory limits, pinned images; one GPU for Triton, none for nni serve": check_resources(b),
        "nni serve: every argument is a flag of `nni serve` with its value": check_serve_flags(b, flags),
        "nni serve: listens on 0.0.0.0 at the container port; API key from the Secret; sessions, upload and history set": check_serve_settings(b),
        "nni serve: --network-url is the Triton Service's port and the model the pool loads": check_network_url(b),
        "triton: accepts a forward's 226 MB input; the repository volume is filled by the init container": check_triton_settings(b),
        "routing: cookie affinity, persistent, path /, one cookie name; only /claim retried; body size, timeouts; values ingress-nginx accepts": check_routing(b),
    }


def mutation(name, edit, check, report, src):
    """Copy deploy/ to a temporary folder, break it with `edit`, and require `check` to object."""
    with tempfile.TemporaryDirectory(prefix="deploy-broken-") as tmp:
        dst = Path(tmp) / "deploy"
        shutil.copytree(src, dst)
        try:
            edit(dst)
            problems = check(Bundle(dst))
        except Exception as e:  # noqa: BLE001 - a copy that cannot be checked fails the line
            report.line(f"broken copy refused: {name}", [f"the check could not run: {e!r}"])
            return
    if problems:
        report.line(f"broken copy refused: {name} ({problems[0][:150]})", [])
    else:
        report.line(f"broken copy refused: {name}", ["the broken copy passed"])


def replace_once(path, old, new):
    text = path.read_text()
    if old not in text:
        raise ValueError(f"{old!r} not in {path.name}")
    path.write_text(text.replace(old, new, 1))


def schema_of(b, file, kind, strict=True):
    return [x for f, o in b.objects if f == file and o["kind"] == kind for x in check_schema(o, strict)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deploy-dir", default=str(ROOT / "deploy"))
    ap.add_argument("--client-python", help="python of a venv with nninteractive-client (the cookie check)")
    args = ap.parse_args()
    src = Path(args.deploy_dir)
    report = Report()
    print(f"deploy: {src}, kubernetes-validate {kubernetes_validate.__version__} "
          f"(schemas of Kubernetes {K8S_VERSIONS[0]} and {K8S_VERSIONS[-1]}, strict)")

    b = Bundle(src)
    for f, o in b.objects:
        report.line(f"schema: {f} {label(o)}", check_schema(o))

    flags, flag_source = serve_flags()
    pending = ", ".join(f for f in PENDING_FLAGS if f not in flags) or "none"
    print(f"deploy: nni serve's flags from {flag_source}; accepted before they land: {pending}")
    for name, problems in reference_checks(b, flags).items():
        report.line(name, problems)
    report.line("secrets: secrets.env is ignored by git; the committed example holds placeholders only",
                check_secret_files(b, real_tree=src.resolve() == (ROOT / "deploy").resolve()))

    # The client half of the routing rule.
    if args.client_python:
        r = subprocess.run([args.client_python, str(ROOT / "tools/test/deploy_cookie.py")],
                           capture_output=True, text=True, timeout=120)
        try:
            for item in json.loads(r.stdout):
                report.line(item["name"], [] if item["ok"] else [item["detail"]])
        except json.JSONDecodeError:
            report.line("client: the cookie check ran", [f"exit {r.returncode}: {r.stderr.strip()[-400:]}"])

    # Broken copies: each must fail the check it breaks.
    def misspelled(d):
        replace_once(d / "nni-serve.yaml", "  replicas: 8", "  replica: 8")

    def accepted_without_strict(bb):
        # The same misspelling passes when unknown fields are allowed: strict mode is what catches it.
        lax = schema_of(bb, "nni-serve.yaml", "Deployment", strict=False)
        strict = schema_of(bb, "nni-serve.yaml", "Deployment", strict=True)
        return strict if not lax else []

    mutation("a misspelled field (replica: 8) fails strict validation, which non-strict lets through",
             misspelled, accepted_without_strict, report, src)
    mutation("a wrong type (containerPort: \"1527\") fails validation",
             lambda d: replace_once(d / "nni-serve.yaml", "containerPort: 1527", 'containerPort: "1527"'),
             lambda bb: schema_of(bb, "nni-serve.yaml", "Deployment"), report, src)
    mutation("a Service selecting no pods",
             lambda d: replace_once(d / "triton.yaml", "  selector:\n    app.kubernetes.io/name: triton",
                                    "  selector:\n    app.kubernetes.io/name: triton-server"),
             check_services, report, src)
    mutation("an unknown nni serve flag (--max-session)",
             lambda d: replace_once(d / "nni-serve.yaml", "--max-sessions=", "--max-session="),
             lambda bb: check_serve_flags(bb, flags), report, src)
    mutation("a misspelled Secret name",
             lambda d: replace_once(d / "nni-serve.yaml", "name: nni-api-key", "name: nni-apikey"),
             check_secrets, report, src)
    mutation("affinity-mode balanced (scaling up moves clients off their leases' replica)",
             lambda d: replace_once(d / "ingress.yaml", "affinity-mode: persistent", "affinity-mode: balanced"),
             check_routing, report, src)
    mutation("hashing on X-Lease-Token instead of the cookie",
             lambda d: replace_once(d / "ingress.yaml", "nginx.ingress.kubernetes.io/affinity: cookie",
                                    "nginx.ingress.kubernetes.io/upstream-hash-by: $http_x_lease_token"),
             check_routing, report, src)
    mutation("Triton at its default 64 MiB request limit",
             lambda d: replace_once(d / "triton.yaml", "            - --http-max-input-size=536870912\n", ""),
             check_triton_settings, report, src)
    mutation("--network-url naming a model the pool does not load",
             lambda d: replace_once(d / "triton.yaml", 'MODEL_NAME: "nninteractive"', 'MODEL_NAME: "nninteractive_v1"'),
             check_network_url, report, src)

    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
