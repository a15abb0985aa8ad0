"""Behind a proxy: only the proxy's X-Forwarded-For hop is believed, and the owner's device is not locked out."""
from __future__ import annotations


import pytest
from fastapi.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from restore_dagster.cli import build_parser, proxy_options
from restore_dagster.viewer.accounts import LoginLimiter
from restore_dagster_tests.viewer.conftest import OWNER_PASSWORD, csrf_of

PROXY = "127.0.0.1"


def _behind_proxy(app, argv=("serve", "--behind-proxy")) -> TestClient:
    """The app as uvicorn serves it with the CLI's proxy options, reached through the proxy's address."""
    options = proxy_options(build_parser().parse_args(list(argv)))
    assert options["proxy_headers"] is True
    return TestClient(ProxyHeadersMiddleware(app, trusted_hosts=options["forwarded_allow_ips"]), client=(PROXY, 40000))


def _login(client: TestClient, password: str, spoofed: str, real: str):
    # A proxy appends the address it saw to whatever X-Forwarded-For the client sent.
    return client.post("/login", data={"password": password, "csrf_token": csrf_of(client)},
                       headers={"X-Forwarded-For": f"{spoofed}, {real}"}, follow_redirects=False)


def test_a_spoofed_forwarded_for_does_not_escape_the_per_address_limit(app):
    attacker = _behind_proxy(app)
    for i in range(5):
        assert _login(attacker, "guess", f"10.0.0.{i}", "203.0.113.7").status_code == 401
    assert _login(attacker, "guess", "10.0.0.99", "203.0.113.7").status_code == 429
    assert _login(attacker, OWNER_PASSWORD, "10.9.9.9", "203.0.113.7").status_code == 429
    # Someone else behind the same proxy is not this attacker.
    assert _login(_behind_proxy(app), OWNER_PASSWORD, "", "198.51.100.2").status_code == 303


def test_proxy_ip_option_and_refusal_of_trusting_everyone():
    parse = build_parser().parse_args
    assert proxy_options(parse(["serve"])) == {"proxy_headers": False}
    assert proxy_options(parse(["serve", "--behind-proxy"]))["forwarded_allow_ips"] == ["127.0.0.1"]
    assert proxy_options(parse(["serve", "--behind-proxy", "--proxy-ip", "10.0.0.2, 10.0.0.3"]))["forwarded_allow_ips"] == ["10.0.0.2", "10.0.0.3"]
    with pytest.raises(SystemExit):
        proxy_options(parse(["serve", "--behind-proxy", "--proxy-ip", "*"]))


def test_the_owners_known_device_logs_in_while_the_global_cap_is_hit(app):
    phone = _behind_proxy(app)
    assert _login(phone, OWNER_PASSWORD, "", "198.51.100.2").status_code == 303
    assert phone.cookies.get("restore_device")
    phone.post("/logout", data={"csrf_token": csrf_of(phone)})
    # A guesser with 40 real addresses trips the global cap of 30.
    for i in range(40):
        _login(_behind_proxy(app), "guess", "", f"203.0.113.{i}")
    stranger = _behind_proxy(app)
    assert _login(stranger, OWNER_PASSWORD, "", "192.0.2.50").status_code == 429  # a new device waits
    assert _login(phone, OWNER_PASSWORD, "", "198.51.100.2").status_code == 303  # the owner's phone does not
    # A made-up device cookie is no way past the cap.
    forger = _behind_proxy(app)
    forger.cookies.set("restore_device", "A" * 43)
    assert _login(forger, OWNER_PASSWORD, "", "192.0.2.51").status_code == 429


def test_a_known_device_still_has_its_own_limit():
    now = [0.0]
    limiter = LoginLimiter(per_client=2, overall=3, window_s=60, clock=lambda: now[0])
    for address in ("a", "b", "c"):
        limiter.failed(address)
    assert limiter.retry_after("d") > 0 and limiter.retry_after("d", device="device:1") == 0
    limiter.failed("d", device="device:1")
    limiter.failed("d", device="device:1")
    assert limiter.retry_after("d", device="device:1") > 0 and limiter.retry_after("e", device="device:2") == 0
