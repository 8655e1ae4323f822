"""Engine-aware routing benchmark: runs the fleet, the gateway and the load (bench/routing.sh)."""
import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
# Four simulated engines; the last is the slow one (fewer slots).
ENGINES = [8, 8, 8, 2]
ENGINE_ARGS = ["--gpu-prefill-tps", "4000", "--gpu-decode-tps", "40", "--gpu-kv-tokens", "60000",
               "--gpu-block-tokens", "16", "--gpu-metrics-lag-ms", "1000"]
SETUPS = {
    "round_robin": "    balancer: round_robin\n",
    "least_request": "    balancer: least_request\n",
    "engine_aware": "    balancer: engine_aware\n    engine: vllm\n",
    "engine_aware+prefix": "    balancer: engine_aware\n    engine: vllm\n"
                           "    affinity: { by: prefix, block_bytes: 512, max_load: 1.25 }\n",
}
# Offered load: about 75% of the fleet's capacity without a prefix cache.
CONVERSATIONS_PER_S = float(os.environ.get("CONVERSATIONS_PER_S", "1.1"))
ONEOFFS_PER_S = float(os.environ.get("ONEOFFS_PER_S", "2.0"))
WORDS = ("model gateway token cache prefix engine queue stream batch prompt kernel tensor "
         "replica latency request answer").split()


