"""Configuration fails closed: every ``INDUSTRY_AUTH_*`` key is parsed and checked at
``init_app``, through a real Flask app, Flask-SQLAlchemy and ``IndustryAuth``."""

from pathlib import Path

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_industry_auth import IndustryAuth
from flask_industry_auth.config import DEFAULTS, SETTINGS, ConfigError
from flask_industry_auth.testkit import FAST_ARGON2

#: Real CA certificates (the demo's test hierarchy), as a folder and as PEM bytes.
DEMO_PKI = Path(__file__).resolve().parent.parent / "examples" / "portal" / "demo-pki"
ROOT_PEM = (DEMO_PKI / "root.pem").read_bytes()

EXTERNAL_URL = "https://portal.example.gov.tw"


def build(*, testing=True, **config) -> Flask:
    """A bare app; under TESTING with fast argon2, else with the (strong) defaults."""
    app = Flask("config_test")
    app.config.update(
        SECRET_KEY="x",
        SQLALCHEMY_DATABASE_URI="sqlite://",
        TESTING=testing,
        INDUSTRY_AUTH_EXTERNAL_URL=EXTERNAL_URL,
    )
    if testing is True:
        app.config.update(FAST_ARGON2)
    app.config.update(config)
    IndustryAuth(app, db=SQLAlchemy(app))
    return app


def refused(**config) -> str:
    with pytest.raises(ConfigError) as error:
        build(**config)
    return str(error.value)


# -- type and sanity: refused under TESTING too -------------------------------------------------

