"""Fairness under saturation: a light tenant's latency while a heavy one floods (bench/fairness.sh)."""
import hashlib
import http.client
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from routing import HOST, Fleet, bench_args, free_port, percentile, spread, wait_port  # noqa: E402

# Two simulated engines of 4 running slots each: the backend's capacity is 8 requests at once.
ENGINES = 2
SLOTS = 4
ENGINE_ARGS = ["--gpu-prefill-tps", "8000", "--gpu-decode-tps", "40"]
# Answers of 16 to 64 tokens (0.4 to 1.6 s of decode), so slots free at spread-out times as
# under continuous batching: about 8 slots / 1 s, near 8 requests/s.
MIN_TOKENS, MAX_TOKENS = 16, 64
# The heavy tenant keeps 10x the capacity in flight; the light one sends 10% of it.
HEAVY_CLIENTS = 10 * ENGINES * SLOTS
LIGHT_PER_S = float(os.environ.get("LIGHT_PER_S", "0.9"))
SETUPS = {
    # The gateway holds the overflow in its fair queue; each engine gets at most its slots.
    "llmgw queue": (f"max_concurrent: {SLOTS}",
                    "    queue: { max_waiting: 1000, timeout: 120s }\n"),
    # No capacity set: every request goes on to the engines, which queue first come first served.
    "engine FIFO (no gateway queue)": ("", ""),
}


def log(*args):
    print("fairness:", *args, file=sys.stderr, flush=True)


def complete(port, tenant, prompt, max_tokens):
    """One chat completion as `tenant`: (seconds, completion tokens) or None on failure."""
    body = json.dumps({"model": "fake-model", "max_tokens": max_tokens,
                       "messages": [{"role": "user", "content": prompt}]})
    start = time.monotonic()
    conn = http.client.HTTPConnection(HOST, port, timeout=300)
    try:
        conn.request("POST", "/v1/chat/completions", body,
                     {"content-type": "application/json", "authorization": f"Bearer key-{tenant}"})
        response = conn.getresponse()
        payload = response.read()
        if response.status != 200:
            return None
        tokens = json.loads(payload).get("usage", {}).get("completion_tokens", 0)
        return time.monotonic() - start, tokens
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        conn.close()


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = {"heavy": [], "light": []}
        self.tokens = {"heavy": 0, "light": 0}
        self.failed = {"heavy": 0, "light": 0}

    def add(self, tenant, outcome):
        with self.lock:
            if outcome is None:
                self.failed[tenant] += 1
            else:
                self.latencies[tenant].append(outcome[0])
                self.tokens[tenant] += outcome[1]


def run_load(port, duration, flood):
    """The light tenant's open-loop Poisson arrivals over `duration`, with (or without) the
    heavy tenant's closed-loop flood running the whole time. Only requests that start within
    the window count for the shares."""
    tally = Tally()
    stop = threading.Event()
    began = time.monotonic()

    def heavy_client(i):
        rng = random.Random(i)
        while not stop.is_set():
            outcome = complete(port, "heavy", f"heavy {rng.random()}",
                               rng.randint(MIN_TOKENS, MAX_TOKENS))
            if not stop.is_set():
                tally.add("heavy", outcome)

    flooders = [threading.Thread(target=heavy_client, args=(i,), daemon=True)
                for i in range(HEAVY_CLIENTS if flood else 0)]
    for thread in flooders:
        thread.start()
    if flood:
        time.sleep(3)  # the queue fills before the light tenant's first request
        began = time.monotonic()
    rng = random.Random(11)
    light = []
    at = rng.expovariate(LIGHT_PER_S)
    while at < duration:
        delay = began + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        tokens = rng.randint(MIN_TOKENS, MAX_TOKENS)
        thread = threading.Thread(
            target=lambda n=tokens: tally.add("light", complete(port, "light", "hi", n)), daemon=True)
        thread.start()
        light.append(thread)
        at += rng.expovariate(LIGHT_PER_S)
    for thread in light:
        thread.join()
    elapsed = time.monotonic() - began
    stop.set()
    for thread in flooders:
        thread.join(timeout=130)
    return tally, elapsed


def jain(allocations):
    total = sum(allocations)
    squares = sum(x * x for x in allocations)
    return total * total / (len(allocations) * squares) if squares else float("nan")