def log(*args):
    print("routing:", *args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def text(rng, nbytes):
    out = []
    size = 0
    while size < nbytes:
        word = rng.choice(WORDS)
        out.append(word)
        size += len(word) + 1
    return " ".join(out)


class Workload:
    """The same sessions for every setup, from one seed: conversations (one of 4 shared system
    prompts, 3-8 turns, each turn resending the growing history, a pause between turns) and
    one-off requests of mixed length, starting at Poisson times (open loop)."""

    def __init__(self, duration, seed=7):
        rng = random.Random(seed)
        self.systems = [text(rng, 2000) for _ in range(4)]
        self.sessions = []  # (start time, seed, kind)
        for kind, rate in (("conversation", CONVERSATIONS_PER_S), ("oneoff", ONEOFFS_PER_S)):
            at = rng.expovariate(rate)
            while at < duration:
                self.sessions.append((at, rng.randrange(1 << 30), kind))
                at += rng.expovariate(rate)
        self.sessions.sort()

    def requests(self, seed, kind):
        """The session's requests in order, with the pause before each."""
        rng = random.Random(seed)
        if kind == "oneoff":
            prompt = text(rng, int(rng.choice([200, 1000, 4000, 16000]) * rng.uniform(0.5, 1.0)))
            yield 0.0, {"messages": [{"role": "user", "content": prompt}],
                        "max_tokens": rng.randint(16, 96)}
            return
        messages = [{"role": "system", "content": rng.choice(self.systems)}]
        for turn in range(rng.randint(3, 8)):
            messages.append({"role": "user", "content": text(rng, rng.randint(300, 1500))})
            body = {"messages": list(messages), "max_tokens": rng.randint(24, 96)}
            yield (rng.uniform(0.5, 1.5) if turn else 0.0), body
            # The answer the model "gave" joins the history, as a client resends it.
            messages.append({"role": "assistant", "content": text(rng, 5 * body["max_tokens"])})


def stream_request(port, body):
    """One streamed chat completion: (ttft seconds, e2e seconds, tokens) or None on failure."""
    body = dict(body, model="fake-model", stream=True)
    payload = json.dumps(body)
    start = time.monotonic()
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        conn.request("POST", "/v1/chat/completions", payload,
                     {"content-type": "application/json"})
        response = conn.getresponse()
        if response.status != 200:
            response.read()
            return None
        ttft = None
        tokens = 0
        while True:
            line = response.readline()
            if not line:
                break
            if not line.startswith(b"data: ") or line.startswith(b"data: [DONE]"):
                continue
            if b'"content"' in line:
                tokens += 1
                if ttft is None:
                    ttft = time.monotonic() - start
        if ttft is None:
            return None
        return ttft, time.monotonic() - start, tokens
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def run_load(port, duration):
    workload = Workload(duration)
    results = []
    failures = [0]
    lock = threading.Lock()

    def session(seed, kind):
        for pause, body in workload.requests(seed, kind):
            time.sleep(pause)
            outcome = stream_request(port, body)
            with lock:
                if outcome is None:
                    failures[0] += 1
                else:
                    results.append((kind,) + outcome)

    threads = []
    began = time.monotonic()
    for at, seed, kind in workload.sessions:
        delay = began + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        thread = threading.Thread(target=session, args=(seed, kind), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    return results, failures[0], time.monotonic() - began


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Fleet:
    def __init__(self, root, workdir):
        self.root = root
        self.workdir = workdir
        self.processes = []

    def start(self, name, args):
        out = open(os.path.join(self.workdir, name + ".log"), "w")
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def stop_all(self):
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []


def wait_port(port, process, deadline=10.0):
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        if process.poll() is not None:
            raise RuntimeError(f"process on port {port} exited early")
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def get(port, path):
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request("GET", path)
        return conn.getresponse().read().decode()
    finally:
        conn.close()


def prefix_hit_rate(ports):
    hits = queries = 0.0
    for port in ports:
        metrics = get(port, "/metrics")
        for name, target in (("hits", "vllm:prefix_cache_hits_total"),
                             ("queries", "vllm:prefix_cache_queries_total")):
            match = re.search(re.escape(target) + r"\{[^}]*\} ([0-9.e+]+)", metrics)
            value = float(match.group(1)) if match else 0.0
            if name == "hits":
                hits += value
            else:
                queries += value
    return hits / queries if queries else 0.0


def run_setup(args, setup, workdir):
    fleet = Fleet(args.root, workdir)
    fake = os.path.join(args.root, "build/tools/fake_model_server/llmgw-fake-model")
    llmgw = os.path.join(args.root, "build/src/llmgw")
    try:
        ports = []
        for i, slots in enumerate(ENGINES):
            port = free_port()
            process = fleet.start(f"engine{i}", [fake, "--listen", f"{HOST}:{port}", "--id", f"e{i}",
                                                 "--gpu-slots", str(slots)] + ENGINE_ARGS)
            wait_port(port, process)
            ports.append(port)
        port, admin = free_port(), free_port()
        endpoints = "".join(f'      - url: "http://{HOST}:{p}"\n' for p in ports)
        config = (f'server:\n  listen: "{HOST}:{port}"\n  workers: 1\n'
                  f'admin:\n  listen: "{HOST}:{admin}"\n'
                  "backends:\n  fleet:\n    endpoints:\n" + endpoints + SETUPS[setup] +
                  "    timeouts: { first_byte: 300s, idle: 120s, total: 30m }\n"
                  "routes:\n  - { name: chat, match: { path_prefix: / }, backend: fleet }\n"
                  "logging:\n  level: warn\n  access_log: off\n")
        path = os.path.join(workdir, "llmgw.yaml")
        with open(path, "w") as f:
            f.write(config)
        gateway = fleet.start("llmgw", [llmgw, "--config", path])
        wait_port(port, gateway)
        results, failures, elapsed = run_load(port, args.duration)
        hit_rate = prefix_hit_rate(ports)
    finally:
        fleet.stop_all()
    ttft = [r[1] for r in results]
    e2e = [r[2] for r in results]
    tokens = sum(r[3] for r in results)
    return {"requests": len(results), "failures": failures,
            "ttft_p50": percentile(ttft, 50), "ttft_p99": percentile(ttft, 99),
            "e2e_p99": percentile(e2e, 99), "tokens_per_s": tokens / elapsed,
            "hit_rate": hit_rate}


def spread(values, fmt):
    if len(values) == 1:
        return fmt.format(values[0])
    return (fmt.format(statistics.median(values)) + " (" + fmt.format(min(values)) + "–" +
            fmt.format(max(values)) + ")")


def bench_args(quick_seconds):
    """--root, --quick (one run of `quick_seconds`), --runs N (default 3); DURATION (40 s)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    args.duration = float(os.environ.get("DURATION", "40"))
    if args.quick:
        args.duration, args.runs = quick_seconds, 1
    return args


def main():
    args = bench_args(10.0)
    figures = {setup: [] for setup in SETUPS}
    with tempfile.TemporaryDirectory(prefix="llmgw-routing.") as workdir:
        for run in range(args.runs):
            for setup in SETUPS:
                log(f"run {run + 1}/{args.runs}: {setup}")
                result = run_setup(args, setup, workdir)
                log(json.dumps(result))
                figures[setup].append(result)
    print(f"Engines: slots {ENGINES}, " + " ".join(ENGINE_ARGS) +
          f"; sessions starting over {args.duration:.0f} s ({CONVERSATIONS_PER_S}/s conversations, "
          f"{ONEOFFS_PER_S}/s one-offs), {args.runs} run(s): "
          "median (min–max).\n")
    print("| setup | requests | TTFT p50 (s) | TTFT p99 (s) | e2e p99 (s) | tokens/s | prefix-cache hit rate | failed |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for setup, runs in figures.items():
        pick = lambda key: [r[key] for r in runs]
        print(f"| {setup} | {spread(pick('requests'), '{:.0f}')} | {spread(pick('ttft_p50'), '{:.2f}')} | "
              f"{spread(pick('ttft_p99'), '{:.2f}')} | {spread(pick('e2e_p99'), '{:.2f}')} | "
              f"{spread(pick('tokens_per_s'), '{:.0f}')} | {spread(pick('hit_rate'), '{:.0%}')} | "
              f"{sum(pick('failures'))} |")


if __name__ == "__main__":
    main()
