"""A national-size data set, bulk loaded into PostgreSQL (issue 17).

Accounts go in with ``COPY`` from Python (their names, addresses and valid 統一編號 are made
here); the audit trail and the outbox are made by PostgreSQL itself (``INSERT … SELECT``
over ``generate_series``), with their secondary indexes dropped during the load and built
once after it. The schema is the package's first revision, so that the benchmark can then
time every later migration on full tables.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from benchmarks.apps.common import BUSINESS_ID, account_id

#: The sizes the issue names: every registered company, three years of audit.
NATIONAL = {"accounts": 2_000_000, "audit": 50_000_000, "outbox": 5_000_000}
#: The fixed accounts the benchmark's requests use (``BENCH0000000`` … ``BENCH0000009``).
FIXED = 10
AUDIT_YEARS = 3
#: The load's "now" (naive UTC, as the tables store it): retention jobs count from it.
NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)

# -- realistic Chinese business data ------------------------------------------------------

REGIONS = (
    "台灣 臺北 新北 桃園 新竹 竹北 苗栗 台中 臺中 彰化 南投 雲林 嘉義 台南 臺南 高雄 屏東 "
    "宜蘭 花蓮 台東 基隆 澎湖 金門 中華 亞洲 環球 國際 大中華 東亞 太平洋"
).split()
NAME_CHARS = (
    "永興隆昌盛發達利豐源泰福祥順和德信成華新光明大中東南金寶富貴益美聯合榮宏鴻偉恆億嘉"
    "佳欣鑫鼎冠群匯通全旭晶宇宸亞太立誠正義仁安康健長久友春暉輝揚凱捷勝銘峰嶺川海洋森林"
    "松竹梅蘭菊禾穗田園山水日月星辰雲龍鳳麟鵬展進元開泰興茂盈宜恩惠承啟聖瑞祺禎"
)
INDUSTRIES = (
    "科技 電子 精密 機械 工業 實業 企業 化學 化工 紡織 食品 生技 生物科技 光電 半導體 塑膠 "
    "鋼鐵 營造 建設 貿易 材料 能源 綠能 資訊 通訊 汽車 醫療器材 金屬 五金 模具 印刷 包裝 "
    "環保 製藥 農產 水產 木業 家具 陶瓷 玻璃 橡膠 電機 自動化 航太 工程 機電 電線電纜 精機"
).split()
FORMS = (("股份有限公司", 50), ("有限公司", 35), ("企業社", 7), ("商行", 5), ("工作室", 3))
CITIES = {
    "臺北市": "中正區 大同區 中山區 松山區 大安區 萬華區 信義區 士林區 北投區 內湖區 南港區 文山區",
    "新北市": "板橋區 三重區 中和區 永和區 新莊區 新店區 土城區 蘆洲區 汐止區 樹林區 五股區 林口區",
    "桃園市": "桃園區 中壢區 平鎮區 八德區 楊梅區 蘆竹區 龜山區 大園區 觀音區 新屋區",
    "臺中市": "中區 西區 北區 南屯區 西屯區 北屯區 豐原區 大里區 太平區 清水區 沙鹿區 大甲區",
    "臺南市": "中西區 東區 安平區 永康區 歸仁區 新營區 善化區 安南區 仁德區",
    "高雄市": "前鎮區 苓雅區 三民區 鳳山區 左營區 楠梓區 小港區 岡山區 路竹區 大寮區",
    "新竹市": "東區 北區 香山區",
    "新竹縣": "竹北市 竹東鎮 湖口鄉 新豐鄉 寶山鄉",
    "彰化縣": "彰化市 員林市 鹿港鎮 和美鎮 北斗鎮",
    "基隆市": "仁愛區 信義區 中正區 安樂區",
}
ROADS = (
    "中山路 中正路 民生路 民權路 民族路 復興路 建國路 和平東路 忠孝東路 仁愛路 信義路 光復路 "
    "中華路 成功路 自由路 文化路 公園路 博愛路 林森北路 重慶南路 南京東路 八德路 研發一路 "
    "工業一路 科技路 經國路 環中路 四維路 五福路 青年路 大同路 興業路"
).split()
SECTIONS = ("", "", "一段", "二段", "三段", "四段")
SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴周徐蘇葉莊呂江何蕭羅高潘簡朱鍾彭游詹胡施沈余"
GIVEN = "志明淑芬雅婷家豪建宏俊傑美玲怡君宗翰冠宇佳穎承恩柏睿心妤文彥國華秀英麗珠金龍正雄"
DOMAINS = ("example.com.tw", "example.tw", "example.com", "example.net.tw", "example.org.tw")

#: Accounts by state, per thousand (the default lifecycle's states; deleted keep their row).
STATE_SHARES = (
    ("activated", 860),
    ("requested", 40),
    ("reset", 20),
    ("locked", 10),
    ("disabled", 60),
    ("deleted", 10),
)


def _weighted(rng: random.Random, choices) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


_WEIGHTS = (1, 2, 1, 2, 1, 2, 4)
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # the package's readable symbols


def business_id(n: int) -> str:
    """The ``n``-th of distinct valid 統一編號: a permutation of the 7-digit prefixes, each
    with the check digit that makes the weighted digit sum divisible by 5 (one always does:
    the last weight is 1)."""
    prefix = f"{(n * 7919 + 1_234_567) % 10_000_000:07d}"
    total = sum(sum(divmod(int(d) * w, 10)) for d, w in zip(prefix, _WEIGHTS, strict=True))
    return prefix + str((5 - total % 5) % 5)


def login_id(n: int) -> str:
    """The ``n``-th of distinct random-looking 電子身分帳號 (a bijection of ``n`` onto the
    package's 8-symbol ids: multiplication by a number prime to 31^8)."""
    value, symbols = (n * 1_000_000_007 + 424_242) % 31**8, []
    for _ in range(8):
        value, digit = divmod(value, 31)
        symbols.append(_ALPHABET[digit])
    return "".join(symbols)


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)


