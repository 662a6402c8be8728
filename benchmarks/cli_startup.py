"""Benchmark: how long ``python -m include.cli`` takes to answer before it does any work.

Each case runs the CLI as a fresh process ``--runs`` times and prints the median and fastest wall
time, the exit code, and, from one more run under a probe, how many modules were imported and
which heavy libraries among them. The cases: ``--help``, two subcommands' ``--help``, a
configuration with a typo, a configuration file that does not exist, ``models`` (reads the
configuration folder, opens no store) and, for the cost of the real work, ``evaluate`` in an
empty temporary ``MES_HOME``: it imports everything, opens the SQLite MES and stops on the missing
trained model (exit 1). ``python -c pass`` is the floor: the interpreter alone.

    python benchmarks/cli_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL_CONFIG = ROOT / "include" / "tutorial" / "fraud_tutorial.yaml"
sys.path.insert(0, str(ROOT))
from include.cli import DEFERRED_LIBRARIES as HEAVY  # noqa: E402

# Runs the CLI exactly as ``python -m include.cli`` does, then writes the exit code and the
# imported modules to the file named by its first argument.
PROBE = """
import json, runpy, sys
out, sys.argv = sys.argv[1], ["include.cli", *sys.argv[2:]]
try:
    runpy.run_module("include.cli", run_name="__main__", alter_sys=True)
    code = 0
except SystemExit as exc:
    code = exc.code
with open(out, "w") as handle:
    json.dump({"exit": code, "modules": sorted(sys.modules)}, handle)
"""


def cases(work: Path) -> list[tuple[str, list[str], dict[str, str]]]:
    """(label, CLI arguments, extra environment) of each case."""
    typo = work / "typo.yaml"
    typo.write_text(TUTORIAL_CONFIG.read_text().replace("\nname:", "\nnmae:", 1))
    return [
        ("--help", ["--help"], {}),
        ("evaluate --help", ["evaluate", "--help"], {}),
        ("check --help", ["check", "--help"], {}),
        ("config error: typo", ["evaluate", "2017Q2"], {"MES_CONFIG": str(typo)}),
        (
            "config error: missing file",
            ["evaluate", "2017Q2"],
            {"MES_CONFIG": str(work / "missing.yaml")},
        ),
        ("models", ["models"], {}),
        ("evaluate (opens the MES)", ["evaluate", "2017Q2"], {}),
    ]


def environment(work: Path, extra: dict[str, str]) -> dict[str, str]:
    """The caller's environment without MES_* settings: embedded defaults in a temporary home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MES_")}
    env.update(PYTHONPATH=str(ROOT), MES_HOME=str(work / "home"), **extra)
    return env


def wall_times(command: list[str], env: dict[str, str], runs: int) -> tuple[list[float], int]:
    times, code = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
        code = done.returncode
    return times, code


def probe(arguments: list[str], env: dict[str, str], work: Path) -> dict:
    out = work / "probe.json"
    subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *arguments],
        env=env,
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each case (default 7)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cli-startup-") as tmp:
        work = Path(tmp)
        floor, _ = wall_times([sys.executable, "-c", "pass"], environment(work, {}), args.runs)
        print(f"{args.runs} runs per case; python -c pass: median {statistics.median(floor):.3f} s")
        print(f"{'case':<28} {'median s':>9} {'fastest s':>10} {'exit':>5} {'modules':>8}  heavy")
        for label, arguments, extra in cases(work):
            env = environment(work, extra)
            command = [sys.executable, "-m", "include.cli", *arguments]
            times, code = wall_times(command, env, args.runs)
            found = probe(arguments, env, work)
            if found["exit"] != code:
                sys.exit(f"{label}: exit {code} as a process but {found['exit']} under the probe")
            modules = set(found["modules"])
            heavy = ", ".join(name for name in HEAVY if name in modules) or "none"
            print(
                f"{label:<28} {statistics.median(times):>9.3f} {min(times):>10.3f} {code:>5} "
                f"{len(modules):>8}  {heavy}"
            )


if __name__ == "__main__":
    main()
