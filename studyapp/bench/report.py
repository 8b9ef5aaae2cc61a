"""The benchmark's figures as tables (terminal and Markdown) and checked against the targets."""

from __future__ import annotations

from .data import SIZES
from .measure import PAGES_MEASURED, STUDY_REQUESTS

MAX_QUERIES = 6
P95_LIMIT_MS = 10.0
GROWTH_LIMIT = 1.3
PAGE_LIMIT_MS = 50.0
HTTP_RATIO = 0.30
BANK_LIMIT_S = 10.0


def _ok(run: dict) -> bool:
    return "error" not in run and "inprocess" in run


def _order(name: str) -> int:
    return list(SIZES).index(name) if name in SIZES else 99


def targets(results: dict) -> list[dict]:
    """Each target, where it was checked, the figure and whether it is met."""
    out: list[dict] = []

    def add(target, where, value, limit, met):
        out.append({"target": target, "where": where, "value": value, "limit": limit, "met": met})

    runs = [r for r in results.get("runs", []) if _ok(r)]
    backends = sorted({r["backend"] for r in runs})
    for backend in backends:
        mine = sorted((r for r in runs if r["backend"] == backend), key=lambda r: _order(r["size"]))
        smallest, largest = mine[0], mine[-1]
        # Queries per study-loop request: at most 6, and the same at every size.
        for name in STUDY_REQUESTS:
            counts = {
                r["size"]: r["inprocess"]["requests"][name]["queries"]["max"]
                for r in mine
                if r["inprocess"]["requests"][name].get("n")
            }
            if not counts:
                continue
            worst = max(counts.values())
            add(
                f"{name}: queries per request <= {MAX_QUERIES}",
                backend,
                worst,
                MAX_QUERIES,
                worst <= MAX_QUERIES,
            )
            add(
                f"{name}: queries the same at every size",
                backend,
                " / ".join(f"{s} {c}" for s, c in counts.items()),
                "equal",
                len(set(counts.values())) == 1,
            )
        # Study-loop latency at the largest size, and its growth from the smallest.
        for name in STUDY_REQUESTS:
            big = largest["inprocess"]["requests"][name]
            small = smallest["inprocess"]["requests"][name]
            if not big.get("n"):
                continue
            add(
                f"{name}: p95 <= {P95_LIMIT_MS:g} ms",
                f"{backend} {largest['size']}",
                big["p95_ms"],
                P95_LIMIT_MS,
                big["p95_ms"] <= P95_LIMIT_MS,
            )
            if largest is not smallest and small.get("n"):
                growth = round(big["p95_ms"] / small["p95_ms"], 2)
                add(
                    f"{name}: p95 at {largest['size']} <= {GROWTH_LIMIT}x {smallest['size']}",
                    backend,
                    growth,
                    GROWTH_LIMIT,
                    growth <= GROWTH_LIMIT,
                )
        for name in ("dashboard", "progress"):
            page = largest["inprocess"]["requests"][name]
            add(
                f"{name}: p95 <= {PAGE_LIMIT_MS:g} ms",
                f"{backend} {largest['size']}",
                page["p95_ms"],
                PAGE_LIMIT_MS,
                page["p95_ms"] <= PAGE_LIMIT_MS,
            )
        for r in mine:
            http = r.get("http") or {}
            if http.get("ratio") is not None:
                add(
                    f"HTTP study loop >= {HTTP_RATIO:.0%} of the constant view's requests/s",
                    f"{backend} {r['size']}",
                    http["ratio"],
                    HTTP_RATIO,
                    http["ratio"] >= HTTP_RATIO,
                )
    for bank in results.get("bank", []):
        if "error" in bank:
            continue
        where = f"{bank['backend']}, {bank['questions']} questions"
        add(
            f"load_bank first load <= {BANK_LIMIT_S:g} s",
            where,
            bank["first_seconds"],
            BANK_LIMIT_S,
            bank["first_seconds"] <= BANK_LIMIT_S,
        )
        add(
            "load_bank reload with no change faster than the first",
            where,
            bank["again_seconds"],
            bank["first_seconds"],
            bank["again_seconds"] < bank["first_seconds"],
        )
    return out


# --- tables -----------------------------------------------------------------------------------


BUSY_MARK = " *"
BUSY_NOTE = (
    "* measured while the CPUs were more than 25% busy with other work, after waiting up to "
    "--quiet-wait seconds for them to calm down (machine_load in the JSON): those figures are "
    "inflated."
)


def _busy(load: dict | None) -> str:
    return BUSY_MARK if load and not load.get("quiet", True) else ""


def _any_busy(results: dict) -> bool:
    for r in results.get("runs", []):
        loads = list(r.get("inprocess", {}).get("machine_load", {}).values())
        loads += list((r.get("http") or {}).get("machine_load", {}).values())
        if any(not v.get("quiet", True) for v in loads):
            return True
    return False


def _mib(n) -> str:
    return "" if n is None else f"{n / 1024 / 1024:,.0f} MiB"


def _ms(x) -> str:
    return "" if x is None else f"{x:,.1f}" if x >= 100 else f"{x:.2f}"


def _queries(q: dict) -> str:
    return str(q["max"]) if q["min"] == q["max"] else f"{q['min']}-{q['max']}"