BAD = [
    ("INDUSTRY_AUTH_URL_PREFIX", "account"),
    ("INDUSTRY_AUTH_URL_PREFIX", "/account/"),
    ("INDUSTRY_AUTH_URL_PREFIX", None),
    ("INDUSTRY_AUTH_BASE_TEMPLATE", ""),
    ("INDUSTRY_AUTH_BASE_TEMPLATE", None),
    ("INDUSTRY_AUTH_MAX_FAILED_LOGINS", 0),
    ("INDUSTRY_AUTH_MAX_FAILED_LOGINS", True),
    ("INDUSTRY_AUTH_MAX_FAILED_LOGINS", 5.0),
    ("INDUSTRY_AUTH_MAX_FAILED_LOGINS", "five"),
    ("INDUSTRY_AUTH_LOCKOUT_SECONDS", -900),
    ("INDUSTRY_AUTH_LOCKOUT_SECONDS", "-900"),
    ("INDUSTRY_AUTH_LOCKOUT_SECONDS", "15 minutes"),
    ("INDUSTRY_AUTH_LOCKOUT_SECONDS", None),
    ("INDUSTRY_AUTH_REPEAT_APPLICATION_SECONDS", -1),
    ("INDUSTRY_AUTH_REPEAT_APPLICATION_SECONDS", 3601),
    ("INDUSTRY_AUTH_REPEAT_APPLICATION_SECONDS", "5 minutes"),
    ("INDUSTRY_AUTH_ACTIVATION_SECONDS", 0),
    ("INDUSTRY_AUTH_ACTIVATION_SECONDS", "72h"),
    ("INDUSTRY_AUTH_TEMP_PASSWORD_SECONDS", 0),
    ("INDUSTRY_AUTH_TEMP_PASSWORD_SECONDS", 1.5),
    ("INDUSTRY_AUTH_PASSWORD_MIN_LENGTH", 0),
    ("INDUSTRY_AUTH_PASSWORD_MIN_LENGTH", "12 chars"),
    ("INDUSTRY_AUTH_PASSWORD_MAX_LENGTH", 0),
    ("INDUSTRY_AUTH_PASSWORD_MAX_LENGTH", 10),  # below the minimum (12): no password fits
    ("INDUSTRY_AUTH_PASSWORD_HISTORY", -1),
    ("INDUSTRY_AUTH_PASSWORD_HISTORY", "three"),
    ("INDUSTRY_AUTH_ARGON2_TIME_COST", 0),
    ("INDUSTRY_AUTH_ARGON2_TIME_COST", "3.0"),
    ("INDUSTRY_AUTH_ARGON2_MEMORY_COST", 7),
    ("INDUSTRY_AUTH_ARGON2_MEMORY_COST", "64MiB"),
    ("INDUSTRY_AUTH_ARGON2_PARALLELISM", 0),
    ("INDUSTRY_AUTH_ARGON2_PARALLELISM", False),
    ("INDUSTRY_AUTH_EXTERNAL_URL", "portal.example.gov.tw"),
    ("INDUSTRY_AUTH_EXTERNAL_URL", "ftp://portal.example.gov.tw"),
    ("INDUSTRY_AUTH_EXTERNAL_URL", "https://"),
    ("INDUSTRY_AUTH_EXTERNAL_URL", None),  # and no SERVER_NAME
    ("INDUSTRY_AUTH_EXTERNAL_URL", 5),
    ("INDUSTRY_AUTH_MAIL_SENDER", 5),
    ("INDUSTRY_AUTH_MAIL_SENDER", ("Portal",)),
    ("INDUSTRY_AUTH_MAIL_SENDER", ("Portal", "a@example.com", "b@example.com")),
    ("INDUSTRY_AUTH_MAIL_SENDER", ["Portal", 5]),
    ("INDUSTRY_AUTH_MAIL_DELIVERY", "threads"),
    ("INDUSTRY_AUTH_MAIL_DELIVERY", ""),
    ("INDUSTRY_AUTH_MAIL_DELIVERY", None),
    ("INDUSTRY_AUTH_SMTP_TIMEOUT", 0),
    ("INDUSTRY_AUTH_SMTP_TIMEOUT", 2.5),
    ("INDUSTRY_AUTH_SMTP_TIMEOUT", "10s"),
    ("INDUSTRY_AUTH_MAIL_MAX_ATTEMPTS", 0),
    ("INDUSTRY_AUTH_MAIL_MAX_ATTEMPTS", "many"),
    ("INDUSTRY_AUTH_MAIL_CLAIM_SECONDS", 0),
    ("INDUSTRY_AUTH_MAIL_CLAIM_SECONDS", 10),  # not more than the SMTP timeout (10)
    ("INDUSTRY_AUTH_LOCALES", []),
    ("INDUSTRY_AUTH_LOCALES", ""),
    ("INDUSTRY_AUTH_LOCALES", ["fr"]),
    ("INDUSTRY_AUTH_LOCALES", ["en", "en"]),
    ("INDUSTRY_AUTH_LOCALES", "en,fr"),
    ("INDUSTRY_AUTH_LOCALES", "zh_TW"),
    ("INDUSTRY_AUTH_LOCALES", [1]),
    ("INDUSTRY_AUTH_LOCALES", None),
    ("INDUSTRY_AUTH_CERT_TRUST_ANCHORS", 5),
    ("INDUSTRY_AUTH_CERT_TRUST_ANCHORS", True),
    ("INDUSTRY_AUTH_CERT_TRUST_ANCHORS", [5]),
    ("INDUSTRY_AUTH_CERT_TRUST_ANCHORS", {"a": "b"}),
    ("INDUSTRY_AUTH_CERT_BUSINESS_CAS", 5),
    ("INDUSTRY_AUTH_CERT_BUSINESS_CAS", [True]),
    ("INDUSTRY_AUTH_CERT_CITIZEN_CAS", {"a": "b"}),
    ("INDUSTRY_AUTH_CERT_BUSINESS_POLICIES", "not an oid"),
    ("INDUSTRY_AUTH_CERT_BUSINESS_POLICIES", [2]),
    ("INDUSTRY_AUTH_CERT_CITIZEN_POLICIES", "1.02.3"),
    ("INDUSTRY_AUTH_CERT_CITIZEN_POLICIES", {"a": "b"}),
    ("INDUSTRY_AUTH_CERT_ALLOW_ATTACHED_CARDS", "maybe"),
    ("INDUSTRY_AUTH_CERT_CHALLENGE_SECONDS", 0),
    ("INDUSTRY_AUTH_CERT_CHALLENGE_SECONDS", "2m"),
    ("INDUSTRY_AUTH_CERT_REVOCATION", "crl+ocsp"),
    ("INDUSTRY_AUTH_CERT_REVOCATION", None),
    ("INDUSTRY_AUTH_CERT_CRL_URLS", {"CN=MOICA,O=GRCA,C=TW": "http://mirror.example/moica.crl"}),
    ("INDUSTRY_AUTH_CERT_CRL_URLS", {"a1b2c3d4e5f6a7b8": "ftp://mirror.example/moica.crl"}),
    ("INDUSTRY_AUTH_CERT_CRL_URLS", "http://mirror.example/moica.crl"),
    ("INDUSTRY_AUTH_CERT_CRL_URLS", ["http://mirror.example/moica.crl"]),
    ("INDUSTRY_AUTH_CERT_CRL_GRACE_HOURS", -1),
    ("INDUSTRY_AUTH_CERT_CRL_GRACE_HOURS", "24h"),
    ("INDUSTRY_AUTH_CERT_CRL_GRACE_HOURS", 169),
    ("INDUSTRY_AUTH_CERT_OCSP_MAX_AGE_SECONDS", 0),
    ("INDUSTRY_AUTH_CERT_OCSP_MAX_AGE_SECONDS", "1h"),
    ("INDUSTRY_AUTH_HIPKI_URL", "localhost:61161"),
    ("INDUSTRY_AUTH_HIPKI_URL", "ws://localhost:61161"),
    ("INDUSTRY_AUTH_HIPKI_URL", ""),
    ("INDUSTRY_AUTH_HIPKI_URL", None),
    ("INDUSTRY_AUTH_HIPKI_POPUP_PATH", "popupForm"),
    ("INDUSTRY_AUTH_HIPKI_POPUP_PATH", "/signForm"),
    ("INDUSTRY_AUTH_HIPKI_POPUP_PATH", None),
    ("INDUSTRY_AUTH_RATELIMIT_ENABLED", "maybe"),
    ("INDUSTRY_AUTH_RATELIMIT_ENABLED", 2),
    ("INDUSTRY_AUTH_RATELIMIT_ENABLED", None),
    ("INDUSTRY_AUTH_RATELIMIT_STORAGE_URI", ""),
    ("INDUSTRY_AUTH_RATELIMIT_STORAGE_URI", "redis"),
    ("INDUSTRY_AUTH_RATELIMIT_STORAGE_URI", None),
    ("INDUSTRY_AUTH_RATELIMIT_KEY_PREFIX", ""),
    ("INDUSTRY_AUTH_RATELIMIT_KEY_PREFIX", 5),
    ("INDUSTRY_AUTH_RATELIMIT_MEMORY_FALLBACK", "2"),
    ("INDUSTRY_AUTH_RATELIMIT_MEMORY_FALLBACK", None),
    ("INDUSTRY_AUTH_RATELIMIT_STORAGE_TIMEOUT_MS", 0),
    ("INDUSTRY_AUTH_RATELIMIT_STORAGE_TIMEOUT_MS", 0.2),
    ("INDUSTRY_AUTH_RATELIMIT_STORAGE_TIMEOUT_MS", 60000),
    ("INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP", "10/minut"),
    ("INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP", "ten per minute"),
    ("INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP", "0/minute"),
    ("INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP", 10),
    ("INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP", True),
    ("INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT", "5/5minuts"),
    ("INDUSTRY_AUTH_RATELIMIT_REGISTER_PER_IP", "20 a minute"),
    ("INDUSTRY_AUTH_RATELIMIT_RESET_PER_IP", "20/minute;x"),
    ("INDUSTRY_AUTH_RATELIMIT_RESET_PER_ACCOUNT", "5/fortnight"),
    ("INDUSTRY_AUTH_RATELIMIT_RESEND_PER_IP", "twenty/minute"),
    ("INDUSTRY_AUTH_RATELIMIT_CHALLENGE_PER_IP", "30 a minute"),
    ("INDUSTRY_AUTH_RATELIMIT_RESEND_PER_ACCOUNT", "5"),
    ("INDUSTRY_AUTH_TRUSTED_PROXIES", -1),
    ("INDUSTRY_AUTH_TRUSTED_PROXIES", 11),
    ("INDUSTRY_AUTH_TRUSTED_PROXIES", "one"),
    ("INDUSTRY_AUTH_IDLE_TIMEOUT", 0),
    ("INDUSTRY_AUTH_IDLE_TIMEOUT", "30m"),
    ("INDUSTRY_AUTH_SESSION_LIFETIME", 0),
    ("INDUSTRY_AUTH_SESSION_LIFETIME", "12h"),
    ("INDUSTRY_AUTH_SECURE_COOKIES", "nope"),
    ("INDUSTRY_AUTH_SECURE_COOKIES", -1),
    ("INDUSTRY_AUTH_SECURE_COOKIES", None),
    ("INDUSTRY_AUTH_REMEMBER_ME", "maybe"),
    ("INDUSTRY_AUTH_REMEMBER_ME", 2),
    ("INDUSTRY_AUTH_SHARE_LOGIN", "maybe"),
    ("INDUSTRY_AUTH_SHARE_LOGIN", 2),
    ("INDUSTRY_AUTH_CSP", 5),
    ("INDUSTRY_AUTH_CSP", b"default-src 'self'"),
    ("INDUSTRY_AUTH_CSP", ["default-src 'self'"]),
    ("INDUSTRY_AUTH_HSTS_SECONDS", -1),
    ("INDUSTRY_AUTH_HSTS_SECONDS", "1 year"),
    ("INDUSTRY_AUTH_HSTS_SECONDS", True),
    ("INDUSTRY_AUTH_HOME_ENDPOINT", ""),
    ("INDUSTRY_AUTH_HOME_ENDPOINT", None),
    ("INDUSTRY_AUTH_REQUIRE_APPROVAL", "False!"),
    ("INDUSTRY_AUTH_REQUIRE_APPROVAL", 3),
    ("INDUSTRY_AUTH_REQUIRE_APPROVAL", None),
    ("INDUSTRY_AUTH_AUDIT_RETENTION_DAYS", 90),  # the baseline's 6 months, even under TESTING
    ("INDUSTRY_AUTH_AUDIT_RETENTION_DAYS", 179),
    ("INDUSTRY_AUTH_AUDIT_RETENTION_DAYS", "a year"),
    ("INDUSTRY_AUTH_MAIL_RETENTION_DAYS", 0),
    ("INDUSTRY_AUTH_MAIL_RETENTION_DAYS", "a month"),
    ("INDUSTRY_AUTH_MAIL_RETENTION_DAYS", 10**6),
    ("INDUSTRY_AUTH_TIMEZONE", "Taipei"),
    ("INDUSTRY_AUTH_TIMEZONE", ""),
    ("INDUSTRY_AUTH_CALENDAR", "roc"),
]


