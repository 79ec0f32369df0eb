"""What the three benchmark apps share: settings from the environment, the seed data."""

import os

PASSWORD = "benchmark passphrase 2026"
BUSINESS_ID = "04595257"
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "10000"))
DATABASE = os.environ.get("BENCH_DATABASE", "sqlite:////tmp/bench.sqlite")
ARGON2 = {
    "time_cost": int(os.environ.get("BENCH_ARGON2_T", "3")),
    "memory_cost": int(os.environ.get("BENCH_ARGON2_M", "65536")),
    "parallelism": int(os.environ.get("BENCH_ARGON2_P", "4")),
}


def account_id(n: int) -> str:
    return f"BENCH{n:07d}"
