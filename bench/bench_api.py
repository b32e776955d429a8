"""API throughput: ``GET /api/v1/<model>?limit=80`` on the production server (gunicorn, two
workers) against a bare Flask route returning a constant, under the same load generator.

    python bench/bench_api.py [--db sqlite|postgresql|all] [--scenario leads|partners|all]
                              [--model bench.lead] [--rows N] [--partners N]
                              [--seconds S] [--clients C] [--client auto|wrk|python]

Two scenarios: ``leads`` pages ``bench.lead`` (eight fields, the bench addon); ``partners``
pages ``res.partner`` with the shipped addons installed, every field (43: addresses,
companies and their contacts, tags, activities; about 80 KB of JSON per page), the page
people actually ask for (target: 1 000 requests/s with the page cache).
One line per scenario, database and setting of the page cache (``api.response_cache``: on, the
default, answers a repeated page from memory while no data changed; off, every request
searches, reads and serialises its records). The three servers run side by side and take
the load in turns (``--rounds``); each line gives the medians and the ratio of each round.

The load generator is ``wrk`` (Debian's package) when it is installed, else a bounded
Python client (keep-alive connections in threads, a fixed duration), which takes CPU from
the servers on a small machine and so understates both figures. Both talk to 127.0.0.1
only. Compare the ratio, not the absolute figures.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from common import (
    ROOT,
    SHIPPED_ADDONS,
    AddonManager,
    bench_database,
    database_kinds,
    emit,
    lead_vals,
    make_config,
    median,
    partner_vals,
    pg_database,
    sqlite_url,
    temp_dir,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(port, path, headers, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not answer 200 on {path}")


def load(port, path, headers, seconds, clients) -> dict:
    """Requests per second from ``clients`` keep-alive connections for ``seconds``."""
    counts, errors = [0] * clients, [0] * clients
    stop = time.monotonic() + seconds

    def client(index):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop:
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    counts[index] += 1
                else:
                    errors[index] += 1
            except OSError:
                errors[index] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {"rps": sum(counts) / elapsed, "requests": sum(counts), "errors": sum(errors)}


def load_wrk(wrk, port, path, headers, seconds, clients) -> dict:
    """The same measure with wrk: one thread, ``clients`` connections."""
    command = [wrk, "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    failed = re.search(r"Socket errors:.*?(\d+) read, (\d+) write, (\d+) timeout", out)
    errors = int(bad.group(1)) if bad else 0
    if failed:
        errors += sum(int(x) for x in failed.groups())
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "rps": rps,
        "requests": total,
        "errors": errors,
        "p50_ms": float(p50.group(1)) * scale[p50.group(2)] if p50 else None,
    }


def serve_kontora(config_file, port):
    env = dict(os.environ, KONTORA_LOG_LEVEL="WARNING")
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "cli.py"),
            "--config",
            str(config_file),
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


BARE_APP = textwrap.dedent(
    """
    from flask import Flask

    app = Flask(__name__)


    @app.route("/constant")
    def constant():
        return {"count": 1, "records": [{"id": 1, "name": "constant"}]}
    """
)


def serve_bare(tmpdir, port):
    (Path(tmpdir) / "bare_app.py").write_text(BARE_APP)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "bare_app:app",
        ],
        cwd=tmpdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="bench.lead")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=4.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="turns of the three servers")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument(
        "--client", choices=("auto", "wrk", "python"), default="auto", help="load generator"
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "all"), default="sqlite")
    parser.add_argument(
        "--scenario",
        choices=("leads", "partners", "all"),
        default="all",
        help="leads: bench.lead, 8 fields; partners: res.partner with the shipped addons, 43 fields",
    )
    parser.add_argument("--partners", type=int, default=8_000, help="partners scenario size")
    args = parser.parse_args(argv)
    wrk = shutil.which("wrk") if args.client != "python" else None
    if args.client == "wrk" and wrk is None:
        parser.error("wrk is not installed (apt-get install wrk)")

    def measure(port, path, headers, seconds):
        if wrk:
            return load_wrk(wrk, port, path, headers, seconds, args.clients)
        return load(port, path, headers, seconds, args.clients)

    for kind in database_kinds(args.db, "api_throughput"):
        if args.scenario in ("leads", "all"):
            run(kind, args, measure, "wrk" if wrk else "python")
        if args.scenario in ("partners", "all"):
            run_partners(kind, args, measure, "wrk" if wrk else "python")


def write_config(config, tmpdir, response_cache) -> Path:
    config_file = tmpdir / f"kontora-{response_cache}.toml"
    config_file.write_text(
        "\n".join(
            [
                "[database]",
                f"url = {json.dumps(config.database_url)}",
                "[addons]",
                f"paths = {json.dumps([str(p) for p in config.addons_paths])}",
                "[jobs]",
                'backend = "immediate"',
                f"sqlite_path = {json.dumps(str(tmpdir / 'jobs.sqlite3'))}",
                "[api]",
                "rate_limit = 0",
                f"response_cache = {response_cache}",
            ]
        )
        + "\n"
    )
    return config_file


def run(kind, args, measure, generator):
    """``bench.lead`` (eight fields) on the bench addon."""
    with bench_database(kind) as (config, registry):
        with registry.transaction() as env:
            partners = env["bench.partner"].create(partner_vals(200))
            env["bench.lead"].create(lead_vals(args.rows, partners.ids))
            key = env.ref("base.user_admin").api_key_create("bench")
        registry.db.close()
        path = f"/api/v1/{args.model}?limit=80"
        rounds = serve_and_load(config, path, key, measure, args)
    report(rounds, kind, args, generator, path=path, rows=args.rows, target=("ratio", 0.4))


def run_partners(kind, args, measure, generator):
    """A realistic page: ``res.partner`` with the shipped addons installed (43 fields: names,
    addresses, contacts of companies, tags, activities), every field of 80 records."""
    with shipped_database(kind) as (config, registry):
        with registry.transaction() as env:
            tags = env["res.partner.category"].create(
                [{"name": name} for name in ("VIP", "Опт", "Розница", "Партнёр", "Дилер")]
            )
            partners = env["res.partner"].create(realistic_partners(args.partners, tags.ids))
            companies = partners.filtered(lambda p: p.is_company)
            contacts = [
                {
                    "name": f"Контакт {i:05d}",
                    "parent_id": companies.ids[i % len(companies)],
                    "function": "Менеджер по закупкам",
                    "email": f"contact{i}@example.ru",
                    "phone": f"+7 495 {1000000 + i:07d}",
                }
                for i in range(args.partners // 4)
            ]
            env["res.partner"].create(contacts)
            key = env.ref("base.user_admin").api_key_create("bench")
        # What autovacuum does on a live database after a bulk load: fresh statistics.
        registry.db.execute_sql("ANALYZE")
        registry.db.close()
        path = "/api/v1/res.partner?limit=80"
        rounds = serve_and_load(config, path, key, measure, args)
    report(
        rounds, kind, args, generator, path=path, rows=args.partners * 5 // 4, target=("rps", 1000)
    )


def realistic_partners(count, tag_ids) -> list[dict]:
    cities = ("Москва", "Санкт-Петербург", "Казань", "Екатеринбург", "Новосибирск")
    forms = ("ООО", "АО", "ИП")
    result = []
    for i in range(count):
        company = i % 3 != 0
        result.append(
            {
                "name": f"{forms[i % 3]} «Партнёр {i:05d}»" if company else f"Иванов Пётр {i:05d}",
                "is_company": company,
                "email": f"info{i}@partner{i}.ru",
                "phone": f"+7 495 {i:07d}",
                "street": f"ул. Ленина, д. {i % 200 + 1}",
                "city": cities[i % len(cities)],
                "zip": f"{101000 + i % 900}",
                "website": f"https://partner{i}.ru" if company else None,
                "category_id": [(6, 0, [tag_ids[i % len(tag_ids)]])] if i % 2 else [],
            }
        )
    return result


@contextlib.contextmanager
def shipped_database(kind):
    """``(config, registry)`` on a fresh database with the shipped addons installed."""
    with temp_dir() as tmpdir:
        url_cm = contextlib.nullcontext(sqlite_url(tmpdir)) if kind == "sqlite" else pg_database()
        with url_cm as url:
            config = make_config(url, paths=[SHIPPED_ADDONS], tmpdir=tmpdir)
            registry = AddonManager(config).install(["contacts", "calendar", "crm_leads"])
            try:
                yield config, registry
            finally:
                if not registry.db.is_closed():
                    registry.db.close()


def serve_and_load(config, path, key, measure, args) -> dict:
    """Three servers side by side: the bare Flask route, and the API with its page cache (the
    production default: a repeated page is answered from memory while no data changed) and
    without (every request searches, reads and serialises 80 records). The load goes to one
    at a time, in turns, so that all three share the machine's state (other load, CPU
    frequency) and each round gives its own ratios."""
    tmpdir = Path(config["jobs.sqlite_path"]).parent
    headers = {"Authorization": f"Bearer {key}"}
    servers, processes = {}, []
    try:
        port = free_port()
        processes.append(serve_bare(tmpdir, port))
        servers["bare"] = (port, "/constant", {})
        for label, size in (("cached", 256), ("uncached", 0)):
            port = free_port()
            processes.append(serve_kontora(write_config(config, tmpdir, size), port))
            servers[label] = (port, path, headers)
        for port, url, hdrs in servers.values():
            wait_ready(port, url, hdrs)
            measure(port, url, hdrs, 1.0)  # warm-up
        rounds = {label: [] for label in servers}
        for _round in range(args.rounds):
            for label, (port, url, hdrs) in servers.items():
                rounds[label].append(measure(port, url, hdrs, args.seconds))
    finally:
        for process in processes:
            stop(process)
    return rounds


def report(rounds, kind, args, generator, path, rows, target):
    bare = rounds["bare"]
    measure, goal = target
    for label in ("cached", "uncached"):
        api = rounds[label]
        ratios = [a["rps"] / b["rps"] if b["rps"] else 0.0 for a, b in zip(api, bare, strict=True)]
        ratio = median(ratios)
        rps = median([a["rps"] for a in api])
        emit(
            "api_throughput",
            db=kind,
            path=path,
            rows=rows,
            page_cache=label == "cached",
            workers=2,
            load_generator=generator,
            clients=args.clients,
            seconds=args.seconds,
            rounds=args.rounds,
            api_rps=rps,
            api_errors=sum(a["errors"] for a in api),
            api_p50_ms=median([a.get("p50_ms") or 0.0 for a in api]),
            bare_flask_rps=median([b["rps"] for b in bare]),
            bare_p50_ms=median([b.get("p50_ms") or 0.0 for b in bare]),
            ratio=ratio,
            ratios=[round(r, 3) for r in ratios],
            **{f"target_{measure}": goal},
            meets_target=(ratio if measure == "ratio" else rps) >= goal,
        )


if __name__ == "__main__":
    main()