def test_every_key_has_bad_values():
    assert {key for key, _ in BAD} == set(DEFAULTS)


@pytest.mark.parametrize(("key", "value"), BAD, ids=[f"{k[14:]}={v!r}" for k, v in BAD])
def test_a_bad_value_is_refused_naming_key_and_value(key, value):
    message = refused(**{key: value})
    assert f"{key}={value!r} is refused" in message


def test_a_config_error_is_a_runtime_error():
    # Hosts and older tests catch RuntimeError.
    assert issubclass(ConfigError, RuntimeError)
    with pytest.raises(RuntimeError, match="6 months"):
        build(INDUSTRY_AUTH_AUDIT_RETENTION_DAYS=90)


def test_argon2_memory_must_hold_every_lane():
    message = refused(INDUSTRY_AUTH_ARGON2_MEMORY_COST=15, INDUSTRY_AUTH_ARGON2_PARALLELISM=2)
    assert "INDUSTRY_AUTH_ARGON2_MEMORY_COST=15 is refused" in message


# -- unknown keys -------------------------------------------------------------------------------


def test_a_misspelt_key_is_refused_with_the_nearest_known_one():
    message = refused(INDUSTRY_AUTH_MAX_FAILED_LOGIN=3)
    assert "INDUSTRY_AUTH_MAX_FAILED_LOGIN " in message
    assert "did you mean INDUSTRY_AUTH_MAX_FAILED_LOGINS?" in message


