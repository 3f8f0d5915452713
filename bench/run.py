"""Benchmark txlint against a bare libcst parse of the same files.

    python bench/run.py CORPUS [--repeat N]

Why the baseline is a bare parse: libcst is the expensive part of txlint. A
bare native `libcst.parse_module` costs about 50-80 ms per 1 000 lines on the
reference machine, and resolving position + parent + scope + qualified-name
metadata on top costs 12-14 times that. A linter that parses every file and
resolves metadata can never be fast enough for a pre-commit hook, so issue 7
sets the bar at the cost of *one bare parse of every file*: cold, in one
process, txlint must be no slower than that (ratio <= 1.0), which is only
possible if a cheap first look (the prefilter) keeps most files from being
parsed at all; with a warm cache over an unchanged tree it must cost <= 0.1 of
it. Measuring both on the same files in the same run, on the same machine,
makes the ratio independent of how fast the machine is.

What is measured (the file set is txlint's own discovery, with the config
`txlint check CORPUS` would find, so both sides see exactly the same files):

* files and lines: `.py`, `.pyi` and `.sql` files and their line counts.
  Counting reads every file once, which also warms the OS page cache, so
  neither timing below pays for the disk.
* bare parse: read + `libcst.parse_module(bytes)` of every `.py`/`.pyi` file,
  in this process, libcst imported beforehand (`.sql` files are not parsed).
* each txlint variant: `python -m txlint check --exit-zero --quiet --format
  json [extra flags] CORPUS` as a subprocess, wall time from spawn to exit,
  so interpreter start-up and imports are included (that is what a user
  waits for; the "start-up" line shows how much of it is fixed cost).

CPU time is measured beside wall time, because on a shared machine wall times
swing with other jobs while CPU time does not: the bare parse's with
`time.process_time()` (this process), each txlint run's from `os.wait4()` (user
+ system time of the child and the workers it reaped).

Each timing is the best of `--repeat` runs (default 1). The runs go in rounds
(bare parse, then every txlint variant, then again), so that load from other
processes on the machine weighs on both sides of a ratio alike.

Peak memory: each txlint subprocess is reaped with `os.wait4()`, which returns
the resource usage of that one child (its own and that of any children it
reaped, e.g. pool workers). Its `ru_maxrss` is the high-water mark of the
largest single process in that tree. This is used instead of deltas of
`getrusage(RUSAGE_CHILDREN).ru_maxrss`, because that figure is a running
maximum over all children ever reaped: a run that peaks lower than an earlier
one leaves it unchanged, so the delta would read 0. With `--jobs N > 1` the
figure is the largest process, not the sum over concurrent workers.

Adding a row: append a `Variant` to `VARIANTS`. Whether the CLI accepts a
variant's flags is probed first (the flags plus `--help`: click exits 2 with
"No such option" for an unknown flag, and checks nothing either way); a variant
whose flags the CLI does not accept yet is shown as "n/a (option not
available)" instead of failing the benchmark. A flag listed in a variant's
`omittable` is dropped when the CLI lacks it, because its absence means the CLI
already behaves that way (no `--jobs`: one process; no `--no-cache`: no cache
exists); a note under the table says when that happened.

Exit status: 0, or 1 when a txlint run failed (its stderr is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import libcst

try:
    from txlint.project.discovery import discover
    from txlint.project.settings import ConfigError
    from txlint.project.settings import discover as discover_config
except ImportError:  # a txlint from before the layered packages: the same functions, flat (before/after comparisons)
    from txlint.config import ConfigError
    from txlint.config import discover as discover_config
    from txlint.discovery import discover

PYTHON_SUFFIXES = (".py", ".pyi")
SUFFIXES = (".py", ".pyi", ".sql")
CACHE_DIR = "{cache_dir}"  # placeholder in a variant's flags, replaced by a fresh temporary folder
NO_SUCH_OPTION = re.compile(r"No such option:?\s*['\"]?(-[\w-]+)")  # click 8.0-8.1 and 8.2+ wording
BASE_ARGV = ("-m", "txlint", "check", "--exit-zero", "--quiet", "--format", "json")


@dataclass(frozen=True)
class Variant:
    """One txlint row of the table.

    `extra`: flags added to `txlint check --exit-zero --quiet --format json`.
    `ratio_label` / `target`: the ratio line printed for this row.
    `omittable`: flags (name -> how many values follow it) dropped when the CLI
    does not accept them, because the CLI without them already behaves as they ask.
    `warm`: run once, untimed, before the timed runs (to fill the cache).
    """

    label: str
    extra: tuple[str, ...]
    ratio_label: str
    target: float | None = None
    omittable: dict[str, int] = field(default_factory=dict)
    warm: bool = False


VARIANTS: list[Variant] = [
    Variant(
        "txlint --jobs 1 --no-cache",
        ("--jobs", "1", "--no-cache"),
        "cold, 1 process",
        target=1.0,
        omittable={"--jobs": 1, "--no-cache": 0},
    ),
    Variant("txlint --jobs 2 --no-cache", ("--jobs", "2", "--no-cache"), "cold, 2 processes"),
    Variant("txlint warm cache", ("--cache-dir", CACHE_DIR), "warm cache, unchanged tree", target=0.1, warm=True),
]


@dataclass
class Run:
    """One variant's outcome: best wall time, peak RSS, output; or why there is none."""

    argv: list[str] = field(default_factory=list)  # the command as finally run
    wall: float | None = None
    cpu: float | None = None
    max_rss_kb: int | None = None
    stdout: bytes = b""
    unavailable: str | None = None  # the option the CLI lacks
    failure: str | None = None  # exit status and stderr tail of a failed run
    dropped: list[str] = field(default_factory=list)  # omittable flags the CLI lacks

    @property
    def ok(self) -> bool:
        return self.unavailable is None and self.failure is None


