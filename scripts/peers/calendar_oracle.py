"""Checks Vendrome's recurrence expansion against recurring-ical-events, an independent
implementation: reads the cases `cargo run -p vendrome-calendar --example oracle_cases` prints
(each an iCalendar file, a window, and the occurrences Vendrome expanded), expands each file with
recurring-ical-events over the same window, and fails on any difference."""

import json
import sys
from datetime import datetime, timezone

import icalendar
import recurring_ical_events


def utc(value):
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def main():
    cases = json.load(sys.stdin)
    failed = 0
    print(f"{'case':45} {'vendrome':>9} {'oracle':>7}  result")
    for case in cases:
        calendar = icalendar.Calendar.from_ical(case["ics"])
        start = datetime.fromisoformat(case["from"])
        end = datetime.fromisoformat(case["to"])
        theirs = sorted(
            (utc(e["DTSTART"].dt).isoformat(), utc(e["DTEND"].dt).isoformat())
            for e in recurring_ical_events.of(calendar).between(start, end)
        )
        ours = sorted(
            (utc(datetime.fromisoformat(s)).isoformat(), utc(datetime.fromisoformat(e)).isoformat())
            for s, e in case["occurrences"]
        )
        ok = theirs == ours
        print(f"{case['name']:45} {len(ours):>9} {len(theirs):>7}  {'same' if ok else 'DIFFERENT'}")
        if not ok:
            failed += 1
            only_ours = sorted(set(ours) - set(theirs))[:5]
            only_theirs = sorted(set(theirs) - set(ours))[:5]
            print(f"    only vendrome: {only_ours}\n    only oracle:   {only_theirs}")
        if len(ours) == 0:
            print("    a case with no occurrences proves nothing", file=sys.stderr)
            failed += 1
    if failed:
        print(f"{failed} of {len(cases)} cases differ", file=sys.stderr)
        sys.exit(1)
    print(f"all {len(cases)} cases agree")


if __name__ == "__main__":
    main()