def test_an_unknown_key_without_a_near_one_is_refused():
    message = refused(INDUSTRY_AUTH_XYZZY=1)
    assert "INDUSTRY_AUTH_XYZZY" in message and "did you mean" not in message


def test_other_keys_are_left_alone():
    app = build(INDUSTRYAUTH_SOMETHING=1, MY_INDUSTRY_AUTH_KEY=2)
    assert app.config["MY_INDUSTRY_AUTH_KEY"] == 2


# -- environment strings ------------------------------------------------------------------------

BOOLEAN_KEYS = [
    "INDUSTRY_AUTH_RATELIMIT_ENABLED",
    "INDUSTRY_AUTH_RATELIMIT_MEMORY_FALLBACK",
    "INDUSTRY_AUTH_SECURE_COOKIES",
    "INDUSTRY_AUTH_REMEMBER_ME",
    "INDUSTRY_AUTH_REQUIRE_APPROVAL",
]
BOOLEAN_STRINGS = [
    ("true", True),
    ("False", False),
    (" yes ", True),
    ("NO", False),
    ("on", True),
    ("Off", False),
    ("1", True),
    ("0", False),
]


@pytest.mark.parametrize("key", BOOLEAN_KEYS)
@pytest.mark.parametrize(("raw", "parsed"), BOOLEAN_STRINGS)
def test_boolean_strings_are_parsed(key, raw, parsed):
    assert build(**{key: raw}).config[key] is parsed


