"""The deadline burst's pure helpers (benchmarks/burst.py): no wrk, no PostgreSQL."""

import re
from collections import Counter
from itertools import groupby

from benchmarks.burst import (
    ACCOUNT,
    MIX,
    UID,
    Request,
    lua_body,
    lua_script,
    lua_string,
    predicted_cpu_ms,
    sustained,
    weighted_cycle,
)


def test_the_cycle_holds_each_kind_exactly_its_share():
    cycle = weighted_cycle(MIX)
    assert len(cycle) == 100
    assert Counter(cycle) == dict(MIX)


def test_the_cycle_spreads_the_heavy_kinds():
    cycle = weighted_cycle(MIX)
    # 35 logins in 100 slots: never three in a row, and every 10 slots hold 3 or 4.
    runs = [len(list(group)) for name, group in groupby(cycle) if name == "POST login"]
    assert max(runs) <= 2
    for start in range(0, 100, 10):
        assert Counter(cycle[start : start + 10])["POST login"] in (3, 4)


def test_the_cycle_is_deterministic():
    assert weighted_cycle(MIX) == weighted_cycle(MIX)
    assert weighted_cycle([("a", 1)]) == ["a"]


def test_the_script_sends_the_cycle_and_substitutes_placeholders():
    requests = {
        "page": Request("GET", "/login", cookie="session=abc"),
        "apply": Request("POST", "/register", body=f"email=b{UID}%40example.com&id={ACCOUNT}"),
    }
    script = lua_script(requests, ["page", "page", "apply"], nonce="x1", accounts=1000)
    assert "local cycle = { 1, 1, 2 }" in script
    assert '["Cookie"] = "session=abc"' in script
    assert '["Content-Type"] = "application/x-www-form-urlencoded"' in script
    assert 'function(n) return "email=b" .. uid(n) .. "%40example.com&id=" .. account(n) end' in (
        script
    )
    # Accounts below 100 are the prepared sessions': the rotation starts above them.
    assert re.search(r"string.format\('BENCH%07d', 100 \+ \(n \+ id \* 7919\) % 900\)", script)


def test_the_proportions_of_a_generated_script_are_the_mix():
    names = [name for name, _ in MIX]
    requests = {name: Request("GET", f"/{i}") for i, name in enumerate(names)}
    script = lua_script(requests, weighted_cycle(MIX), nonce="n", accounts=10_000)
    slots = re.search(r"local cycle = \{ ([\d, ]+) \}", script).group(1).split(", ")
    assert Counter(names[int(slot) - 1] for slot in slots) == dict(MIX)


def test_lua_strings_escape_quotes_and_bytes():
    assert lua_string('a"b\\c') == '"a\\34b\\92c"'
    assert lua_string("公") == '"\\229\\133\\172"'
    assert lua_body("plain") == 'function(n) return "plain" end'


def test_the_capacity_rule_weights_each_path_by_its_share():
    alone = {name: {"cpu_ms": 10.0} for name, _ in MIX}
    alone["POST login"] = {"cpu_ms": 110.0}
    assert round(predicted_cpu_ms(alone), 6) == round(10 + 0.35 * 100, 6)


def test_the_sustained_rate_is_the_knee_of_the_error_free_runs():
    sweep = [
        {"connections": 2, "rps": 50.0, "errors": 0},
        {"connections": 4, "rps": 97.0, "errors": 0},
        {"connections": 8, "rps": 100.0, "errors": 0},
        {"connections": 16, "rps": 120.0, "errors": 3},
    ]
    assert sustained(sweep)["connections"] == 4
    assert sustained([{"connections": 2, "rps": 1.0, "errors": 1}]) is None