# --- files --------------------------------------------------------------------------------------


def corpus_files(corpus: Path) -> list[Path]:
    """The files `txlint check CORPUS` would check: its discovery, with the config it would find."""
    try:
        config = discover_config(corpus)
        root, exclude = config.root, config.exclude
    except ConfigError:  # txlint itself will then refuse to run, and the table says so
        root, exclude = corpus, ()
    return discover(paths=[corpus], root=root, exclude=exclude).files


def count_lines(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def census(files: list[Path]) -> dict[str, tuple[int, int]]:
    """suffix -> (files, lines)."""
    table = dict.fromkeys(SUFFIXES, (0, 0))
    for path in files:
        n, lines = table.get(path.suffix, (0, 0))
        table[path.suffix] = (n + 1, lines + count_lines(path.read_bytes()))
    return table


# --- timings ------------------------------------------------------------------------------------


def bare_parse(files: list[Path]) -> tuple[float, float, int]:
    """Wall and CPU time of read + `libcst.parse_module` of each Python file; how many did not parse."""
    failed = 0
    start, start_cpu = time.perf_counter(), time.process_time()
    for path in files:
        try:
            libcst.parse_module(path.read_bytes())
        except libcst.ParserSyntaxError:
            failed += 1
    return time.perf_counter() - start, time.process_time() - start_cpu, failed


def run_once(argv: list[str], stdout_file: Path) -> tuple[float, float, int, int, str]:
    """Wall time, CPU time (user + system), exit status, peak RSS (KiB) and stderr of one subprocess."""
    with open(stdout_file, "wb") as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return wall, usage.ru_utime + usage.ru_stime, process.returncode, usage.ru_maxrss, stderr  # ru_maxrss is in KiB on Linux


def drop_flag(argv: list[str], flag: str, values: int) -> list[str]:
    i = argv.index(flag)
    return argv[:i] + argv[i + 1 + values :]


def prepare(variant: Variant, corpus: Path, workdir: Path) -> Run:
    """Settle the command line (dropping omittable flags the CLI lacks) and, for `warm`, fill the cache."""
    extra = [tempfile.mkdtemp(prefix="cache-", dir=workdir) if arg == CACHE_DIR else arg for arg in variant.extra]
    run = Run()
    while True:
        flags = [sys.executable, *BASE_ARGV, *extra]
        _, _, status, _, stderr = run_once([*flags, "--help"], workdir / "help.txt")
        missing = NO_SUCH_OPTION.search(stderr)
        if not (status == 2 and missing):
            break
        option = missing.group(1)
        if option not in variant.omittable or option not in extra:
            run.unavailable = option
            return run
        extra = drop_flag(extra, option, variant.omittable[option])
        run.dropped.append(option)
    run.argv = [*flags, str(corpus)]
    if variant.warm:
        timed_run(run, workdir)  # the priming run fills the cache; its figures are discarded
        run.wall = run.cpu = run.max_rss_kb = None
    return run


def timed_run(run: Run, workdir: Path) -> None:
    """One run of a prepared variant; keeps the best wall and CPU times and the highest peak RSS."""
    stdout_file = workdir / "stdout.json"
    wall, cpu, status, max_rss, stderr = run_once(run.argv, stdout_file)
    if status != 0:
        tail = "\n".join(stderr.rstrip().splitlines()[-15:])
        run.failure = f"exit {status}\n{tail}"
        return
    run.wall = wall if run.wall is None else min(run.wall, wall)
    run.cpu = cpu if run.cpu is None else min(run.cpu, cpu)
    run.max_rss_kb = max(run.max_rss_kb or 0, max_rss)
    run.stdout = stdout_file.read_bytes()


def compile_txlint() -> None:
    """Compile txlint's own modules to bytecode where they are, as `pip install` does for a user.

    An editable checkout run where PYTHONDONTWRITEBYTECODE is set (this
    machine sets it) would otherwise compile every module on every start:
    a cost no installed txlint pays, charged to each txlint row.
    """
    import compileall

    import txlint
    import txlint.rules as rules

    for module in (txlint, rules):
        compileall.compile_dir(str(Path(str(module.__file__)).parent), quiet=1)


def startup_time(workdir: Path) -> float:
    """Wall time of `python -m txlint --version`: interpreter start-up and imports."""
    wall, _, _, _, _ = run_once([sys.executable, "-m", "txlint", "--version"], workdir / "version.txt")
    return wall


# --- output -------------------------------------------------------------------------------------


def findings_count(stdout: bytes) -> str:
    try:
        return str(len(json.loads(stdout)))
    except ValueError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="folder (or file) to benchmark on")
    parser.add_argument("--repeat", type=int, default=1, help="runs per timing; the best is shown (default 1)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    corpus = args.corpus.resolve()
    if not corpus.exists():
        parser.error(f"{args.corpus}: no such file or folder")

    files = corpus_files(corpus)
    table = census(files)
    python_files = [p for p in files if p.suffix in PYTHON_SUFFIXES]
    python_lines = sum(table[s][1] for s in PYTHON_SUFFIXES)
    print(f"corpus: {corpus}")
    print(f"python {sys.version.split()[0]}, libcst {version('libcst')}, {os.cpu_count()} CPUs")
    print(f"best of {args.repeat} run(s) per timing")
    print()
    print(f"{'files':8}{'count':>8}{'lines':>12}")
    for suffix in SUFFIXES:
        print(f"{suffix:8}{table[suffix][0]:>8}{table[suffix][1]:>12}")
    print(f"{'total':8}{len(files):>8}{sum(lines for _, lines in table.values()):>12}")
    print()

    compile_txlint()
    parse_wall, parse_cpu, parse_failed, startup = float("inf"), float("inf"), 0, float("inf")
    with tempfile.TemporaryDirectory(prefix="txlint-bench-") as tmp:
        workdir = Path(tmp)
        runs = [(variant, prepare(variant, corpus, workdir)) for variant in VARIANTS]
        for _ in range(args.repeat):
            wall, cpu, parse_failed = bare_parse(python_files)
            parse_wall, parse_cpu = min(parse_wall, wall), min(parse_cpu, cpu)
            startup = min(startup, startup_time(workdir))
            for _, run in runs:
                if run.ok:
                    timed_run(run, workdir)

    width = max(len(v.label) for v in VARIANTS) + 2
    print(f"{'run':{width}}{'wall (s)':>10}{'cpu (s)':>10}{'peak RSS (MB)':>15}{'findings':>10}")
    print(f"{'bare libcst parse (.py/.pyi)':{width}}{parse_wall:>10.2f}{parse_cpu:>10.2f}{'-':>15}{'-':>10}")
    notes: list[str] = []
    reference = next((run.stdout for _, run in runs if run.ok), None)
    for variant, run in runs:
        if run.unavailable:
            print(f"{variant.label:{width}}  n/a (option not available: {run.unavailable})")
        elif run.failure:
            print(f"{variant.label:{width}}  FAILED ({run.failure.splitlines()[0]})")
            notes.append(f"{variant.label} failed; stderr:\n{run.failure}")
        else:
            rss = f"{run.max_rss_kb / 1024:.0f}" if run.max_rss_kb else "?"
            print(f"{variant.label:{width}}{run.wall:>10.2f}{run.cpu or 0:>10.2f}{rss:>15}{findings_count(run.stdout):>10}")
            if run.dropped:
                notes.append(f"{variant.label}: ran without {', '.join(run.dropped)} (not in this CLI, which already behaves so)")
            if run.stdout != reference:
                notes.append(f"{variant.label}: findings differ from the first txlint row")
    print()
    ms_per_kline = parse_wall * 1000 / (python_lines / 1000) if python_lines else 0.0
    print(f"bare parse: {ms_per_kline:.0f} ms per 1 000 lines; {parse_failed} file(s) did not parse")
    print(f"txlint start-up (python -m txlint --version): {startup:.2f} s, included in each txlint row (its modules compiled to bytecode first, as an install does)")
    print("peak RSS: largest single process of the txlint run (os.wait4 of the child)")
    for note in notes:
        print(f"note: {note}")
    print()
    for variant, run in runs:
        target = f"  (target <= {variant.target})" if variant.target is not None else ""
        ratio = f"{run.wall / parse_wall:.2f}" if run.ok and run.wall is not None and parse_wall > 0 else "n/a"
        cpu_ratio = f"{run.cpu / parse_cpu:.2f}" if run.ok and run.cpu is not None and parse_cpu > 0 else "n/a"
        print(f"ratio txlint/bare-parse ({variant.ratio_label}): wall {ratio}, cpu {cpu_ratio}{target}")
    return 0 if all(run.failure is None for _, run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
