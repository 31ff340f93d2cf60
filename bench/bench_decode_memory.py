"""Peak memory of the decompression path on hostile records, against the ingest function's 1,024 MB.

Run by hand (not in CI): `.venv/bin/python bench/bench_decode_memory.py`. Each case runs in a fresh child
process that imports the decoder, decodes one Kinesis record and reports its peak RSS (VmHWM; not
ru_maxrss, which Linux carries over from the forking parent across exec): memory
is measured, not timed. The "unbounded" case is the decoder before #12 (`zlib.decompress` of the whole
payload), run in the same invocation so the ratio is from one run. Median and spread of the repeats.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

FUNCTION_MB = 1024
ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import base64, json, sys, zlib
sys.path.insert(0, {root!r})
def peak_kb():
    return int(next(line for line in open("/proc/self/status") if line.startswith("VmHWM:")).split()[1])
from processors.decoding import decode_record
record = json.load(open({path!r}))
before = peak_kb()
if {mode!r} == "bounded":
    decoded = decode_record(record)
    outcome = dict(decoded.skips) or len(decoded.events)
elif {mode!r} == "unbounded":  # the decoder before #12: inflate the whole payload, then parse it
    data = zlib.decompress(base64.b64decode(record["kinesis"]["data"]), zlib.MAX_WBITS | 32)
    outcome = len(data)
    if len(data) <= 64 << 20:  # parsing a GiB of JSON would take this shared machine's memory: inflate only
        outcome = len(json.loads(data)["logEvents"])
else:
    outcome = "imports only"
peak = peak_kb()
print(json.dumps({{"before_mb": before / 1024, "peak_mb": peak / 1024, "outcome": str(outcome)}}))
"""


def gzip_bomb(inflated_mb: int) -> bytes:
    """A CloudWatch-looking gzip payload of `inflated_mb` MiB that compresses ~1,000:1."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    parts = [compressor.compress(b'{"messageType": "DATA_MESSAGE", "logGroup": "g", "logEvents": [')]
    chunk = b" " * (1 << 20)
    parts += [compressor.compress(chunk) for _ in range(inflated_mb)]
    return b"".join(parts) + compressor.compress(b"]}") + compressor.flush()


def event_flood(inflated_mb: int) -> bytes:
    """Valid JSON just under the inflate cap holding as many minimal log events as fit (far over 10,000)."""
    event = b'{"id":"","timestamp":0,"message":""},'
    count = (inflated_mb * (1 << 20) - 100) // len(event)
    body = b'{"messageType":"DATA_MESSAGE","logGroup":"g","logEvents":[' + event * count
    return _gzip(body.rstrip(b",") + b"]}")


def _gzip(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return compressor.compress(data) + compressor.flush()


def kinesis_record(data: bytes) -> dict[str, object]:
    return {
        "kinesis": {"sequenceNumber": "1", "data": base64.b64encode(data).decode(),
                    "approximateArrivalTimestamp": 1790812800.0, "partitionKey": "pk"},
        "eventID": "shardId-000000000000:1",
        "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/bench",
    }


def measure(path: Path, mode: str) -> dict[str, object]:
    code = CHILD.format(root=str(ROOT), path=str(path), mode=mode)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bomb-mb", type=int, default=1024, help="what the gzip bomb inflates to (MiB)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cases = {
            f"gzip bomb, {args.bomb_mb} MiB inflated": gzip_bomb(args.bomb_mb),
            "valid JSON, 8 MiB of minimal log events": event_flood(8),
        }
        print(f"peak RSS of one child process (MB; median [min-max] of {args.repeats}); function size {FUNCTION_MB} MB")
        for name, payload in cases.items():
            path = Path(tmp) / "record.json"
            path.write_text(json.dumps(kinesis_record(payload)))
            print(f"\n{name}: {len(payload) / 1024:,.0f} KiB compressed")
            for mode in ("imports", "bounded", "unbounded"):
                runs = [measure(path, mode) for _ in range(args.repeats)]
                peaks = [float(r["peak_mb"]) for r in runs]  # type: ignore[arg-type]
                median = statistics.median(peaks)
                label = {"imports": "interpreter + decoder imports, record loaded",
                         "bounded": "decode_record (streaming inflate, 8 MiB cap)",
                         "unbounded": "whole-payload zlib.decompress (+ json.loads ≤ 64 MiB), pre-#12"}[mode]
                print(f"  {label:<52} {median:8.1f} [{min(peaks):.1f}-{max(peaks):.1f}]  "
                      f"{100 * median / FUNCTION_MB:5.1f}% of {FUNCTION_MB} MB   -> {runs[0]['outcome']}")


if __name__ == "__main__":
    main()
