#!/usr/bin/env python3
"""Load and faults for `akapit serve` (a benchmark that prints numbers, not a test).

    python3 bench/serve_load.py [--seconds 30] [--clients 1,4,16] [--akapit target/release/akapit]

Indexes a copy of seeds/ in a temporary folder, starts `akapit serve` on it and measures,
side by side in one run on this machine:
  - `akapit ask --json` run once per question (a process per question: the reference);
  - 1, 4 and 16 concurrent clients asking the seed questions (hybrid, k=5) for SECONDS each:
    requests/s, p50/p99 latency, errors; and one client in lexical mode (no encoder), which
    shows what the encoder costs;
  - 4 clients while the index is rebuilt twice underneath (a document changed before each
    rebuild): failed requests, and whether every answer came whole from one generation
    (all answers to a question from one generation must be identical);
  - faults: clients that disconnect mid-request, a slow client, a 10 MB body, malformed
    JSON, a stream of invalid MCP messages; each must get an error or be dropped while the
    server keeps answering others;
  - the server's peak RSS (VmHWM).
Only the standard library is used. Client threads share the machine's cores with the server.
"""

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

QUESTIONS = [
    "Ile wspólnych działań przewiduje pięcioletni plan współpracy wojskowej?",
    "Which Nobel Peace Prize laureate was freed from a Belarusian prison?",
    "Kiedy Łukaszenko ogłosił, że broń jądrowa dotarła na Białoruś?",
    "What did Prigozhin tell his mercenaries in Belarus?",
    "Why did Lithuania declare a state of emergency?",
    "Kto zaproponował powrót do rozmów o integracji w 2018 roku?",
    "Which other country offered to send troops to Kazakhstan?",
    "When are the Zapad exercises planned?",
    "Gdzie ma powstać centrum szkolno-bojowe wojsk powietrznych?",
    "How many political prisoners are there in Belarus?",
    "Jakie sankcje nałożyła Unia Europejska na Białoruś?",
    "What happened at the Polish-Belarusian border?",
]


