#!/usr/bin/env python3
"""Runs every provider-page sample client in samples/ against a real shotfarm-sim.

    run_samples.py --sim <shotfarm-sim binary> [--seeds <dir of page captures>]

Starts shotfarm-sim on 127.0.0.1:0 with a tiny time_scale and no visibility lag, runs each sample
(all at once, each with its own key, each in its own working directory) through
trace_requests.py, and checks for each: its exit status and output, every HTTP exchange it made,
and the ledger (GET /_sim/ledger): exactly the expected submissions with the model and key used,
the expected rejections, uploads and per-key request counts. Printed video URLs are downloaded
and compared with the ledger's SHA-256.

With --seeds pointing at the page captures (text files kept outside the repository; README.md
names the page each one is), it first checks each sample is the page's code: undoing the
substitutions its header lists must give the captured lines (indentation and blank lines aside).
Without the captures (CI) that check is skipped and says so.

Exit 0 when everything holds; otherwise every failure is printed and the exit status is 1.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, "samples")
TRACER = os.path.join(HERE, "trace_requests.py")
GENERATE = "/api/v1/model/generateVideo"
AIML_LEGACY = "/v2/generate/video/minimax/generation"

SIM_YAML_HEAD = """\
# Every generation takes ~90 provider seconds * 1e-6 = ~0.1 ms: a sample's first poll finds it
# finished, so no sample sleeps between polls.
time_scale: 0.000001
seed: 7
visibility_lag_s: 0
"""


def rejected_submit(msg_word, failure):
    """A sample whose model cannot accept what it sends: one submit, the provider's 400."""
    return {
        "provider": "atlas",
        "exit_ok": False,
        "stderr": failure,
        "calls": [("POST", GENERATE, 400, msg_word)],
        "submissions": [],
        "rejected": {"400": 1},
        "reasons": {"validation": 1},
    }


# What each sample must do against the simulator. `calls`: (method, path prefix, status, word the
# error body must contain or None); a trailing "+" on the method means "one or more such calls".
EXPECTED = {
    "atlas_generate_poll_hailuo02_fast.py": rejected_submit("image", "TypeError"),
    "atlas_generate_poll_hailuo02_standard.py": rejected_submit("duration", "TypeError"),
    "atlas_generate_poll_hailuo23_i2v_standard.py": rejected_submit("image", "TypeError"),
    "atlas_request_body_hailuo02_fast.py": rejected_submit("image", "KeyError: 'id'"),
    "atlas_request_body_hailuo02_standard.py": rejected_submit("prompt", "KeyError: 'id'"),
    "atlas_request_body_hailuo23_i2v_standard.py": rejected_submit("image", "KeyError: 'id'"),
    "atlas_send_request.py": {
        "provider": "atlas",
        "exit_ok": True,
        "stdout": r"'code': 404, 'msg': 'model your-model not found or not available to your account'",
        "calls": [("POST", GENERATE, 404, "your-model")],
        "submissions": [],
        "rejected": {"404": 1},
        "reasons": {"unknown_model": 1},
    },
    "atlas_poll_prediction.py": {
        "provider": "atlas",
        "exit_ok": True,
        # The driver submits this one itself and hands the id over.
        "presubmit": {"model": "minimax/hailuo-02/standard", "prompt": "a lighthouse at dusk",
                      "duration": 6},
        "stdout": r"Status: (completed|succeeded)\nOutput URL: (?P<url>\S+)\n",
        "calls": [("GET+", "/api/v1/model/prediction/", 200, None)],
        "submissions": ["minimax/hailuo-02/standard"],
    },
    "atlas_upload_media.py": {
        "provider": "atlas",
        "exit_ok": True,
        "stdout": r"File URL: (?P<url>http://127\.0\.0\.1:\d+/_sim/media/\S+\.png)\n",
        "calls": [("POST", "/api/v1/model/uploadMedia", 200, None)],
        "submissions": [],
        "uploads": 1,
    },
    "atlas_http_headers.py": {
        "provider": "atlas",
        "exit_ok": True,
        "stdout": r"",
        "calls": [],
        "submissions": [],
    },
    "aimlapi_legacy_generate_poll.py": {
        "provider": "aimlapi",
        "exit_ok": True,
        "stdout": r"Status: completed\nProcessing complete:/n .*'url': '(?P<url>[^']+)'",
        "calls": [("POST", AIML_LEGACY, 200, None), ("GET+", AIML_LEGACY + "?generation_id=", 200,
                                                     None)],
        "submissions": ["minimax/hailuo-02"],
    },
}

