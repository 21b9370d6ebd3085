#!/usr/bin/env python3
"""Benchmark of the scope language (prints a table; not a test).

1. parse + normalize of `{nova: *, glance: Berlin|*}`-like scopes against
   catalogs of 3, 100 and 1000 locations, per scope, next to the cost of
   `json.loads` of the canonical form (the baseline a hop pays anyway);
2. overhead of the `&` evaluator over N no-op branches against a bare
   `asyncio.gather` of the same coroutines, as a ratio in the same run.

Usage: benchmarks/scope_bench.py [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import timeit

from oid.scope import AllOf, Catalog, Location, evaluate, normalize

SERVICES = ["keystone", "nova", "glance", "neutron", "placement"]


def catalog_of(size: int) -> Catalog:
    return Catalog.from_mapping({"locations": {f"dc{i:04d}": {"services": SERVICES} for i in range(size)}})


def per_call(func, repeat: int) -> float:
    number = max(1, repeat)
    return min(timeit.repeat(func, number=number, repeat=3)) / number


def bench_normalize(repeat: int) -> None:
    print(f"{'locations':>10} {'scope':<40} {'normalize':>12} {'json.loads':>12} {'ratio':>8}")
    for size in (3, 100, 1000):
        catalog = catalog_of(size)
        for scope in ("{nova: *}", "{nova: dc0001|*, glance: dc0002&dc0000}"):
            canonical = normalize(scope, catalog, "dc0000").canonical()
            count = max(1, repeat // size)
            cost = per_call(lambda s=scope, c=catalog: normalize(s, c, "dc0000").canonical(), count)
            base = per_call(lambda t=canonical: json.loads(t), count)
            print(f"{size:>10} {scope:<40} {cost * 1e6:>10.1f}us {base * 1e6:>10.1f}us {cost / base:>7.1f}x")


async def noop(location):
    return location


def time_evaluator(width: int, repeat: int) -> tuple[float, float]:
    """Per-call time of `evaluate` over `width` no-op branches, and of a bare gather."""
    names = [f"dc{i}" for i in range(width)]
    expr = Location(names[0]) if width == 1 else AllOf(tuple(Location(n) for n in names))

    async def with_evaluator():
        await evaluate(expr, noop)

    async def baseline():
        await asyncio.gather(*(noop(n) for n in names))

    loop = asyncio.new_event_loop()
    try:
        count = max(1, repeat // width)
        cost = per_call(lambda: loop.run_until_complete(with_evaluator()), count)
        base = per_call(lambda: loop.run_until_complete(baseline()), count)
    finally:
        loop.close()
    return cost, base


def bench_evaluator(repeat: int) -> None:
    print(f"\n{'branches':>10} {'evaluate(&)':>14} {'asyncio.gather':>16} {'ratio':>8}")
    for width in (1, 10, 100, 1000):
        cost, base = time_evaluator(width, repeat)
        print(f"{width:>10} {cost * 1e6:>12.1f}us {base * 1e6:>14.1f}us {cost / base:>7.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2000, help="calls per measurement at N=1 (default 2000)")
    args = parser.parse_args()
    bench_normalize(args.repeat)
    bench_evaluator(args.repeat)


if __name__ == "__main__":
    main()