def cpu():
    name, flags = platform.processor() or "?", []
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
        name = re.search(r"model name\s*:\s*(.*)", info).group(1)
        family = re.search(r"cpu family\s*:\s*(\d+)", info).group(1)
        model = re.search(r"\nmodel\s*:\s*(\d+)", info).group(1)
        have = set(re.search(r"flags\s*:\s*(.*)", info).group(1).split())
        flags = [f for f in ["avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni"] if f in have]
        name = f"{name} (family {family} model {model})"
    except (OSError, AttributeError):
        pass
    return f"{name}, {os.cpu_count()} cores, flags: {' '.join(flags)}"


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Server:
    def __init__(self, akapit, project, env):
        self.process = subprocess.Popen(
            [akapit, "serve", "--port", "0"], cwd=project, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log = []
        address = None
        for line in self.process.stderr:
            self.log.append(line.rstrip())
            m = re.search(r"serving http://([^/]+)/", line)
            if m:
                address = m.group(1)
                break
        if address is None:
            sys.exit("the server did not start:\n" + "\n".join(self.log))
        self.host, port = address.rsplit(":", 1)
        self.port = int(port)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.process.stderr:
            self.log.append(line.rstrip())

    def connection(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=60)

    def peak_rss_mb(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        self.process.terminate()
        return self.process.wait(timeout=60)


def search_path(question, mode="hybrid", k=5):
    return "/api/search?" + urllib.parse.urlencode({"q": question, "k": k, "mode": mode})


def load(server, clients, seconds, mode="hybrid", record=None, stop=None):
    """`clients` threads asking in turn until `seconds` pass (or `stop` is set)."""
    latencies, errors, lock = [], [], threading.Lock()
    deadline = time.monotonic() + seconds

    def client(offset):
        conn = server.connection()
        i = offset
        while time.monotonic() < deadline and not (stop and stop.is_set()):
            question = QUESTIONS[i % len(QUESTIONS)]
            i += 1
            start = time.perf_counter()
            try:
                conn.request("GET", search_path(question, mode))
                response = conn.getresponse()
                body = response.read()
                elapsed = time.perf_counter() - start
                if response.status != 200:
                    with lock:
                        errors.append(f"{response.status} {body[:120]!r}")
                    continue
                with lock:
                    latencies.append(elapsed)
                    if record is not None:
                        results = [(r["doc"], r["paragraph"], r["score"]) for r in json.loads(body)["results"]]
                        record.append((question, response.getheader("x-akapit-generation"), tuple(results)))
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    errors.append(repr(e))
                conn.close()
                conn = server.connection()
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    return {
        "clients": clients,
        "mode": mode,
        "requests": len(latencies),
        "rps": len(latencies) / wall,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "errors": len(errors),
        "error_examples": errors[:3],
    }


def raw(server, data, read=True, timeout=10):
    s = socket.create_connection((server.host, server.port), timeout=timeout)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered (or closed) before the whole body was sent
    if not read:
        s.close()
        return None
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    if not out:
        return "closed without an answer"
    status = out.split(b" ", 2)[1].decode() if out.startswith(b"HTTP/") else "no answer"
    return status


def request(server, method, path, body=b"", headers=None):
    head = f"{method} {path} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\nConnection: close\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return raw(server, head.encode() + body)


def healthy(server):
    conn = server.connection()
    conn.request("GET", search_path(QUESTIONS[0]))
    ok = conn.getresponse().status == 200
    conn.close()
    return ok


def faults(server):
    out = []
    # Clients that send a question and leave before the answer.
    for _ in range(20):
        raw(server, f"GET {search_path(QUESTIONS[1])} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n\r\n".encode(), read=False)
    out.append(("20 clients disconnect mid-request", "dropped", healthy(server)))
    # A slow client: headers a byte at a time over ~5 s, while another client asks.
    slow_status = {}

    def slow():
        data = f"GET {search_path(QUESTIONS[2])} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\nConnection: close\r\n\r\n".encode()
        s = socket.create_connection((server.host, server.port), timeout=30)
        pause = 5.0 / len(data)
        for b in data:
            s.sendall(bytes([b]))
            time.sleep(pause)
        reply = s.recv(100)
        slow_status["status"] = reply.split(b" ", 2)[1].decode() if reply else "no answer"
        s.close()

    t = threading.Thread(target=slow)
    t.start()
    during = load(server, 1, 3)
    t.join()
    out.append(("a slow client (5 s to send its headers)", slow_status.get("status"),
                f"others answered meanwhile: {during['requests']} requests, p50 {during['p50_ms']:.0f} ms, {during['errors']} errors"))
    out.append(("a 10 MB body", request(server, "POST", "/api/related", b" " * (10 << 20)), healthy(server)))
    out.append(("malformed JSON", request(server, "POST", "/api/search", b'{"q": "x",'), healthy(server)))
    statuses = {}
    for i in range(200):
        garbage = [b"not json", b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":7}', b"[]",
                   b'{"jsonrpc":"1.0"}', bytes(range(256))][i % 5]
        status = request(server, "POST", "/mcp", garbage, {"Accept": "application/json, text/event-stream"})
        statuses[status] = statuses.get(status, 0) + 1
    out.append(("200 invalid MCP messages", ", ".join(f"{n}× {s}" for s, n in sorted(statuses.items())), healthy(server)))
    return out


def rebuilds(server, akapit, project, env, count):
    """4 clients while the index is rebuilt `count` times, a document changed before each."""
    record, stop = [], threading.Event()
    result = {}

    def builder():
        times = []
        for n in range(count):
            with open(os.path.join(project, "seeds", "zmiana.txt"), "w") as f:
                f.write(f"Wersja {n + 1}: plan współpracy wojskowej Białorusi i Rosji przewiduje {160 + n} wspólnych działań.\n")
            start = time.perf_counter()
            subprocess.run([akapit, "index", "--quiet", "--rebuild"], cwd=project, env=env, check=True)
            times.append(time.perf_counter() - start)
            time.sleep(2)
        result["build_seconds"] = times
        stop.set()

    b = threading.Thread(target=builder)
    b.start()
    figures = load(server, 4, 600, record=record, stop=stop)
    b.join()
    answers = {}
    mixed = 0
    for question, generation, results in record:
        key = (question, generation)
        if key in answers and answers[key] != results:
            mixed += 1
        answers.setdefault(key, results)
    figures["generations"] = sorted({g for _, g, _ in record})
    figures["inconsistent"] = mixed
    figures["build_seconds"] = result.get("build_seconds")
    return figures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--akapit", default=os.path.join(ROOT, "target/release/akapit"))
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--rebuilds", type=int, default=2)
    parser.add_argument("--model-dir", default=os.path.join(ROOT, "models/multilingual-e5-small"))
    args = parser.parse_args()
    env = dict(os.environ, AKAPIT_MODEL_DIR=args.model_dir, HF_HUB_OFFLINE="1")
    env.pop("AKAPIT_INDEX", None)
    print(f"cpu: {cpu()}")
    with tempfile.TemporaryDirectory() as project:
        shutil.copytree(os.path.join(ROOT, "seeds"), os.path.join(project, "seeds"))
        subprocess.run([args.akapit, "index", "--quiet"], cwd=project, env=env, check=True)

        cold = []
        for question in QUESTIONS:
            start = time.perf_counter()
            subprocess.run([args.akapit, "ask", question, "-k", "5", "--json"], cwd=project, env=env,
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cold.append(time.perf_counter() - start)
        print(f"akapit ask, one process per question: {len(cold)} questions, p50 {percentile(cold, 50) * 1000:.0f} ms, "
              f"p99 {percentile(cold, 99) * 1000:.0f} ms, {1 / statistics.mean(cold):.1f} questions/s")

        server = Server(args.akapit, project, env)
        load(server, 1, 2)  # warm-up
        print(f"\n{'clients':>7} {'mode':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}")
        runs = [(int(c), "hybrid") for c in args.clients.split(",")] + [(1, "lexical")]
        for clients, mode in runs:
            r = load(server, clients, args.seconds, mode)
            print(f"{clients:>7} {mode:>7} {r['rps']:>7.1f} {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['errors']:>6}"
                  + (f"  {r['error_examples']}" if r["errors"] else ""))

        r = rebuilds(server, args.akapit, project, env, args.rebuilds)
        print(f"\nwhile rebuilding {args.rebuilds}× (builds took {', '.join(f'{s:.1f} s' for s in r['build_seconds'] or [])}): "
              f"4 clients, {r['requests']} requests, {r['rps']:.1f} req/s, p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms, "
              f"{r['errors']} errors; answered by {', '.join(r['generations'])}; "
              f"answers that differ within one generation: {r['inconsistent']}")

        print("\nfaults:")
        for what, got, after in faults(server):
            print(f"  {what}: {got}; server still answering: {after}")
        print(f"\nserver peak RSS: {server.peak_rss_mb():.0f} MB")
        code = server.stop()
        print(f"SIGTERM: exit {code}")


if __name__ == "__main__":
    main()