def business_name(rng: random.Random) -> str:
    region = rng.choice(REGIONS) if rng.random() < 0.45 else ""
    core = "".join(rng.choice(NAME_CHARS) for _ in range(rng.choice((2, 2, 2, 3))))
    return region + core + rng.choice(INDUSTRIES) + _weighted(rng, FORMS)


def address(rng: random.Random) -> str:
    city = rng.choice(list(CITIES))
    district = rng.choice(CITIES[city].split())
    floor = f"{rng.randint(2, 20)}樓" if rng.random() < 0.5 else ""
    return (
        f"{city}{district}{rng.choice(ROADS)}{rng.choice(SECTIONS)}{rng.randint(1, 399)}號{floor}"
    )


#: Area codes with the first digit and length of their subscriber numbers (and mobiles).
PHONE_PLANS = (
    ("2", "2", 8),
    ("2", "2", 8),
    ("4", "2", 8),
    ("3", "3", 7),
    ("5", "2", 7),
    ("6", "2", 7),
    ("7", "3", 7),
    ("8", "7", 7),
    ("9", "1", 8),
)


def phone(rng: random.Random) -> str:
    area, first, digits = rng.choice(PHONE_PLANS)
    return f"+886{area}{first}{rng.randrange(10 ** (digits - 1)):0{digits - 1}d}"


def account_rows(start: int, stop: int, password_hash: str, seed: int = 2026):
    """Accounts ``start`` … ``stop - 1`` (their ``id`` is the number + 1), as tuples in
    :data:`ACCOUNT_COLUMNS` order; the same numbers always give the same rows."""
    rng = random.Random(seed * 1_000_003 + start)  # noqa: S311 (reproducible data, no secret)
    span = AUDIT_YEARS * 365 * 86400
    for n in range(start, stop):
        if n < FIXED:
            ubn, login, email = BUSINESS_ID, account_id(n), f"user{n}@example.com"
            state, created = "activated", NOW - timedelta(days=400)
        else:
            ubn, login = business_id(n), login_id(n)
            email = f"a{n}@{rng.choice(DOMAINS)}"
            state = _weighted(rng, STATE_SHARES)
            created = NOW - timedelta(seconds=rng.randrange(span))
        activated = None if state == "requested" else created + timedelta(hours=rng.randint(1, 72))
        # Most accounts logged in within the last months; some not for years (disable-idle).
        last_login = None
        if activated is not None and rng.random() < 0.97:
            back = rng.expovariate(1 / 60) if rng.random() < 0.985 else rng.uniform(400, 1000)
            last_login = max(activated, NOW - timedelta(days=back))
        locked_until = None
        if state == "locked" and rng.random() < 0.7:
            locked_until = NOW + timedelta(minutes=rng.randint(1, 15))
        yield (
            n + 1,
            login,
            "non_certificate",
            state,
            business_name(rng) if state != "deleted" else "（已刪除）",
            ubn,
            person(rng),
            person(rng),
            phone(rng),
            str(rng.randint(100, 999)) if rng.random() < 0.2 else None,
            address(rng),
            email,
            email,
            "zh_Hant_TW" if rng.random() < 0.95 else "en",
            password_hash if state != "requested" else None,
            state == "reset",
            hashlib.sha256(f"token{n}".encode()).hexdigest() if state == "requested" else None,
            created + timedelta(days=7) if state == "requested" else None,
            rng.randint(5, 9) if state == "locked" else 0,
            locked_until,
            f"u{n:x}",
            created,
            last_login or activated or created,
            activated,
            last_login,
        )


