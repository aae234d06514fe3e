#!/usr/bin/env python3
"""Plots of the end-to-end benchmark (bench/e2e.sh) for docs/benchmarks.md.

    bench/plot.py [CSV] [OUT_DIR]     (defaults bench/results/e2e.csv, docs/img)

Writes OUT_DIR/e2e_throughput.png (events/s of every row against its ceiling, with the
ratio) and OUT_DIR/e2e_resources.png (CPU seconds per million events, peak RSS, alert
latency p50/p99). Needs matplotlib: without it, the script makes a venv in
.cache/plot-venv, installs matplotlib there from PyPI and runs itself again in it.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".cache", "plot-venv")


def ensure_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
        return
    except ImportError:
        pass
    py = os.path.join(VENV, "bin", "python")
    if os.path.abspath(sys.executable) == os.path.abspath(py):
        sys.exit("plot.py: matplotlib is still missing in " + VENV)
    if not os.path.exists(py):
        print(f"plot.py: creating {VENV} with matplotlib", file=sys.stderr)
        venv.create(VENV, with_pip=True)
        subprocess.run([py, "-m", "pip", "install", "-q", "matplotlib==3.9.2"], check=True)
    os.execv(py, [py, os.path.abspath(__file__), *sys.argv[1:]])


def main() -> None:
    ensure_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "bench", "results", "e2e.csv")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "docs", "img")
    os.makedirs(out, exist_ok=True)
    with open(src, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"plot.py: no rows in {src}")
    names = [r["row"] for r in rows]
    eps = [float(r["events_per_s"]) for r in rows]
    ceil = [float(r["ceiling_events_per_s"]) for r in rows]
    ratio = [float(r["ratio"]) for r in rows]

    fig, ax = plt.subplots(figsize=(9, 4.5))
    x = range(len(rows))
    w = 0.38
    ax.bar([i - w / 2 for i in x], ceil, w, label="ceiling (bare consumer group, same topic)", color="#bbbbbb")
    ax.bar([i + w / 2 for i in x], eps, w, label="measured", color="#3b6ea8")
    for i in x:
        if names[i] != "ceiling":
            ax.annotate(f"{ratio[i]:.2f}", (i + w / 2, eps[i]), ha="center", va="bottom", fontsize=9)
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_xticks(list(x), names)
    ax.set_ylabel("events/s")
    ax.set_title("End to end through a local broker (2 cores); label: ratio to the ceiling")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "e2e_throughput.png"), dpi=110)
    plt.close(fig)

    cs = [r for r in rows if r["row"] != "ceiling"]
    if cs:
        fig, axes = plt.subplots(1, 3, figsize=(12, 4))
        labels = [r["row"] for r in cs]
        axes[0].bar(labels, [float(r["cpu_s_per_m"]) for r in cs], color="#3b6ea8")
        axes[0].set_title("CPU seconds per million events")
        axes[1].bar(labels, [float(r["peak_rss_mib"]) for r in cs], color="#6a9f58")
        axes[1].set_title("peak RSS per instance (MiB)")
        p50 = [float(r["latency_p50_ms"]) if r["latency_p50_ms"] not in ("", "-", "-1") else 0 for r in cs]
        p99 = [float(r["latency_p99_ms"]) if r["latency_p99_ms"] not in ("", "-", "-1") else 0 for r in cs]
        xs = range(len(cs))
        axes[2].bar([i - 0.2 for i in xs], p50, 0.4, label="p50", color="#d08c3c")
        axes[2].bar([i + 0.2 for i in xs], p99, 0.4, label="p99", color="#a8483b")
        axes[2].set_xticks(list(xs), labels)
        axes[2].set_title("alert latency at a fixed rate (ms)")
        axes[2].legend(fontsize=8)
        for a in axes:
            a.tick_params(axis="x", labelrotation=30, labelsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "e2e_resources.png"), dpi=110)
        plt.close(fig)
    print(f"plot.py: wrote {out}/e2e_throughput.png and {out}/e2e_resources.png")


if __name__ == "__main__":
    main()