# Substitutions the sample headers document, as (text in the sample, text on the page).
UNDO = [
    ("os.environ['ATLASCLOUD_BASE_URL'] + \"", "\"https://api.atlascloud.ai"),
    ("{os.environ['ATLASCLOUD_BASE_URL']}", "https://api.atlascloud.ai"),
    ("f\"Bearer {os.environ['ATLASCLOUD_API_KEY']}\"", "\"Bearer $ATLASCLOUD_API_KEY\""),
    ("os.environ['ATLASCLOUD_PREDICTION_ID']", "\"pred_abc123\""),
    ("os.environ['AIMLAPI_BASE_URL'] + \"", "\"https://api.aimlapi.com"),
    ("os.environ['AIMLAPI_KEY']", "\"<YOUR_AIMLAPI_KEY>\""),
]

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
    return ok


def png(width, height):
    """A real, decodable RGB PNG."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    row = b"\x00" + bytes(range(256)) * (width * 3 // 256) + b"\x00" * (width * 3 % 256)
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height))
            + chunk(b"IEND", b""))


def verify_against_seeds(seeds_dir):
    """Each sample, with its documented substitutions undone, is the page's code."""
    if not seeds_dir or not os.path.isdir(seeds_dir):
        print(f"seed check skipped: no page captures at {seeds_dir!r}")
        return
    for name in sorted(EXPECTED):
        with open(os.path.join(SAMPLES, name), encoding="utf-8") as f:
            lines = f.read().split("\n")
        header = []
        while lines and lines[0].startswith("#"):
            header.append(lines.pop(0))
        header_text = " ".join(h.lstrip("# ") for h in header)
        code = "\n".join(lines)
        for ours, page in UNDO:
            code = code.replace(ours, page)
        code_lines = [line.strip() for line in code.split("\n") if line.strip()]
        if "`import os` added" in header_text:
            check("import os" in code_lines, f"{name}: header says `import os` added, it is not")
            code_lines.remove("import os")
        sources = re.findall(r"(\d{3}_[0-9a-f]{16}\.txt),? lines (\d+)-(\d+)", header_text)
        check(sources, f"{name}: header names no seed line range")
        for seed, first, last in sources:
            with open(os.path.join(seeds_dir, seed), encoding="utf-8") as f:
                seed_lines = f.read().split("\n")[int(first) - 1:int(last)]
            seed_lines = [line.strip() for line in seed_lines if line.strip()]
            # The captures glue the next heading onto a sample's last line ("check_status()安装").
            same = len(seed_lines) == len(code_lines) and all(
                s == c or (i == len(seed_lines) - 1 and s.startswith(c))
                for i, (s, c) in enumerate(zip(seed_lines, code_lines)))
            if not check(same, f"{name}: differs from {seed} lines {first}-{last}"):
                for s, c in zip(seed_lines, code_lines):
                    if s != c:
                        print(f"  page:   {s}\n  sample: {c}")
                        break
    print("seed check done")


class Sim:
    def __init__(self, binary, yaml_text, workdir):
        self.config = os.path.join(workdir, "SIM.yaml")
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(yaml_text)
        self.proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--config", self.config],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()))
        reader.start()
        reader.join(20)
        if not line or "listening on" not in line[0]:
            self.proc.kill()
            raise RuntimeError(f"shotfarm-sim did not start: {line} {self.proc.stderr.read()}")
        self.base_url = "http://" + line[0].split("listening on ")[1].strip()

    def ledger(self):
        reply = requests.get(self.base_url + "/_sim/ledger", timeout=10)
        reply.raise_for_status()
        return reply.json()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def key_of(name):
    return "seed-" + name.removesuffix(".py").replace("_", "-")