def test_flasks_prefixed_environment_variables_are_understood(monkeypatch):
    # from_prefixed_env() JSON-decodes values: "1" arrives as the number 1, "900" as 900.
    monkeypatch.setenv("PORTAL_INDUSTRY_AUTH_REQUIRE_APPROVAL", "1")
    monkeypatch.setenv("PORTAL_INDUSTRY_AUTH_LOCKOUT_SECONDS", "1200")
    monkeypatch.setenv("PORTAL_INDUSTRY_AUTH_LOCALES", '["en", "zh_Hant_TW"]')
    app = Flask("prefixed")
    app.config.from_prefixed_env("PORTAL")
    settings = {k: v for k, v in app.config.items() if k.startswith("INDUSTRY_AUTH_")}
    config = build(**settings).config
    assert config["INDUSTRY_AUTH_REQUIRE_APPROVAL"] is True
    assert config["INDUSTRY_AUTH_LOCKOUT_SECONDS"] == 1200
    assert config["INDUSTRY_AUTH_LOCALES"] == ["en", "zh_Hant_TW"]


def test_trust_settings_from_files_and_folders_are_read_and_kept():
    # Paths, a folder and a list of these, as a deployment writes them.
    config = build(
        INDUSTRY_AUTH_CERT_TRUST_ANCHORS=str(DEMO_PKI / "root.pem"),
        INDUSTRY_AUTH_CERT_BUSINESS_CAS=DEMO_PKI / "moeaca.pem",
        INDUSTRY_AUTH_CERT_CITIZEN_CAS=[str(DEMO_PKI / "moica.pem")],
    ).config
    assert config["INDUSTRY_AUTH_CERT_TRUST_ANCHORS"] == str(DEMO_PKI / "root.pem")
    assert config["INDUSTRY_AUTH_CERT_CITIZEN_CAS"] == [str(DEMO_PKI / "moica.pem")]