ACCOUNT_COLUMNS = (
    "id account_id account_type state business_name business_id responsible_person "
    "contact_person phone phone_ext address email email_key locale password_hash "
    "must_change_password activation_token_hash activation_expires_at "
    "failed_logins locked_until session_uniquifier created_at updated_at "
    "activated_at last_login_at"
).split()


# -- audit and outbox, made by PostgreSQL ------------------------------------------------

# (event, outcome, from_state, to_state, weight per 1000)
AUDIT_MIX = (
    ("login", "ok", None, None, 560),
    ("login", "wrong_password", None, None, 110),
    ("login", "locked_temporarily", None, None, 30),
    ("logout", "ok", None, None, 120),
    ("profile_update", "ok", None, None, 30),
    ("change_password", "ok", None, None, 20),
    ("request_reset", "ok", "activated", "reset", 30),
    ("complete_reset", "ok", "reset", "activated", 25),
    ("apply", "ok", None, "requested", 25),
    ("activate", "ok", "requested", "activated", 24),
    ("lock", "ok", "activated", "locked", 10),
    ("unlock", "ok", "locked", "activated", 9),
    ("disable", "ok", "activated", "disabled", 4),
    ("enable", "ok", "disabled", "activated", 2),
    ("certificate_login", "ok", None, None, 1),
)

OUTBOX_MIX = (
    ("activation", "【產業發展署】帳號申請通知", 30),
    ("temporary_password", "【產業發展署】臨時密碼通知", 35),
    ("password_changed", "【產業發展署】密碼變更通知", 20),
    ("account_locked", "【產業發展署】帳號鎖定通知", 10),
    ("profile_changed", "【產業發展署】基本資料變更通知", 5),
)


def _case(values, weights, column: str = "r") -> str:
    """A SQL CASE that picks ``values`` by cumulative ``weights`` of a uniform ``r`` in
    [0, total)."""
    total, parts = 0, []
    for value, weight in zip(values, weights, strict=True):
        total += weight
        literal = "NULL" if value is None else "'" + value.replace("'", "''") + "'"
        parts.append(f"WHEN {column} < {total} THEN {literal}")
    return "CASE " + " ".join(parts) + " END"


def _secondary_indexes(connection, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of ``table``'s indexes that back no constraint."""
    rows = connection.execute(
        sa.text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = :t AND NOT "
            "EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
        ),
        {"t": table},
    )
    return list(rows)


