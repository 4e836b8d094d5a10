"""The service's figures: CDS Hooks calls with prefetch over loopback, as docs/service.md has them.

    .venv/bin/python benchmarks/bench.py --serve-only     # this section alone (make bench-serve)
    .venv/bin/python benchmarks/serve_bench.py            # the same, standalone

`netaid serve` runs as its own process (one worker, then two) on a loopback port; the load
comes from this process: C connections (C = 1, 8, 32), each sending the next call as soon as
the last is answered (keep-alive, requests serialised beforehand), for a few seconds after a
warm-up. Two kinds of calls: *known records*, 64 patients called again and again (an EHR
opening the same charts; the mapped case and the discussion are cached), and *new records*,
every call a record the service has not seen (the bundle is read and validated, the case
discussed). Then the target of the issue: an open-loop run at a fixed 200 calls/s of new
records, and its p50/p99. The load generator shares the machine's cores with the service.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SERVICE = "/cds-services/netaid-patient-view"
KINDS = {"Condition": "conditions", "Observation": "observations", "Procedure": "procedures"}


def _records(count: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """(patient id, prefetch) for `count` seeded vignette cases, each about its own patient."""
    from netaid.fhir import bundle_from_case
    from netaid.vignettes import draw_cases

    records = []
    for number, case in enumerate(draw_cases(count, seed=seed)):
        patient = f"bench-{seed}-{number}"
        bundle = bundle_from_case(case.model_copy(update={"title": None}))
        [own] = [e["resource"]["id"] for e in bundle["entry"]
                 if e["resource"]["resourceType"] == "Patient"]  # fmt: skip
        bundle = json.loads(json.dumps(bundle).replace(f"Patient/{own}", f"Patient/{patient}"))
        prefetch: dict[str, Any] = {
            key: {"resourceType": "Bundle", "type": "searchset", "entry": []}
            for key in KINDS.values()
        }
        for entry in bundle["entry"]:
            key = KINDS.get(entry["resource"]["resourceType"])
            if key:
                prefetch[key]["entry"].append(entry)
        records.append((patient, prefetch))
    return records


def _request(port: int, patient: str, prefetch: dict[str, Any]) -> bytes:
    body = json.dumps(
        {
            "hook": "patient-view",
            "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": patient},
            "prefetch": prefetch,
        }
    ).encode()
    head = (
        f"POST {SERVICE} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes
) -> None:
    writer.write(data)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"the service answered {head[:40]!r}")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)


async def _closed_loop(
    port: int, requests: Iterator[bytes], concurrency: int, seconds: float
) -> tuple[int, list[float], float]:
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < stop:
                data = next(requests)
                start = time.perf_counter()
                await _exchange(reader, writer, data)
                latencies.append(time.perf_counter() - start)
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return len(latencies), latencies, time.perf_counter() - start


async def _open_loop(
    port: int, requests: Iterator[bytes], rate: float, seconds: float
) -> tuple[list[float], float]:
    """Calls started at a fixed rate, each on a free connection of a pool."""
    latencies: list[float] = []
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(64):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))

    async def one(data: bytes, due: float) -> None:
        connection = await pool.get()
        await _exchange(*connection, data)
        latencies.append(time.perf_counter() - due)  # from when it was due: no coordinated omission
        pool.put_nowait(connection)

    tasks = []
    start = time.perf_counter()
    for number in range(int(rate * seconds)):
        due = start + number / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(next(requests), due)))
    await asyncio.gather(*tasks)
    took = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait()[1].close()
    return latencies, took


def _process_tree(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split()
        for child in children:
            found.extend(_process_tree(int(child)))
    return found


def _cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by the service: its process and its workers."""
    ticks = 0
    for member in _process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _service(workers: int) -> Iterator[tuple[int, int]]:
    import httpx

    port = _free_port()
    folder = tempfile.mkdtemp(prefix="netaid-serve-bench-")
    command = [sys.executable, "-m", "netaid", "serve", "--port", str(port),
               "--workers", str(workers), "--feedback", f"{folder}/fb.jsonl"]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL, cwd=folder)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("netaid serve did not start")
            time.sleep(0.2)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(30)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _cycle(port: int, records: list[tuple[str, dict[str, Any]]], fresh: bool) -> Iterator[bytes]:
    """Requests for `records` in turn; with `fresh`, each about a patient never seen before."""
    number = 0
    while True:
        patient, prefetch = records[number % len(records)]
        if fresh:
            text = json.dumps(prefetch).replace(f"Patient/{patient}", f"Patient/{patient}-{number}")
            yield _request(port, f"{patient}-{number}", json.loads(text))
        else:
            yield _request(port, patient, prefetch)
        number += 1