def test_trust_anchors_are_read_at_start(tmp_path):
    with pytest.raises(ConfigError, match="INDUSTRY_AUTH_CERT_TRUST_ANCHORS"):
        build(INDUSTRY_AUTH_CERT_TRUST_ANCHORS=str(tmp_path / "missing.pem"))
    (tmp_path / "bad.pem").write_text("not a certificate")
    with pytest.raises(ConfigError, match="readable CA certificates"):
        build(INDUSTRY_AUTH_CERT_TRUST_ANCHORS=str(tmp_path / "bad.pem"))


PARSED = [
    ("INDUSTRY_AUTH_LOCKOUT_SECONDS", "900", 900),
    ("INDUSTRY_AUTH_LOCKOUT_SECONDS", " +1200 ", 1200),
    ("INDUSTRY_AUTH_MAX_FAILED_LOGINS", "3", 3),
    ("INDUSTRY_AUTH_TRUSTED_PROXIES", "2", 2),
    ("INDUSTRY_AUTH_PASSWORD_HISTORY", "0", 0),
    ("INDUSTRY_AUTH_LOCALES", "en, zh_Hant_TW", ["en", "zh_Hant_TW"]),
    ("INDUSTRY_AUTH_LOCALES", "zh_Hant_TW", ["zh_Hant_TW"]),
    ("INDUSTRY_AUTH_LOCALES", ("en",), ["en"]),
    ("INDUSTRY_AUTH_SHARE_LOGIN", None, None),
    ("INDUSTRY_AUTH_SHARE_LOGIN", "auto", None),
    ("INDUSTRY_AUTH_SHARE_LOGIN", "", None),
    ("INDUSTRY_AUTH_SHARE_LOGIN", "true", True),
    ("INDUSTRY_AUTH_SHARE_LOGIN", "off", False),
    ("INDUSTRY_AUTH_SHARE_LOGIN", False, False),
    ("INDUSTRY_AUTH_MAIL_DELIVERY", " Worker ", "worker"),
    ("INDUSTRY_AUTH_MAIL_SENDER", "", None),
    ("INDUSTRY_AUTH_MAIL_SENDER", "portal@example.gov.tw", "portal@example.gov.tw"),
    (
        "INDUSTRY_AUTH_MAIL_SENDER",
        ["Portal", "portal@example.gov.tw"],
        ("Portal", "portal@example.gov.tw"),
    ),
    ("INDUSTRY_AUTH_CSP", "", None),
    ("INDUSTRY_AUTH_CSP", None, None),
    ("INDUSTRY_AUTH_CERT_TRUST_ANCHORS", "", None),
    ("INDUSTRY_AUTH_CERT_BUSINESS_CAS", "", None),
    (
        "INDUSTRY_AUTH_CERT_CITIZEN_POLICIES",
        "2.16.886.101.0.3.3, 1.2.3",
        ["2.16.886.101.0.3.3", "1.2.3"],
    ),
    ("INDUSTRY_AUTH_CERT_BUSINESS_POLICIES", ["2.16.886.101.0.3.3"], ["2.16.886.101.0.3.3"]),
    ("INDUSTRY_AUTH_CERT_ALLOW_ATTACHED_CARDS", "yes", True),
    ("INDUSTRY_AUTH_EXTERNAL_URL", "http://127.0.0.1:5000", "http://127.0.0.1:5000"),
    ("INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP", False, None),
    ("INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP", None, None),
    ("INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP", "", None),
    ("INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP", " OFF ", None),
    ("INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP", " 10 per minute ", "10 per minute"),
    ("INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP", "10/minute;100/hour", "10/minute;100/hour"),
    ("INDUSTRY_AUTH_AUDIT_RETENTION_DAYS", "180", 180),
]


