"""``python -m bench.probe_inputs``: what a hostile user of the upload and import paths
tries (issue 12, item 2), against the real thing.

Every file of tests/hostile.py (real documents of ../shared/data broken every way, and
the multi-megabyte ones) goes to ``graphsvc serve`` in its own process over a store with
what ``init`` loads (POST /api/validate, POST /api/control-sets with a token, the
/validate page with its CSRF token) and to the CLI (``load``, ``import oscal``, ``import
crosswalk``, ``validate``): each command in a process of its own, forked from one that
has imported graphsvc already (an exception no one catches prints its traceback and
exits 1, as the installed ``graphsvc`` does). Then the issue's memory cases: an SSP with
its requirements repeated 300 times (1.6 MB) to /api/validate, and as ``graphsvc``
processes a 70 MB N-Triples load, a million-row CSV and a workbook with a 20 MB cell.

Reported per path: hostile inputs tried / accepted / 4xx (or exit 1-3 with a message) /
5xx (or a bare traceback, another exit code, a silent exit) / hangs (no answer in 120 s)
/ peak memory (the server's high-water mark above its resting size, reset before each
request; a CLI process's maximum resident size above the forking one's).

``--code DIR`` runs another checkout's graphsvc (the server and the CLI) with this
checkout's files: ``git archive BASE | tar -x -C DIR`` gives the table before a change.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HANG_S = 120
TOKEN = "probe-token"


@dataclass
class Tally:
    """The outcomes of one path."""

    tried: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    peak_kib: int = 0
    peak_file: str = ""
    bad: list[str] = field(default_factory=list)

    def add(self, outcome: str, kib: int, name: str, detail: str = "") -> None:
        self.tried += 1
        self.outcomes[outcome] += 1
        if kib > self.peak_kib:
            self.peak_kib, self.peak_file = kib, name
        if outcome in ("5xx", "hang"):
            self.bad.append(f"{name}: {detail[:160]}")

    def row(self, path: str) -> str:
        o = self.outcomes
        return (f"| {path} | {self.tried} | {o['ok']} | {o['4xx']} | {o['5xx']} | {o['hang']} "
                f"| {self.peak_kib // 1024} MiB ({self.peak_file}) |")


# ------------------------------------------------------------------ HTTP


class Server:
    """``graphsvc serve`` in its own process; its peak resident size per request."""

    def __init__(self, store: Path, code: Path | None) -> None:
        port = _free_port()
        env = {**os.environ, "GRAPHSVC_LOAD_TOKEN": TOKEN, **_pythonpath(code)}
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import sys; from graphsvc.cli import main; sys.exit(main())",
             "--store", str(store), "serve", "--port", str(port)], env=env,
            stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=5).read()
                break
            except OSError:
                time.sleep(0.1)
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())

    def status(self) -> dict[str, int]:
        text = Path(f"/proc/{self.process.pid}/status").read_text()
        return {k: int(v.split()[0]) for k, v in re.findall(r"^(Vm\w+):\s+(.*)$", text, re.M)}

    def post(self, path: str, name: str, data: bytes, form: dict[str, str]
             ) -> tuple[str, int, str]:
        """(outcome, peak KiB above rest, what was said) of one upload."""
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")  # reset VmHWM
        rest = self.status()["VmRSS"]
        body, boundary = _multipart(name, data, form)
        request = urllib.request.Request(self.url + path, body, {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Authorization": f"Bearer {TOKEN}"})
        try:
            with self.opener.open(request, timeout=HANG_S) as response:
                code, said = response.status, ""
        except urllib.error.HTTPError as error:
            code, said = error.code, error.read()[:300].decode("utf-8", "replace")
        except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
            return "hang", 0, repr(exc)
        peak = max(0, self.status()["VmHWM"] - rest)
        return ("ok" if code < 400 else "4xx" if code < 500 else "5xx"), peak, f"{code} {said}"

    def csrf(self) -> str:
        page = self.opener.open(self.url + "/validate", timeout=60).read().decode()
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def close(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _multipart(name: str, data: bytes, form: dict[str, str]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for key, value in form.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
                  f"{value}\r\n".encode())
    out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
              f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode())
    out.write(data)
    out.write(f"\r\n--{boundary}--\r\n".encode())
    return out.getvalue(), boundary


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pythonpath(code: Path | None) -> dict[str, str]:
    return {"PYTHONPATH": f"{code}{os.pathsep}{ROOT}"} if code else {}


# ------------------------------------------------------------------ CLI


def run_cli(args: list[str]) -> tuple[str, int, str]:
    """(outcome, peak KiB above the forking process, what was said) of one command, in a
    forked process: as the installed ``graphsvc`` would run it."""
    from graphsvc.cli import main

    rest = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    with tempfile.TemporaryFile() as said:
        pid = os.fork()
        if pid == 0:  # the command
            os.dup2(said.fileno(), 2)
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
            try:
                main(args, prog_name="graphsvc")
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
            except BaseException:
                traceback.print_exc()
                code = 1
            sys.stderr.flush()
            os._exit(code)
        waited = _wait(pid, HANG_S)
        if waited is None:
            return "hang", 0, f"no exit in {HANG_S} s"
        status, usage = waited
        said.seek(0)
        text = said.read().decode("utf-8", "replace")
    peak = max(0, usage.ru_maxrss - rest // 1024)
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1, 2, 3) or "Traceback" in text or (code and not text.strip()):
        return "5xx", peak, f"exit {code}: {text[-300:]}"
    return ("ok" if code == 0 else "4xx"), peak, text[:300]


# ------------------------------------------------------------------ the run


def probe(data: Path, code: Path | None, per_base: int) -> None:
    if code:
        sys.path.insert(0, str(code))
    from graphsvc.content import init_store
    from graphsvc.store.embedded import EmbeddedStore
    from tests.hostile import big_ntriples, corpus, heavy_corpus, repeated_ssp

    files = corpus(data, per_base=per_base) + heavy_corpus(data)
    tallies = {k: Tally() for k in ("POST /api/validate", "POST /api/control-sets",
                                    "POST /validate (page)", "CLI load / import",
                                    "CLI validate")}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with EmbeddedStore(folder / "web") as store:
            init_store(store, max_bytes=10**9)
        server = Server(folder / "web", code)
        try:
            for f in files:
                for path, form in (("/api/validate", {}), ("/api/control-sets", {}),
                                   ("/validate", {"csrf_token": server.csrf()})):
                    outcome, kib, said = server.post(path, f.name, f.data, form)
                    key = next(k for k in tallies if path in k)
                    tallies[key].add(outcome, kib, f.name, said)
            ssp = repeated_ssp((data / "oscal-examples/ssp-example.json").read_bytes(), 300)
            start = time.perf_counter()
            outcome, kib, said = server.post("/api/validate", "ssp-x300.json", ssp, {})
            big_ssp = (f"SSP with its requirements repeated 300x ({len(ssp) / 1e6:.1f} MB), "
                       f"POST /api/validate: {said[:3]} in {time.perf_counter() - start:.1f} s, "
                       f"+{kib // 1024} MiB")
        finally:
            server.close()
        os.environ.update({"GRAPHSVC_STORE": str(folder / "cli"), "GRAPHSVC_REMOTE": ""})
        with EmbeddedStore(folder / "cli") as store:
            init_store(store, max_bytes=10**9, demo=False)
        for index, f in enumerate(files):
            path = folder / f.name
            path.write_bytes(f.data)
            command = {"oscal": ["import", "oscal"], "rdf": ["load"],
                       "crosswalk": ["import", "crosswalk"]}[f.kind]
            outcome, kib, said = run_cli([*command, str(path)])
            tallies["CLI load / import"].add(outcome, kib, f.name, said)
            if f.kind != "crosswalk" and index % 2 == 0:
                outcome, kib, said = run_cli(["validate", str(path)])
                tallies["CLI validate"].add(outcome, kib, f.name, said)
            path.unlink()
        big = [big_process(folder, code, "big.nt", b"".join(big_ntriples(500_000)), ["load"])]
        csv = next(f for f in files if f.name == "rows-1m.csv")
        big.append(big_process(folder, code, csv.name, csv.data, ["import", "crosswalk"]))
        cell = next(f for f in files if f.name == "cell-20mb.xlsx")
        big.append(big_process(folder, code, cell.name, cell.data, ["import", "crosswalk"]))

    print(f"hostile inputs: {len(files)} files ({sum(len(f.data) for f in files) / 1e6:.0f} MB),"
          f" graphsvc from {code or ROOT}")
    print("| path | tried | accepted | 4xx / exit 1-3 with a message | 5xx / bare error | "
          "hangs | peak memory (file) |")
    print("|---|---|---|---|---|---|---|")
    for path, tally in tallies.items():
        print(tally.row(path))
    total = Tally()
    for tally in tallies.values():
        total.tried += tally.tried
        total.outcomes += tally.outcomes
        if tally.peak_kib > total.peak_kib:
            total.peak_kib, total.peak_file = tally.peak_kib, tally.peak_file
    print(total.row("**all**"))
    print(f"\n{big_ssp}")
    for line in big:
        print(line)
    for path, tally in tallies.items():
        for bad in tally.bad[:15]:
            print(f"  not held, {path}: {bad}")


def big_process(folder: Path, code: Path | None, name: str, data: bytes, command: list[str]
                ) -> str:
    """A real ``graphsvc`` process on one big file: exit, seconds, maximum resident size."""
    path = folder / name
    path.write_bytes(data)
    label = f"{name} ({len(data) / 1e6:.0f} MB), graphsvc {' '.join(command)}"
    start = time.perf_counter()
    with tempfile.TemporaryFile() as said:
        process = subprocess.Popen(
            [sys.executable, "-c", "import sys; from graphsvc.cli import main; sys.exit(main())",
             *command, str(path)], env={**os.environ, **_pythonpath(code)},
            stdout=subprocess.DEVNULL, stderr=said)
        waited = _wait(process.pid, HANG_S * 5)
        process.returncode = 0  # reaped here, not by Popen
        path.unlink()
        if waited is None:
            return f"{label}: no exit in {HANG_S * 5} s"
        status, usage = waited
        said.seek(0)
        last = (said.read().decode("utf-8", "replace").strip().splitlines() or [""])[-1]
    code_ = os.waitstatus_to_exitcode(status)
    return (f"{label}: exit {code_} in {time.perf_counter() - start:.1f} s, peak "
            f"{usage.ru_maxrss // 1024} MiB{': ' + last[:150] if code_ else ''}")


def _wait(pid: int, timeout: float) -> tuple[int, resource.struct_rusage] | None:
    """(wait status, resource usage) of a child, or None when it was killed at ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, usage
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.wait4(pid, 0)
            return None
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path,
                        default=Path(os.environ.get("GRAPHSVC_TEST_DATA")
                                     or ROOT.parent / "shared" / "data"))
    parser.add_argument("--code", type=Path, help="the checkout whose graphsvc to probe")
    parser.add_argument("--per-base", type=int, default=14,
                        help="wrong-type variants of each real document")
    args = parser.parse_args()
    probe(args.data, args.code.resolve() if args.code else None, args.per_base)


if __name__ == "__main__":
    main()
