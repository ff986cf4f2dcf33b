"""Run the benchmark suite: `python -m bench` (or `make bench`).

    python -m bench                      # every measurement on SQLite, and on PostgreSQL
                                         # when STAFETTLOGG_BENCH_POSTGRES is set
    python -m bench --only write,long    # some of them
    python -m bench --profile            # and profile what misses its target
    python -m bench --only long --profile-only   # profiles alone (var/bench/profiles/)
    python -m bench --smoke              # tiny sizes: checks the code, not the speed
    python -m bench --large-events 100000 --serve-cases 20000   # smaller stores

STAFETTLOGG_BENCH_POSTGRES=postgresql://user@host:5432/postgres names a database
to connect to for creating the benchmark's own databases (bench_*); the stores
are then made and measured there too. Results are written as markdown tables to
var/bench/results-<backend>.md and printed.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from bench.stores import backend_named, log, use_directory
from bench.suite import FULL, SECTIONS, SMOKE, profile_only, run, write_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--only", help=f"comma-separated sections: {','.join(SECTIONS)}")
    parser.add_argument("--backend", action="append", choices=("sqlite", "postgresql"),
                        help="default: sqlite, and postgresql if STAFETTLOGG_BENCH_POSTGRES is set")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the code")
    parser.add_argument("--profile", action="store_true",
                        help="profile each section that misses a target")
    parser.add_argument("--profile-only", action="store_true",
                        help="profile the sections (write, statistics, rebuild, long, serve) "
                             "without measuring them")
    parser.add_argument("--dir", type=Path, help="where stores and results go (var/bench)")
    parser.add_argument("--large-events", type=int, metavar="N",
                        help="events of the large store (default 1,000,000)")
    parser.add_argument("--serve-cases", type=int, metavar="N",
                        help="cases of the serving store (default 100,000)")
    args = parser.parse_args(argv)
    sections = tuple(args.only.split(",")) if args.only else SECTIONS
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    backends = args.backend or (
        ["sqlite", "postgresql"] if os.environ.get("STAFETTLOGG_BENCH_POSTGRES") else ["sqlite"])
    if args.dir is not None:
        use_directory(args.dir.resolve())
    scale = SMOKE if args.smoke else FULL
    sizes = {"large_events": args.large_events, "serve_cases": args.serve_cases}
    scale = replace(scale, **{k: v for k, v in sizes.items() if v is not None})
    for name in backends:
        if args.profile_only:
            profile_only(backend_named(name), scale, sections)
            continue
        report = run(backend_named(name), scale, sections, with_profiles=args.profile)
        path = write_report(report)
        print(report.markdown())
        log(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