@pytest.mark.parametrize(
    ("key", "raw", "parsed"), PARSED, ids=[f"{k[14:]}={r!r}" for k, r, _ in PARSED]
)
def test_values_are_parsed_and_written_back(key, raw, parsed):
    value = build(**{key: raw}).config[key]
    assert value == parsed and type(value) is type(parsed)


def test_an_empty_external_url_falls_back_to_server_name():
    app = build(INDUSTRY_AUTH_EXTERNAL_URL="", SERVER_NAME="portal.example.gov.tw")
    assert app.config["INDUSTRY_AUTH_EXTERNAL_URL"] is None


def test_the_first_parsed_locale_is_the_default():
    app = build(INDUSTRY_AUTH_LOCALES="en,zh_Hant_TW")
    assert app.config["BABEL_DEFAULT_LOCALE"] == "en"


def test_a_switched_off_rate_limit_is_off_and_the_others_stay():
    app = build(INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP="off")
    assert app.extensions["industry_auth"].limiter is not None
    assert app.config["INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT"] == "10/15minutes"


# -- defaults -----------------------------------------------------------------------------------


def test_the_defaults_pass_outside_testing():
    # SERVER_NAME stands in for the one setting without a usable default.
    app = build(testing=False, INDUSTRY_AUTH_EXTERNAL_URL=None, SERVER_NAME="portal.example")
    assert {key: app.config[key] for key in DEFAULTS} == DEFAULTS
    # Each app gets its own list, so one app cannot change another's locales.
    assert app.config["INDUSTRY_AUTH_LOCALES"] is not DEFAULTS["INDUSTRY_AUTH_LOCALES"]


def test_every_setting_is_documented():
    assert [setting.name for setting in SETTINGS] == list(DEFAULTS)  # no name twice
    assert all(setting.doc.strip() for setting in SETTINGS)


def test_share_login_defaults_to_automatic():
    assert DEFAULTS["INDUSTRY_AUTH_SHARE_LOGIN"] is None


# -- the standards' floors and ceilings: refused outside TESTING, allowed with it ---------------

WEAKER = [
    ("INDUSTRY_AUTH_PASSWORD_MIN_LENGTH", 7),
    ("INDUSTRY_AUTH_PASSWORD_MIN_LENGTH", 2),
    ("INDUSTRY_AUTH_PASSWORD_MAX_LENGTH", 63),
    ("INDUSTRY_AUTH_PASSWORD_HISTORY", 2),
    ("INDUSTRY_AUTH_PASSWORD_HISTORY", 0),
    ("INDUSTRY_AUTH_MAX_FAILED_LOGINS", 6),
    ("INDUSTRY_AUTH_MAX_FAILED_LOGINS", 10),
    ("INDUSTRY_AUTH_LOCKOUT_SECONDS", 899),
    ("INDUSTRY_AUTH_LOCKOUT_SECONDS", 60),
    ("INDUSTRY_AUTH_TEMP_PASSWORD_SECONDS", 59),
    ("INDUSTRY_AUTH_TEMP_PASSWORD_SECONDS", 86401),
    ("INDUSTRY_AUTH_ACTIVATION_SECONDS", 59),
    ("INDUSTRY_AUTH_ACTIVATION_SECONDS", 259201),
    ("INDUSTRY_AUTH_IDLE_TIMEOUT", 59),
    ("INDUSTRY_AUTH_IDLE_TIMEOUT", 1801),
    ("INDUSTRY_AUTH_SESSION_LIFETIME", 43201),
    ("INDUSTRY_AUTH_SESSION_LIFETIME", 1799),  # shorter than the idle timeout (1800)
    ("INDUSTRY_AUTH_CERT_CHALLENGE_SECONDS", 9),
    ("INDUSTRY_AUTH_CERT_CHALLENGE_SECONDS", 601),
]
WEAKER_IDS = [f"{k[14:]}={v!r}" for k, v in WEAKER]