def run_sample(sim, name, spec, workdir):
    """Runs one sample; returns (completed process, trace entries, extra requests by the driver)."""
    cwd = os.path.join(workdir, key_of(name))
    os.makedirs(cwd)
    with open(os.path.join(cwd, "image.png"), "wb") as f:
        f.write(png(640, 480))
    trace = os.path.join(cwd, "trace.jsonl")
    env = dict(os.environ, SEED_TRACE=trace, PYTHONDONTWRITEBYTECODE="1")
    key = key_of(name)
    driver_requests = 0
    if spec["provider"] == "atlas":
        env.update(ATLASCLOUD_BASE_URL=sim.base_url, ATLASCLOUD_API_KEY=key)
    else:
        env.update(AIMLAPI_BASE_URL=sim.base_url, AIMLAPI_KEY=key)
    if "presubmit" in spec:
        reply = requests.post(sim.base_url + GENERATE, json=spec["presubmit"],
                              headers={"Authorization": "Bearer " + key}, timeout=10)
        driver_requests += 1
        check(reply.status_code == 200, f"{name}: presubmit answered {reply.status_code}")
        env["ATLASCLOUD_PREDICTION_ID"] = reply.json()["data"]["id"]
    started = time.monotonic()
    proc = subprocess.run([sys.executable, TRACER, os.path.join(SAMPLES, name)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=45)
    elapsed = time.monotonic() - started
    entries = []
    if os.path.exists(trace):
        with open(trace, encoding="utf-8") as f:
            entries = [json.loads(line) for line in f]
    return proc, entries, driver_requests, elapsed


def check_calls(name, expected, entries):
    i = 0
    for method, prefix, status, word in expected:
        repeat = method.endswith("+")
        method = method.rstrip("+")
        matched = 0
        while i < len(entries) and entries[i]["method"] == method and \
                entries[i]["path"].startswith(prefix):
            e = entries[i]
            check(e["status"] == status,
                  f"{name}: {method} {e['path']} answered {e['status']}, expected {status}: "
                  f"{e.get('body', e.get('error'))}")
            if word is not None and status >= 400:
                try:
                    body = json.loads(e["body"])
                except ValueError:
                    body = {}
                # Atlas's documented error shape (https://www.atlascloud.ai/docs/errors.md).
                check(body.get("code") == status and body.get("data", 0) is None and
                      isinstance(body.get("request_id"), str) and word in body.get("msg", ""),
                      f"{name}: error body is not Atlas's {status} naming {word!r}: {e['body']}")
            i += 1
            matched += 1
            if not repeat:
                break
        check(matched >= 1, f"{name}: expected {method} {prefix}..., got "
                            f"{[(x['method'], x['path'], x['status']) for x in entries[i:]]}")
    check(i == len(entries), f"{name}: unexpected further requests "
                             f"{[(x['method'], x['path'], x['status']) for x in entries[i:]]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sim", required=True)
    parser.add_argument("--seeds")
    args = parser.parse_args()

    verify_against_seeds(args.seeds)
    check(sorted(EXPECTED) == sorted(n for n in os.listdir(SAMPLES) if n.endswith(".py")),
          f"samples/ and EXPECTED disagree: {sorted(os.listdir(SAMPLES))}")

    keys = "".join(
        f"  - {{key: {key_of(n)}, provider: {s['provider']}}}\n" for n, s in sorted(EXPECTED.items()))
    with tempfile.TemporaryDirectory(prefix="shotfarm-seeds-") as workdir:
        sim = Sim(args.sim, SIM_YAML_HEAD + "keys:\n" + keys, workdir)
        try:
            with concurrent.futures.ThreadPoolExecutor(len(EXPECTED)) as pool:
                runs = {n: pool.submit(run_sample, sim, n, s, workdir)
                        for n, s in EXPECTED.items()}
                results = {n: r.result() for n, r in runs.items()}
            ledger = sim.ledger()
            downloads = check_results(sim, results, ledger)
            check_ledger(sim, results, downloads)
        finally:
            status = sim.stop()
        check(status == 0, f"shotfarm-sim exited {status}")

    for f in failures:
        print("FAIL:", f)
    print(f"{len(EXPECTED)} samples, {len(failures)} failures")
    return 1 if failures else 0


def check_results(sim, results, ledger):
    """Per sample: exit status, output, exchanges, submissions. Returns downloads made per key."""
    by_key = {}
    for s in ledger["submissions"]:
        by_key.setdefault(s["key"], []).append(s)
    downloads = {}
    for name, spec in sorted(EXPECTED.items()):
        proc, entries, _, elapsed = results[name]
        key = key_of(name)
        print(f"{name}: exit {proc.returncode} in {elapsed:.2f} s, {len(entries)} requests")
        if spec["exit_ok"]:
            check(proc.returncode == 0, f"{name}: exit {proc.returncode}\n{proc.stderr}")
        else:
            check(proc.returncode != 0 and spec["stderr"] in proc.stderr,
                  f"{name}: expected a failure with {spec['stderr']!r}, exit {proc.returncode}\n"
                  f"{proc.stderr}")
        match = None
        if "stdout" in spec:
            match = re.search(spec["stdout"], proc.stdout, re.S)
            check(match is not None and (spec["stdout"] or proc.stdout == ""),
                  f"{name}: output does not match {spec['stdout']!r}:\n{proc.stdout}")
        check_calls(name, spec["calls"], entries)
        subs = by_key.get(key, [])
        check([s["model"] for s in subs] == spec["submissions"],
              f"{name}: ledger submissions {[s['model'] for s in subs]} for {key}, expected "
              f"{spec['submissions']}")
        for s in subs:
            check(s["provider"] == spec["provider"] and s["outcome"] == "completed" and
                  s["status"] in ("completed", "succeeded"),
                  f"{name}: submission {s['id']} is {s['provider']}/{s['outcome']}/{s['status']}")
        url = match.groupdict().get("url") if match else None
        if url:
            check(url.startswith(sim.base_url + "/_sim/"), f"{name}: URL {url} is not the sim's")
            got = requests.get(url, timeout=10)
            if subs:
                downloads[key] = downloads.get(key, 0) + 1
            check(got.status_code == 200, f"{name}: GET {url} answered {got.status_code}")
            digest = hashlib.sha256(got.content).hexdigest()
            if subs:
                check(got.content[4:8] == b"ftyp" and digest == subs[0]["sha256"],
                      f"{name}: the printed video is not the ledger's output of {subs[0]['id']}")
            else:
                check(got.content == png(640, 480), f"{name}: the uploaded image came back changed")
    return downloads


def check_ledger(sim, results, downloads):
    """The whole ledger: nothing but the expected submissions, rejections, uploads and requests."""
    ledger = sim.ledger()
    expected_models = sorted(
        (key_of(n), m) for n, s in EXPECTED.items() for m in s["submissions"])
    check(sorted((s["key"], s["model"]) for s in ledger["submissions"]) == expected_models,
          f"ledger submissions {[(s['key'], s['model']) for s in ledger['submissions']]}")
    rejected, reasons = {}, {}
    for spec in EXPECTED.values():
        for k, n in spec.get("rejected", {}).items():
            rejected[k] = rejected.get(k, 0) + n
        for k, n in spec.get("reasons", {}).items():
            reasons[k] = reasons.get(k, 0) + n
    check(ledger["rejected"] == rejected, f"ledger rejected {ledger['rejected']} != {rejected}")
    check(ledger["rejected_reasons"] == reasons,
          f"ledger rejected_reasons {ledger['rejected_reasons']} != {reasons}")
    check(ledger["lag_404"] == 0, f"lag_404 {ledger['lag_404']}")
    check(ledger["uploads"] == sum(s.get("uploads", 0) for s in EXPECTED.values()),
          f"uploads {ledger['uploads']}")
    for name, spec in EXPECTED.items():
        key = key_of(name)
        n = len(spec["submissions"])
        check(ledger["max_inflight"].get(key) == (1 if n else 0),
              f"{name}: max_inflight {ledger['max_inflight'].get(key)}")
        if check("requests" in ledger, "ledger has no per-key `requests`"):
            _, entries, driver_requests, _ = results[name]
            counts = ledger["requests"].get(key, {})
            submits = sum(1 for e in entries if e["method"] == "POST" and
                          "uploadMedia" not in e["path"]) + driver_requests
            polls = sum(1 for e in entries if e["method"] == "GET")
            other = sum(1 for e in entries if "uploadMedia" in e["path"])
            want = {"total": submits + polls + other + downloads.get(key, 0), "submit": submits,
                    "poll": polls, "download": downloads.get(key, 0), "other": other}
            check(counts == want, f"{name}: ledger requests {counts}, expected {want}")


if __name__ == "__main__":
    sys.exit(main())
