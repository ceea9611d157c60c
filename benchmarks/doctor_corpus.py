"""`torchlab doctor --from` over the labelled collect_env corpus: how many labelled causes it names.

Goal (issue "doctor is right on the reports learners actually paste"): at least 95 % of the labelled
causes named (the labelled finding id, as a warning or failure), no healthy report flagged `fail`
about the learner's own torch, no report unreadable. Runs the installed command, as a teaching
assistant would, once per report:
    python benchmarks/doctor_corpus.py [--show-all]
and record the figures in docs/PERFORMANCE.md. The labels: tests/fixtures/collect_env/LABELS.tsv and
tests/fixtures/collect_env_LABELS.tsv (tests/corpus.py reads them).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from corpus import Label, judge, labels, unquoted  # noqa: E402 - the label reader lives with the fixtures

GOAL_NAMED = 0.95


def doctor(torchlab: str, label: Label) -> tuple[int, dict | None, str]:
    done = subprocess.run([torchlab, "doctor", "--json", "--from", str(label.path)], capture_output=True, text=True,
                          timeout=120, check=False)
    document = json.loads(done.stdout) if done.returncode in (0, 1) and done.stdout.strip() else None
    return done.returncode, document, done.stderr.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-all", action="store_true", help="print every report's verdict, not only the misses")
    args = parser.parse_args()
    torchlab = shutil.which("torchlab") or sys.exit("torchlab is not installed: pip install -e .")
    started = time.perf_counter()
    causes = named = healthy = flagged = unreadable = unquoting = 0
    for label in labels():
        code, document, said = doctor(torchlab, label)
        if document is None:
            unreadable += 1
            print(f"UNREADABLE {label.path.name}: exit {code}: {said}")
            continue
        wrong = judge(label, document)
        causes += label.names_a_cause
        named += label.names_a_cause and (wrong is None)
        healthy += label.cause == "healthy"
        flagged += label.cause == "healthy" and wrong is not None
        quotes = unquoted(document, label.path.read_bytes().decode("utf-8"))
        unquoting += bool(quotes)
        if wrong or quotes or args.show_all:
            print(f"{'miss' if wrong else 'ok  '} {label.path.name} [{label.cause}]: {wrong or 'named'}"
                  + (f"; unquoted: {quotes}" if quotes else ""))
    total = len(labels())
    share = named / causes if causes else 1.0
    print(f"\nreports: {total} in {time.perf_counter() - started:.1f} s; unreadable: {unreadable}")
    print(f"labelled causes named: {named}/{causes} ({share:.1%}; goal >= {GOAL_NAMED:.0%})")
    print(f"healthy reports flagged fail about the learner's torch: {flagged}/{healthy} (goal 0)")
    print(f"reports with a finding that does not quote its lines: {unquoting} (goal 0)")
    met = share >= GOAL_NAMED and flagged == 0 and unreadable == 0 and unquoting == 0
    print("goal: " + ("met" if met else "NOT met"))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
