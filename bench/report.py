"""One table from the runs' JSON (bench/results/): each page at each scale and database, side by side.

python -m bench.report                      # the latest run of each (database, label)
python -m bench.report results/a.json ...   # these runs
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.run import RESULTS


def latest_runs() -> list[Path]:
    chosen: dict[tuple[str, str], Path] = {}
    for path in sorted(RESULTS.glob("*.json")):
        if path.name.startswith("wrk-"):
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        chosen[(data["meta"]["dialect"], data["meta"]["label"])] = path  # sorted: the last one wins
    return [chosen[key] for key in sorted(chosen)]


def table(runs: list[dict[str, Any]]) -> str:
    heads = [f"{r['meta']['dialect']} {r['meta']['label']}" for r in runs]
    lines = [
        "| page | " + " | ".join(f"{h}: median / p95 ms, × floor, statements" for h in heads) + " |",
        "|---|" + "--:|" * len(heads),
    ]
    names = [p["name"] for p in runs[0]["pages"] if not p["name"].startswith("floor")]
    for name in names:
        cells = []
        for run in runs:
            page = next((p for p in run["pages"] if p["name"] == name), None)
            if page is None:
                cells.append("—")
                continue
            flag = "" if page["ok"] else f" ({page['statuses']})"
            cells.append(
                f"{page['median_ms']:.1f} / {page['p95_ms']:.1f}, {page['ratio']:.1f}×, "
                f"{page['statements_range']}{flag}"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    floors = []
    for run in runs:
        bare = [p["median_ms"] for p in run["pages"] if p["name"].startswith("floor: bare page")]
        floors.append(f"{min(bare):.1f}–{max(bare):.1f}" if bare else "—")
    lines.append("| bare page (the floor's part) | " + " | ".join(floors) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    paths = [Path(a) for a in (argv if argv is not None else sys.argv[1:])] or latest_runs()
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    if not runs:
        print("No run in bench/results/: python -m bench.run first.")
        return 1
    print(table(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