def tables(results: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) for each table."""
    runs = results.get("runs", [])
    out = []
    rows = []
    for r in runs:
        if "build" not in r:
            rows.append([r["backend"], r["size"], "", "", "", r.get("error", ""), ""])
            continue
        b = r["build"]
        rows.append(
            [
                r["backend"],
                r["size"],
                str(r["learners"]),
                f"{b['rows']['cards']:,}",
                f"{b['rows']['reviews']:,}",
                f"{b['seconds']['total']:.1f}",
                _mib(r.get("database_bytes")),
            ]
        )
    out.append(
        (
            "Synthetic collections (all learners)",
            ["backend", "size", "learners", "cards", "reviews", "build s", "database"],
            rows,
        )
    )

    rows = []
    for r in runs:
        if not _ok(r):
            continue
        p = r["inprocess"]
        load = p.get("machine_load", {})
        for name in PAGES_MEASURED:
            s = p["requests"].get(name, {})
            if not s.get("n"):
                continue
            part = "study" if name in STUDY_REQUESTS else "pages"
            rows.append(
                [
                    r["backend"],
                    r["size"],
                    name + _busy(load.get(part)),
                    str(s["n"]),
                    _ms(s["p50_ms"]),
                    _ms(s["p95_ms"]),
                    _ms(s["max_ms"]),
                    _queries(s["queries"])
                    + (
                        f" ({_queries(s['data_queries'])})"
                        if s["data_queries"] != {k: s["queries"][k] for k in ("min", "max")}
                        else ""
                    ),
                    _ms(s["db_p50_ms"]),
                ]
            )
        rows.append(
            [
                r["backend"],
                r["size"],
                "whole loop",
                str(p["loops"]),
                _ms(p["loop_p50_ms"]),
                _ms(p["loop_p95_ms"]),
                "",
                "",
                "",
            ]
        )
    out.append(
        (
            "In process, main learner (Django test client; ms)",
            [
                "backend",
                "size",
                "request",
                "n",
                "p50",
                "p95",
                "max",
                "queries (w/o BEGIN/COMMIT)",
                "SQL p50",
            ],
            rows,
        )
    )

    rows = []
    for r in runs:
        h = r.get("http")
        if not h or "study" not in h:
            continue
        s, c = h["study"], h["constant"]
        errors = int(
            s["counts"]["errors"]  # any status but 200, counted by the script
            + sum(v for k, v in s["errors"].items() if k != "status")
            + sum(c["errors"].values())
        )
        busy = any(not v.get("quiet", True) for v in h.get("machine_load", {}).values())
        rows.append(
            [
                r["backend"],
                r["size"] + (BUSY_MARK if busy else ""),
                f"{s['rps']:,.0f}",
                f"{h['study_loops_per_s']:,.1f}",
                f"{s['latency']['p50_ms']:.1f} / {s['latency']['p95_ms']:.1f}",
                f"{c['rps']:,.0f}",
                f"{c['latency']['p50_ms']:.1f} / {c['latency']['p95_ms']:.1f}",
                f"{h['ratio']:.1%}",
                str(errors),
            ]
        )
    out.append(
        (
            "Over HTTP (gunicorn, 2 workers; wrk, one connection per learner)",
            [
                "backend",
                "size",
                "study req/s",
                "loops/s",
                "p50 / p95 ms",
                "constant req/s",
                "p50 / p95 ms",
                "ratio",
                "errors",
            ],
            rows,
        )
    )

    rows = []
    for b in results.get("bank", []):
        if "error" in b:
            rows.append([b["backend"], "", "", b["error"]])
            continue
        rows.append(
            [
                b["backend"],
                f"{b['questions']:,}",
                f"{b['first_seconds']:.2f}",
                f"{b['again_seconds']:.2f}",
            ]
        )
    out.append(
        (
            "load_bank (generated bank)",
            ["backend", "questions", "first load s", "no-change reload s"],
            rows,
        )
    )

    rows = [
        [t["target"], t["where"], str(t["value"]), str(t["limit"]), "met" if t["met"] else "MISSED"]
        for t in results.get("targets", [])
    ]
    out.append(("Targets", ["target", "where", "measured", "limit", ""], rows))
    return out


def text(results: dict) -> str:
    parts = []
    for title, header, rows in tables(results):
        if not rows:
            continue
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
        line = "  ".join(f"{{:<{w}}}" for w in widths)
        parts.append(
            f"\n{title}\n"
            + line.format(*header)
            + "\n"
            + line.format(*("-" * w for w in widths))
            + "\n"
            + "\n".join(line.format(*row) for row in rows)
        )
    if _any_busy(results):
        parts.append(BUSY_NOTE)
    for message in results.get("skipped", []):
        parts.append(message)
    return "\n".join(parts) + "\n"


def markdown(results: dict) -> str:
    m = results.get("machine", {})
    o = results.get("options", {})
    lines = [
        f"Run {results.get('started')} ({results.get('seconds')} s), git {m.get('git')}.",
        f"Machine: {m.get('nproc')} CPUs ({m.get('cpu')}), {m.get('memory_gib')} GiB, "
        f"{m.get('os')}; Python {m.get('python')}, Django {m.get('django')}, SQLite "
        f"{m.get('sqlite')}, PostgreSQL {m.get('postgres') or 'not measured'}, gunicorn "
        f"{m.get('gunicorn')}, {m.get('wrk')}.",
        f"In process: {o.get('loops')} study loops after {o.get('warmup')} of warm-up, "
        f"{o.get('page_loads')} dashboard and progress loads each; over HTTP "
        f"{o.get('http_seconds')} s per target after 2 s of warm-up.",
        "",
    ]
    for title, header, rows in tables(results):
        if not rows:
            continue
        lines += [
            f"**{title}**",
            "",
            "| " + " | ".join(header) + " |",
            "|" + "|".join(" --- " for _ in header) + "|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        lines.append("")
    if _any_busy(results):
        lines += [BUSY_NOTE, ""]
    lines += [f"_{message}_" for message in results.get("skipped", [])]
    return "\n".join(lines) + "\n"