def config_for(setup, port, admin, engine_ports):
    capacity, queue = SETUPS[setup]
    endpoints = "".join(f'      - {{ url: "http://{HOST}:{p}"' + (f", {capacity}" if capacity else "")
                        + " }\n" for p in engine_ports)
    keys = "".join(f'  - {{ name: {t}, tier: standard, keys: [ {{ sha256: "'
                   + hashlib.sha256(f"key-{t}".encode()).hexdigest() + '" } ] }\n'
                   for t in ("heavy", "light"))
    return (f'server:\n  listen: "{HOST}:{port}"\n  workers: 1\n'
            f'admin:\n  listen: "{HOST}:{admin}"\n'
            "tiers:\n  standard: {}\n"
            "consumers:\n" + keys +
            "backends:\n  fleet:\n    balancer: least_request\n    endpoints:\n" + endpoints + queue +
            "    timeouts: { first_byte: 300s, idle: 120s, total: 30m }\n"
            "routes:\n  - { name: chat, match: { path_prefix: / }, backend: fleet }\n"
            "logging:\n  level: warn\n  access_log: off\n")


def run_setup(args, setup, flood, workdir):
    fleet = Fleet(args.root, workdir)
    fake = os.path.join(args.root, "build/tools/fake_model_server/llmgw-fake-model")
    llmgw = os.path.join(args.root, "build/src/llmgw")
    try:
        engine_ports = []
        for i in range(ENGINES):
            port = free_port()
            process = fleet.start(f"engine{i}", [fake, "--listen", f"{HOST}:{port}", "--id",
                                                 f"e{i}", "--gpu-slots", str(SLOTS)] + ENGINE_ARGS)
            wait_port(port, process)
            engine_ports.append(port)
        port, admin = free_port(), free_port()
        path = os.path.join(workdir, "llmgw.yaml")
        with open(path, "w") as f:
            f.write(config_for(setup, port, admin, engine_ports))
        gateway = fleet.start("llmgw", [llmgw, "--config", path])
        wait_port(port, gateway)
        tally, elapsed = run_load(port, args.duration, flood)
    finally:
        fleet.stop_all()
    light, heavy = tally.latencies["light"], tally.latencies["heavy"]
    result = {"light_p50": percentile(light, 50), "light_p99": percentile(light, 99),
              "light_served": len(light), "light_failed": tally.failed["light"],
              "heavy_served": len(heavy), "heavy_failed": tally.failed["heavy"]}
    if flood:
        served = len(light) + len(heavy)
        tokens = tally.tokens["light"] + tally.tokens["heavy"]
        result["light_share"] = len(light) / served if served else 0
        result["light_token_share"] = tally.tokens["light"] / tokens if tokens else 0
        # Max-min fair shares: the light tenant asks for less than half, so its fair share is
        # all it asked for, and the heavy tenant's is the rest of what was served.
        light_fair = LIGHT_PER_S * elapsed
        heavy_fair = max(served - light_fair, 1)
        result["jain"] = jain([len(light) / light_fair, len(heavy) / heavy_fair])
    return result


def main():
    args = bench_args(15.0)
    cases = [("llmgw queue", False), ("llmgw queue", True),
             ("engine FIFO (no gateway queue)", True)]
    figures = {case: [] for case in cases}
    with tempfile.TemporaryDirectory(prefix="llmgw-fairness.") as workdir:
        for run in range(args.runs):
            for case in cases:
                log(f"run {run + 1}/{args.runs}: {case[0]}, {'flood' if case[1] else 'alone'}")
                result = run_setup(args, case[0], case[1], workdir)
                log(json.dumps(result))
                figures[case].append(result)
    print(f"{ENGINES} simulated engines x {SLOTS} slots, {' '.join(ENGINE_ARGS)}, max_tokens "
          f"{MIN_TOKENS}-{MAX_TOKENS}; light tenant {LIGHT_PER_S}/s Poisson over {args.duration:.0f} s; heavy "
          f"tenant {HEAVY_CLIENTS} clients in a closed loop (10x the slots); {args.runs} run(s): "
          "median (min–max).\n")
    print("| setup | heavy tenant | light p50 (s) | light p99 (s) | light share of requests | "
          "light share of tokens | Jain's index | light failed |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for (setup, flood), runs in figures.items():
        pick = lambda key: [r[key] for r in runs if key in r]
        share = lambda key: spread(pick(key), "{:.1%}") if flood else "—"
        print(f"| {setup} | {'flooding' if flood else 'absent'} | {spread(pick('light_p50'), '{:.2f}')} | "
              f"{spread(pick('light_p99'), '{:.2f}')} | {share('light_share')} | "
              f"{share('light_token_share')} | "
              f"{spread(pick('jain'), '{:.3f}') if flood else '—'} | {sum(pick('light_failed'))} |")
    alone = [r["light_p99"] for r in figures[("llmgw queue", False)]]
    flooded = [r["light_p99"] for r in figures[("llmgw queue", True)]]
    print(f"\nLight tenant's p99 under the flood / alone, with the llmgw queue: "
          f"{statistics.median(flooded) / statistics.median(alone):.2f}x (target: at most 1.5x)")


if __name__ == "__main__":
    main()