def _prepared(requests: Iterator[bytes], count: int) -> Iterator[bytes]:
    """Serialised beforehand, so that the load generator spends its time on the sockets."""
    return itertools.cycle([next(requests) for _ in range(count)])


def serve_section(
    say: Callable[[str], None], *, seconds: float = 4.0, rate: float = 200.0
) -> dict[str, Any]:
    say("")
    say("## The service: CDS Hooks calls with prefetch over loopback")
    load = os.getloadavg()[0]
    say(
        f"- {os.cpu_count()} cores, shared with the load generator; load average {load:.1f} "
        f"at the start; {seconds:g} s per run"
    )
    known = _records(64, seed=11)
    new = _records(200, seed=12)
    figures: dict[str, Any] = {"seconds": seconds, "load_average": round(load, 1), "runs": []}
    for workers in (1, 2):
        with _service(workers) as (port, pid):
            # Warm-up: every known record in every worker (a few times each), and new records.
            asyncio.run(_closed_loop(port, _cycle(port, known, fresh=False), 8, 2.0 * workers))
            asyncio.run(_closed_loop(port, _cycle(port, new[:8], fresh=True), 4, 1.0))
            for kind, fresh, ahead in (("known records", False, 64), ("new records", True, 6000)):
                requests = _prepared(_cycle(port, known if not fresh else new, fresh), ahead)
                for concurrency in (1, 8, 32):
                    cpu = _cpu_seconds(pid)
                    count, latencies, took = asyncio.run(
                        _closed_loop(port, requests, concurrency, seconds)
                    )
                    cpu = _cpu_seconds(pid) - cpu
                    row = {
                        "workers": workers,
                        "records": kind,
                        "concurrency": concurrency,
                        "requests_per_s": round(count / took, 1),
                        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 2),
                        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
                        "service_cpu_ms_per_call": round(cpu / count * 1000, 2),
                    }
                    figures["runs"].append(row)
                    say(
                        f"- {workers} worker{'s' if workers > 1 else ''}, {kind}, concurrency "
                        f"{concurrency:>2}: {row['requests_per_s']:>7.1f} calls/s, "
                        f"p50 {row['p50_ms']:6.2f} ms, p99 {row['p99_ms']:6.2f} ms, "
                        f"service CPU {row['service_cpu_ms_per_call']:.2f} ms/call"
                    )
            for kind, fresh in (("known records", False), ("new records", True)):
                source = _cycle(port, new if fresh else known, fresh=fresh)
                requests = _prepared(source, int(rate * seconds) + 10)
                latencies, took = asyncio.run(_open_loop(port, requests, rate, seconds))
                row = {
                    "workers": workers,
                    "records": kind,
                    "rate": rate,
                    "achieved_per_s": round(len(latencies) / took, 1),
                    "p50_ms": round(_percentile(latencies, 0.50) * 1000, 2),
                    "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
                }
                figures.setdefault("fixed_rate", []).append(row)
                say(
                    f"- {workers} worker{'s' if workers > 1 else ''}, {kind} at a fixed "
                    f"{rate:g} calls/s: p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms "
                    f"(target: p99 under 20 ms)"
                )
    return figures


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds per run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = serve_section(lambda text: print(text, flush=True), seconds=args.seconds)
    if args.json:
        args.json.write_text(json.dumps({"serve": figures}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