def _load_generated(engine, table: str, total: int, select_sql: str, columns: str, say) -> None:
    chunk = max(100_000, min(2_500_000, total // 8))
    with engine.connect() as connection:
        indexes = _secondary_indexes(connection, table)
        for name, _ in indexes:
            connection.execute(sa.text(f'DROP INDEX "{name}"'))
        connection.commit()

    def insert(start: int) -> None:
        stop = min(total, start + chunk)
        with engine.begin() as connection:
            connection.execute(sa.text("SET LOCAL synchronous_commit = off"))
            connection.execute(sa.text("SET LOCAL work_mem = '256MB'"))
            connection.execute(
                sa.text(f"INSERT INTO {table} ({columns}) {select_sql}"),
                {"start": start + 1, "stop": stop},
            )
        say(f"  {table}: rows {start + 1:,} to {stop:,}")

    # One statement per core: PostgreSQL does not parallelise an INSERT … SELECT itself.
    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(insert, range(0, total, chunk)))
    with engine.connect() as connection:
        connection.execute(sa.text("SET maintenance_work_mem = '1GB'"))
        for _name, definition in indexes:
            connection.execute(sa.text(definition))
        connection.commit()


def load_audit(engine, total: int, accounts: int, say) -> None:
    """``total`` audit rows over :data:`AUDIT_YEARS` years, spread over every account."""
    events, outcomes, froms, tos, weights = zip(*AUDIT_MIX, strict=True)
    seconds = AUDIT_YEARS * 365 * 86400
    # The row number, hashed, picks the account, the event and the time: deterministic.
    select = f"""
        SELECT a.id, a.account_id, {_case(events, weights)}, {_case(froms, weights)},
               {_case(tos, weights)}, {_case(outcomes, weights)},
               '10.' || (g % 250) || '.' || (g % 199) || '.' || (g % 241 + 1),
               CASE WHEN r >= 990 THEN 'staff:clerk' || (g % 40) END, NULL,
               TIMESTAMP '{NOW:%Y-%m-%d %H:%M:%S}' - make_interval(secs => t)
        FROM (
            SELECT g, (hashint4(g::int) & 2147483647) % {accounts} + 1 AS pk,
                   (hashint4(g::int # 12345) & 2147483647) % 1000 AS r,
                   (hashint4(g::int # 54321) & 2147483647) % {seconds} AS t
            FROM generate_series(CAST(:start AS bigint), CAST(:stop AS bigint)) AS g
        ) s JOIN industry_auth_account a ON a.id = s.pk
    """
    columns = (
        "account_pk, account_id, event, from_state, to_state, outcome, client_ip, actor, "
        "detail, created_at"
    )
    _load_generated(engine, "industry_auth_audit", total, select, columns, say)


def load_outbox(engine, total: int, accounts: int, say) -> None:
    """``total`` mails: 97 % sent (bodies erased), 2 % failed, 1 % pending (a few due)."""
    kinds, subjects, weights = zip(*OUTBOX_MIX, strict=True)
    seconds = AUDIT_YEARS * 365 * 86400
    now = f"TIMESTAMP '{NOW:%Y-%m-%d %H:%M:%S}'"
    select = f"""
        SELECT a.id, {_case(kinds, weights, "k")}, a.email, {_case(subjects, weights, "k")},
               CASE WHEN r < 990 THEN NULL ELSE '\\x00'::bytea END,
               CASE WHEN r < 970 THEN 'sent' WHEN r < 990 THEN 'failed' ELSE 'pending' END,
               CASE WHEN r < 970 THEN 1 WHEN r < 990 THEN 8 ELSE 2 END,
               CASE WHEN r < 990 OR r = 999 THEN {now} - make_interval(secs => t)
                    ELSE {now} + make_interval(secs => t % 3600) END,
               NULL,
               CASE WHEN r >= 970 AND r < 990 THEN 'SMTPRecipientsRefused: 550 5.1.1' END,
               {now} - make_interval(secs => t),
               CASE WHEN r < 970 THEN {now} - make_interval(secs => t) + INTERVAL '3 seconds' END
        FROM (
            SELECT g, (hashint4(g::int) & 2147483647) % {accounts} + 1 AS pk,
                   (hashint4(g::int # 777) & 2147483647) % 1000 AS r,
                   (hashint4(g::int # 999) & 2147483647) % 100 AS k,
                   (hashint4(g::int # 4242) & 2147483647) % {seconds} AS t
            FROM generate_series(CAST(:start AS bigint), CAST(:stop AS bigint)) AS g
        ) s JOIN industry_auth_account a ON a.id = s.pk
    """
    columns = (
        "account_pk, kind, recipient, subject, body, status, attempts, next_attempt_at, "
        "claimed_at, last_error, created_at, sent_at"
    )
    _load_generated(engine, "industry_auth_outbox", total, select, columns, say)


def _copy_accounts(job: tuple[str, int, int, str]) -> int:
    """One process's share of the accounts, by ``COPY`` on its own connection."""
    import psycopg

    dsn, start, stop, password_hash = job
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        statement = f"COPY industry_auth_account ({', '.join(ACCOUNT_COLUMNS)}) FROM STDIN"
        with cursor.copy(statement) as copy:
            for row in account_rows(start, stop, password_hash):
                copy.write_row(row)
    return stop - start


def load_accounts(engine, count: int, password_hash: str, say) -> None:
    """``count`` accounts (ids 1 … count), made and copied by one process per core."""
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    step = 250_000
    jobs = [
        (dsn, start, min(count, start + step), password_hash) for start in range(0, count, step)
    ]
    done = 0
    with multiprocessing.get_context("spawn").Pool(os.cpu_count() or 2) as pool:
        for copied in pool.imap_unordered(_copy_accounts, jobs):
            done += copied
            say(f"  industry_auth_account: {done:,} rows")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('industry_auth_account', 'id'), "
                "(SELECT max(id) FROM industry_auth_account))"
            )
        )


def build(engine, sizes: dict[str, int], password_hash: str, say=print) -> dict[str, float]:
    """Fill the package's (empty, first-revision) tables; returns seconds per table."""
    took = {}
    for table, load in (
        ("accounts", lambda: load_accounts(engine, sizes["accounts"], password_hash, say)),
        ("audit", lambda: load_audit(engine, sizes["audit"], sizes["accounts"], say)),
        ("outbox", lambda: load_outbox(engine, sizes["outbox"], sizes["accounts"], say)),
    ):
        started = time.monotonic()
        load()
        took[table] = time.monotonic() - started
    started = time.monotonic()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # The visibility map too: the outbox's due query can then be an index-only scan.
        connection.execute(sa.text("VACUUM ANALYZE"))
    took["vacuum analyze"] = time.monotonic() - started
    return took
