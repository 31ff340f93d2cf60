#!/usr/bin/env python3
"""Generate deterministic order-pipeline traffic as a JSON-lines log file (one structured log per line).

Six hours from 2026-10-01T00:00Z: orders through order_received → stock_checked → payment_captured (or
payment_declined) → shipped, a payment-provider slowdown at 02:00-02:20 (slow and failed captures), and a
few paid orders that never ship (one reported as order_stranded, two silent, swept after max_runtime).

    python examples/order-pipeline/generate.py --out /tmp/orders
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2026, 10, 1, tzinfo=UTC)
INCIDENT = (timedelta(hours=2), timedelta(hours=2, minutes=20))
STOREFRONTS = ("eu", "us", "apac")
STRANDED = {40: "reported", 95: "silent", 130: "silent"}  # minute index -> how the order strands


def _line(moment: datetime, service: str, cid: str, action: str, message: str, level: str = "INFO",
          **metadata: object) -> str:
    return json.dumps(
        {
            "timestamp": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": level,
            "correlationId": cid,
            "service": service,
            "message": message,
            "metadata": {"action": action, **metadata},
        },
        separators=(",", ":"),
    )


def generate(seed: int, hours: int) -> list[tuple[datetime, str]]:
    rng = random.Random(seed)
    lines: list[tuple[datetime, str]] = []
    end = START + timedelta(hours=hours)
    for minute in range(hours * 60):
        at = START + timedelta(minutes=minute)
        incident = INCIDENT[0] <= at - START < INCIDENT[1]
        for _ in range(rng.choice((1, 2, 2, 3))):
            t = at + timedelta(seconds=rng.uniform(0, 60))
            cid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            ids = {"orderId": f"o-{rng.getrandbits(40):010x}", "storefront": rng.choice(STOREFRONTS)}
            lines.append((t, _line(t, "Storefront", cid, "order_received", "order placed", **ids)))
            t += timedelta(milliseconds=rng.uniform(50, 300))
            in_stock = rng.random() < 0.97
            lines.append((t, _line(t, "Storefront", cid, "stock_checked", "stock", in_stock=in_stock, **ids)))
            if not in_stock:
                continue
            t += timedelta(milliseconds=rng.uniform(400, 1800) + (rng.uniform(2000, 6000) if incident else 0))
            if rng.random() < (0.2 if incident else 0.004):
                lines.append((t, _line(t, "Payments", cid, "payment_declined", "provider error", "ERROR",
                                       reason="provider_timeout", **ids)))
                continue
            if rng.random() < 0.02:
                lines.append((t, _line(t, "Payments", cid, "payment_declined", "card declined", "WARNING",
                                       reason="card_declined", **ids)))
                continue
            lines.append((t, _line(t, "Payments", cid, "payment_captured", "payment captured", **ids)))
            stranded = STRANDED.pop(minute, None)
            if stranded == "silent":
                continue
            if stranded == "reported":
                found = t + timedelta(minutes=45)
                lines.append((found, _line(found, "Warehouse", cid, "order_stranded", "no picker", "WARNING", **ids)))
                continue
            t += timedelta(minutes=rng.uniform(5, 40))
            carrier = rng.choice(("dhl", "ups", "post"))
            lines.append((t, _line(t, "Warehouse", cid, "shipped", "parcel handed over", carrier=carrier, **ids)))
    return sorted((moment, line) for moment, line in lines if moment < end)


def write(out: Path, seed: int, hours: int) -> int:
    out.mkdir(parents=True, exist_ok=True)
    lines = generate(seed, hours)
    (out / "orders.jsonl").write_text("".join(line + "\n" for _moment, line in lines), encoding="utf-8")
    return len(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="orders", help="output folder (default orders/)")
    parser.add_argument("--seed", type=int, default=20261001)
    parser.add_argument("--hours", type=int, default=6)
    args = parser.parse_args()
    count = write(Path(args.out), args.seed, args.hours)
    print(f"generated {count} log lines in {args.out}/orders.jsonl")


if __name__ == "__main__":
    main()
