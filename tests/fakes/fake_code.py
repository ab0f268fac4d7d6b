"""A file-based fake reference code with failures on cue (used through ``fakecalc.FakeCalculator``).

Reads ``fake.json`` in the current directory (structure + parameters), writes ``fake.out``
(JSON, then a final ``JOB DONE`` line) and appends its pid (and any helper pids) to ``pids.txt``.
Pure Python on purpose: it starts fast and needs no third-party package.

The behaviour of attempt N (taken from the directory name ``attempt_NN``) is
``params["script"][N-1]`` (``"ok"`` beyond the script):

ok        Lennard-Jones energy and forces (ε = σ = 1)
exit      exit with status 3 and a message on stderr
sigkill   kill itself with SIGKILL
hang      start a child that sleeps, then sleep for an hour (to test timeouts: no orphans)
truncate  write half an output file and exit 0
scf       "SCF not converged" unless params["mixing"] <= 0.5 (the recovery recipe halves it)
nan       NaN forces
"""

import json
import math
import os
import signal
import subprocess
import sys
import time


def lennard_jones(positions):
    n = len(positions)
    energy, forces = 0.0, [[0.0, 0.0, 0.0] for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            d = [positions[i][k] - positions[j][k] for k in range(3)]
            r2 = sum(x * x for x in d)
            inv6 = 1.0 / r2 ** 3
            energy += 4.0 * (inv6 * inv6 - inv6)
            scale = (48.0 * inv6 * inv6 - 24.0 * inv6) / r2
            for k in range(3):
                forces[i][k] += scale * d[k]
                forces[j][k] -= scale * d[k]
    return energy, forces


def attempt_number():
    name = os.path.basename(os.getcwd())
    return int(name.split("_")[1]) if name.startswith("attempt_") else 1


def record_pid(pid):
    with open("pids.txt", "a") as handle:
        handle.write(f"{pid}\n")


def main():
    record_pid(os.getpid())
    with open("fake.json") as handle:
        data = json.load(handle)
    params = data["params"]
    script = params.get("script", [])
    n = attempt_number()
    mode = script[n - 1] if n <= len(script) else "ok"
    time.sleep(params.get("sleep_s", 0.0))
    if mode == "exit":
        print("fake code: boom", file=sys.stderr)
        return 3
    if mode == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "hang":
        child = subprocess.Popen(["sleep", "3600"])
        record_pid(child.pid)
        time.sleep(3600)
    energy, forces = lennard_jones(data["positions"])
    out = {"energy": energy, "forces": forces, "converged": True,
           "ranks": os.environ.get("FAKE_RANKS", "1")}
    if mode == "scf" and params.get("mixing", 0.7) > 0.5:
        out = {"converged": False}
    if mode == "nan":
        out["forces"][0][0] = math.nan
    text = json.dumps(out)
    if mode == "truncate":
        text = text[: len(text) // 2]
    with open("fake.out", "w") as handle:
        handle.write(text + ("" if mode == "truncate" else "\nJOB DONE\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