@pytest.mark.parametrize(("key", "value"), WEAKER, ids=WEAKER_IDS)
def test_beyond_the_standard_is_refused_outside_testing(key, value):
    message = refused(testing=False, **{key: value})
    assert f"{key}={value!r} is refused" in message
    assert "only with TESTING" in message


@pytest.mark.parametrize(("key", "value"), WEAKER, ids=WEAKER_IDS)
def test_beyond_the_standard_is_allowed_under_testing(key, value):
    assert build(**{key: value}).config[key] == value


@pytest.mark.parametrize(
    "config",
    [
        {"INDUSTRY_AUTH_PASSWORD_MIN_LENGTH": 8},
        {"INDUSTRY_AUTH_PASSWORD_MIN_LENGTH": 64, "INDUSTRY_AUTH_PASSWORD_MAX_LENGTH": 64},
        {"INDUSTRY_AUTH_PASSWORD_HISTORY": 3},
        {"INDUSTRY_AUTH_MAX_FAILED_LOGINS": 1},
        {"INDUSTRY_AUTH_MAX_FAILED_LOGINS": 5},
        {"INDUSTRY_AUTH_LOCKOUT_SECONDS": 900},
        {"INDUSTRY_AUTH_TEMP_PASSWORD_SECONDS": 60},
        {"INDUSTRY_AUTH_TEMP_PASSWORD_SECONDS": 86400},
        {"INDUSTRY_AUTH_ACTIVATION_SECONDS": 60},
        {"INDUSTRY_AUTH_ACTIVATION_SECONDS": 259200},
        {"INDUSTRY_AUTH_IDLE_TIMEOUT": 60, "INDUSTRY_AUTH_SESSION_LIFETIME": 60},
        {"INDUSTRY_AUTH_SESSION_LIFETIME": 1800},
        {"INDUSTRY_AUTH_SESSION_LIFETIME": 43200},
        {"INDUSTRY_AUTH_CERT_CHALLENGE_SECONDS": 10},
        {"INDUSTRY_AUTH_CERT_CHALLENGE_SECONDS": 600},
        {"INDUSTRY_AUTH_AUDIT_RETENTION_DAYS": 180},
        {"INDUSTRY_AUTH_TRUSTED_PROXIES": 10},
    ],
    ids=lambda config: ",".join(f"{k[14:]}={v}" for k, v in config.items()),
)
def test_the_bounds_themselves_are_accepted_outside_testing(config):
    app = build(testing=False, **config)
    assert all(app.config[key] == value for key, value in config.items())


def test_weak_argon2_is_refused_outside_testing():
    with pytest.raises(ConfigError, match="below the floor"):
        build(testing=False, **FAST_ARGON2)


def test_testing_must_really_be_true_to_relax_the_floors():
    # An environment-driven TESTING="False" is a non-empty string, but not a test run.
    message = refused(testing="False", INDUSTRY_AUTH_PASSWORD_MIN_LENGTH=6)
    assert "INDUSTRY_AUTH_PASSWORD_MIN_LENGTH=6 is refused" in message
    assert build(testing="true", INDUSTRY_AUTH_PASSWORD_MIN_LENGTH=6)


def test_a_per_account_limit_that_shadows_the_lock_message_is_warned_of(caplog):
    with caplog.at_level("WARNING", logger="flask_industry_auth.config"):
        build(INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT="5/5minutes")
    assert "INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT='5/5minutes'" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="flask_industry_auth.config"):
        build()  # the default: above the lockout count
    assert "LOGIN_PER_ACCOUNT" not in caplog.text
