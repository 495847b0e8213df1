"""`python -m bench [section ...]`: provision traceport_bench, run the sections (all by
default: rls audit verify pages supplier_pos po_confirm
expiry documents_io asn_save receiving_scan dashboard
readings trace scorecards), print the table and write bench/results.json.

BENCH_SCALE (default 1.0) scales every size; 0.1 is a quick run. DATABASE_URL, when
set, is an administrator's URL of the server to use instead of the embedded one.
"""

from __future__ import annotations

import sys
import time
import traceback

from bench import (
    asn_save,
    audit_cost,
    documents_io,
    expiry_scan,
    pages,
    po_confirm,
    readings,
    receiving_scan,
    rls,
    scorecards,
    scoring_dashboard,
    supplier_pos,
    verify,
)
from bench import trace as trace_bench
from bench.common import RESULTS, log, print_table, setup

SECTIONS = {
    "rls": rls.run,
    "audit": audit_cost.run,
    "verify": verify.run,
    "pages": pages.run,
    "supplier_pos": supplier_pos.run,
    "po_confirm": po_confirm.run,
    "expiry": expiry_scan.run,
    "documents_io": documents_io.run,
    "asn_save": asn_save.run,
    "receiving_scan": receiving_scan.run,
    "dashboard": scoring_dashboard.run,
    "scorecards": scorecards.run,
    "readings": readings.run,
    "trace": trace_bench.run,
}


def main(argv: list[str]) -> int:
    wanted = argv or list(SECTIONS)
    unknown = [s for s in wanted if s not in SECTIONS]
    if unknown:
        print(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    started = time.time()
    b = setup()
    failed = []
    try:
        for name in wanted:
            log(f"--- {name}")
            try:
                SECTIONS[name](b)
            except Exception:  # noqa: BLE001 - report it, run the other sections, exit non-zero
                traceback.print_exc()
                failed.append(name)
            b.write(started, wanted)
    finally:
        b.close()
    print_table(b.figures)
    took = time.time() - started
    print(f"\nPostgreSQL {b.server_version} ({b.server}), BENCH_SCALE={b.scale:g}, {took:.0f} s; results in {RESULTS}")
    if failed:
        print(f"sections that failed to run: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
