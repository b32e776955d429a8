"""Server-side web sessions: revocation (sign-out, other sessions, administrators, password
change, archiving), idle expiry, pruning, the REST API's cookie path, query counts and the
secrecy of the session key hash."""

from __future__ import annotations

import datetime
import json
import logging
import re

import pytest
from web_support import add_salesmen, fx_web_site
from web_support import signed_in as fx_signed_in

from core.base.security import hash_secret
from core.http.app import create_app
from core.orm.support import utcnow

ADMIN_PASSWORD = "admin-secret-1"
ALICE_PASSWORD = "alice-secret-1"
BOB_PASSWORD = "bob-secret-1"


@pytest.fixture
def app(registry, config):
    with registry.transaction() as env:
        env.ref("base.user_admin").set_password(ADMIN_PASSWORD)
        for login, password in (("alice", ALICE_PASSWORD), ("bob", BOB_PASSWORD)):
            user = env["res.users"].create(
                {
                    "name": login.title(),
                    "login": login,
                    "groups_id": [(6, 0, [env.ref("base.group_user").id])],
                }
            )
            user.set_password(password)
    return create_app(config)


PASSWORDS = {"admin": ADMIN_PASSWORD, "alice": ALICE_PASSWORD, "bob": BOB_PASSWORD}


def token_in(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def sign_in(app, login, **headers):
    """A new browser signed in as ``login``."""
    client = app.test_client()
    page = client.get("/web/login")
    response = client.post(
        "/web/login",
        data={"login": login, "password": PASSWORDS[login], "csrf_token": token_in(page)},
        headers=headers,
    )
    assert response.status_code == 302, f"{login} could not sign in"
    return client


def session_of(client) -> dict:
    with client.session_transaction() as session:
        return dict(session)


def copy_of(app, client):
    """Another browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def signed_in_ok(client) -> bool:
    return client.get("/").status_code == 200


def api_ok(client) -> bool:
    status = client.get("/api/v1/res.users?fields=login").status_code
    assert status in (200, 401), status
    return status == 200


def logout(client):
    response = client.post("/web/logout", data={"csrf_token": session_of(client)["csrf_token"]})
    assert response.status_code == 302


def sessions_of(registry, login, active_only=True) -> list[dict]:
    with registry.transaction(write=False) as env:
        Session = env["res.users.session"].sudo()
        if not active_only:
            Session = Session.with_context(active_test=False)
        found = Session.search([("user_id.login", "=", login)], order="id")
        return found.read(["create_date", "last_seen", "ip", "user_agent", "active"])


def set_last_seen(registry, session_id, when):
    table = registry.tables["res.users.session"]
    with registry.transaction():
        table.update(last_seen=when).where(table.id == session_id).execute()


# -- a copied cookie --------------------------------------------------------------------------------


def test_a_copied_cookie_works_until_sign_out_then_neither_page_nor_api_accepts_it(app, registry):
    alice = sign_in(app, "alice", **{"User-Agent": "Mozilla/5.0 (X11; Linux) Firefox/128.0"})
    [row] = sessions_of(registry, "alice")
    assert row["user_agent"].endswith("Firefox/128.0") and row["ip"] == "127.0.0.1"
    assert session_of(alice)["sid"] == row["id"]
    cookie = alice.get_cookie("session").value

    thief = copy_of(app, alice)
    assert signed_in_ok(thief) and api_ok(thief)

    logout(alice)
    assert not signed_in_ok(alice)
    assert sessions_of(registry, "alice") == []
    assert [r["active"] for r in sessions_of(registry, "alice", active_only=False)] == [False]
    # The thief's old cookie, sent again exactly as copied: refused by pages and the API.
    for check in (signed_in_ok, api_ok):
        replay = app.test_client()
        replay.set_cookie("session", cookie)
        assert not check(replay)
    refused = app.test_client()
    refused.set_cookie("session", cookie)
    response = refused.get("/api/v1/res.users")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert refused.get("/").headers["Location"] == "/web/login?next=/"


def test_a_cookie_without_a_server_side_session_is_refused(app):
    """A cookie signed with the right secret but naming no session (an old-style cookie, or a
    hand-made one) does not sign in."""
    alice = sign_in(app, "alice")
    values = session_of(alice)
    for broken in (
        {k: v for k, v in values.items() if k not in ("sid", "skey")},
        {**values, "skey": "guessed"},
        {**values, "sid": values["sid"] + 1000},
    ):
        other = app.test_client()
        with other.session_transaction() as session:
            session.update(broken)
        assert not signed_in_ok(other) and not api_ok(other)
    assert signed_in_ok(alice)


def test_someone_elses_session_id_with_my_uid_is_refused(app):
    alice, bob = sign_in(app, "alice"), sign_in(app, "bob")
    mixed = app.test_client()
    with mixed.session_transaction() as session:
        session.update({**session_of(bob), "sid": session_of(alice)["sid"]})
    assert not signed_in_ok(mixed)
    with mixed.session_transaction() as session:
        session.update({**session_of(alice), "uid": session_of(bob)["uid"]})
    assert not signed_in_ok(mixed)
    assert signed_in_ok(alice) and signed_in_ok(bob)


# -- one's own sessions -----------------------------------------------------------------------------


def test_sign_out_other_sessions_keeps_the_current_one(app, registry):
    here = sign_in(app, "alice", **{"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/126.0"})
    phone = sign_in(app, "alice", **{"User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/1"})
    laptop = sign_in(app, "alice")
    bob = sign_in(app, "bob")

    page = here.get("/web/settings/sessions")
    assert page.status_code == 200
    assert page.text.count("data-session=") == 3  # Bob's session is not listed
    assert "This session" in page.text and "Chrome, Windows" in page.text
    assert "Chrome, Android" in page.text and "127.0.0.1" in page.text
    assert "My sessions" in page.text  # the menu entry

    # One session signed out by its row.
    phone_id = session_of(phone)["sid"]
    done = here.post(
        "/web/settings/sessions", data={"csrf_token": token_in(page), "revoke": phone_id}
    )
    assert done.status_code == 302
    assert not signed_in_ok(phone) and signed_in_ok(laptop)
    # Another user's session cannot be signed out from here.
    refused = here.post(
        "/web/settings/sessions",
        data={"csrf_token": token_in(page), "revoke": session_of(bob)["sid"]},
    )
    assert refused.status_code == 404
    assert signed_in_ok(bob)

    done = here.post("/web/settings/sessions", data={"csrf_token": token_in(page), "others": "1"})
    assert done.status_code == 302
    page = here.get("/web/settings/sessions")
    assert "Other sessions signed out: 1." in page.text
    assert page.text.count("data-session=") == 1 and "This session" in page.text
    assert signed_in_ok(here) and not signed_in_ok(laptop) and signed_in_ok(bob)
    assert [r["id"] for r in sessions_of(registry, "alice")] == [session_of(here)["sid"]]


def test_sessions_page_in_russian(app, registry):
    with registry.transaction() as env:
        env["res.users"].search([("login", "=", "alice")]).write({"lang": "ru"})
    alice = sign_in(app, "alice")
    page = alice.get("/web/settings/sessions").text
    for text in ("Мои сеансы", "Завершить другие сеансы", "Последняя активность", "Этот сеанс"):
        assert text in page


def test_users_read_only_their_own_sessions_through_the_api(app, registry):
    alice, _bob, admin = sign_in(app, "alice"), sign_in(app, "bob"), sign_in(app, "admin")
    mine = alice.get("/api/v1/res.users.session").get_json()
    assert [r["user_id"]["display_name"] for r in mine["records"]] == ["Alice"]
    everyone = admin.get("/api/v1/res.users.session?fields=user_id").get_json()
    assert sorted(r["user_id"]["display_name"] for r in everyone["records"]) == [
        "Administrator",
        "Alice",
        "Bob",
    ]
    # Nobody writes sessions directly (a revoked one cannot be reopened), not even admins.
    sid = session_of(alice)["sid"]
    headers = {"X-CSRF-Token": session_of(admin)["csrf_token"]}
    patched = admin.patch(
        f"/api/v1/res.users.session/{sid}", json={"active": True}, headers=headers
    )
    assert patched.status_code == 403
    assert admin.delete(f"/api/v1/res.users.session/{sid}", headers=headers).status_code == 403
    # Alice may end her own session through the API, not Bob's.
    bob_sid = sessions_of(registry, "bob")[0]["id"]
    alice_headers = {"X-CSRF-Token": session_of(alice)["csrf_token"]}
    response = alice.post(
        f"/api/v1/res.users.session/{bob_sid}/action_revoke", headers=alice_headers
    )
    assert response.status_code == 404
    assert len(sessions_of(registry, "bob")) == 1


# -- administrators -------------------------------------------------------------------------------


def test_admin_ends_all_sessions_of_a_user_from_the_users_settings(app, registry):
    first, second = sign_in(app, "alice"), sign_in(app, "alice")
    bob, admin = sign_in(app, "bob"), sign_in(app, "admin")
    alice_id = session_of(first)["uid"]

    form = admin.get(f"/web/res.users/{alice_id}")
    assert form.status_code == 200
    assert 'data-call="action_end_sessions"' in form.text and "End all sessions" in form.text
    listing = admin.get("/web/res.users.session?action=base.action_sessions")
    assert listing.status_code == 200 and "Alice" in listing.text and "Bob" in listing.text

    # A user who is not an administrator cannot end someone else's sessions.
    refused = bob.post(
        f"/web/res.users/{alice_id}/call/action_end_sessions",
        json={},
        headers={"X-CSRF-Token": session_of(bob)["csrf_token"]},
    )
    assert refused.status_code == 403
    assert signed_in_ok(first) and signed_in_ok(second)

    done = admin.post(
        f"/web/res.users/{alice_id}/call/action_end_sessions",
        json={},
        headers={"X-CSRF-Token": session_of(admin)["csrf_token"]},
    )
    assert done.status_code == 200 and done.get_json()["ok"] is True
    assert not signed_in_ok(first) and not signed_in_ok(second)
    assert signed_in_ok(admin) and signed_in_ok(bob)
    assert sessions_of(registry, "alice") == []
    # She signs in again normally.
    assert signed_in_ok(sign_in(app, "alice"))


# -- password change and archiving ------------------------------------------------------------------


def test_password_change_ends_other_sessions_and_rotates_this_one(app, registry):
    here, elsewhere = sign_in(app, "alice"), sign_in(app, "alice")
    old_cookie_copy = copy_of(app, here)
    old_sid = session_of(here)["sid"]
    changed = here.post(
        "/web/password",
        data={
            "csrf_token": session_of(here)["csrf_token"],
            "current_password": ALICE_PASSWORD,
            "new_password": "alice-new-secret",
            "confirm_password": "alice-new-secret",
        },
    )
    assert changed.status_code == 302
    assert signed_in_ok(here) and session_of(here)["sid"] != old_sid
    assert not signed_in_ok(elsewhere)
    assert not signed_in_ok(old_cookie_copy)  # the cookie from before the change is dead
    assert [r["id"] for r in sessions_of(registry, "alice")] == [session_of(here)["sid"]]

    # A password set by someone else (an administrator, the CLI) ends every session.
    with registry.transaction() as env:
        env["res.users"].search([("login", "=", "alice")]).set_password("set-by-admin-1")
    assert not signed_in_ok(here)
    assert sessions_of(registry, "alice") == []


def test_archived_users_sessions_end_and_stay_ended_when_unarchived(app, registry):
    alice = sign_in(app, "alice")
    copy = copy_of(app, alice)
    with registry.transaction() as env:
        env["res.users"].search([("login", "=", "alice")]).write({"active": False})
    assert sessions_of(registry, "alice") == []
    with registry.transaction() as env:
        users = env["res.users"].with_context(active_test=False)
        users.search([("login", "=", "alice")]).write({"active": True})
    assert not signed_in_ok(alice) and not signed_in_ok(copy) and not api_ok(copy)


# -- idle expiry, last seen, pruning -------------------------------------------------------------------


def test_an_idle_session_expires_after_the_configured_days(registry, config):
    app = create_app(config.replace(server__session_idle_days=3))
    with registry.transaction() as env:
        env.ref("base.user_admin").set_password(ADMIN_PASSWORD)
    admin = sign_in(app, "admin")
    sid = session_of(admin)["sid"]
    now = utcnow()

    set_last_seen(registry, sid, now - datetime.timedelta(days=2, hours=23))
    assert signed_in_ok(admin)  # still within 3 days, and seen again now
    [row] = sessions_of(registry, "admin")
    assert now - datetime.timedelta(seconds=5) <= row["last_seen"] <= utcnow()

    set_last_seen(registry, sid, now - datetime.timedelta(days=3, minutes=1))
    copy = copy_of(app, admin)
    assert not signed_in_ok(admin) and not api_ok(copy)
    assert "sid" not in session_of(admin)
    assert sessions_of(registry, "admin")[0]["id"] == sid  # expired, left for the prune job


def test_default_idle_time_is_fourteen_days(app, registry, config):
    assert config["server.session_idle_days"] == 14
    alice = sign_in(app, "alice")
    sid = session_of(alice)["sid"]
    set_last_seen(registry, sid, utcnow() - datetime.timedelta(days=13, hours=23))
    assert signed_in_ok(alice)
    set_last_seen(registry, sid, utcnow() - datetime.timedelta(days=14, minutes=1))
    assert not signed_in_ok(alice)


def test_last_seen_is_written_at_most_once_a_minute(app, registry):
    alice = sign_in(app, "alice")
    sid = session_of(alice)["sid"]
    seen = sessions_of(registry, "alice")[0]["last_seen"]
    table = registry.tables["res.users.session"]
    with registry.transaction():
        written = table.select(table.write_date).where(table.id == sid).scalar()
    for _ in range(3):
        assert signed_in_ok(alice)
    assert sessions_of(registry, "alice")[0]["last_seen"] == seen
    set_last_seen(registry, sid, seen - datetime.timedelta(seconds=61))
    assert signed_in_ok(alice)
    assert sessions_of(registry, "alice")[0]["last_seen"] >= seen
    with registry.transaction():  # a plain UPDATE: no write_date, no history
        assert table.select(table.write_date).where(table.id == sid).scalar() == written


def test_the_prune_job_deletes_expired_and_old_revoked_sessions(app, registry):
    clients = {
        name: sign_in(app, "alice")
        for name in ("keep", "expired", "revoked_long_ago", "revoked_now")
    }
    ids = {name: session_of(client)["sid"] for name, client in clients.items()}
    set_last_seen(registry, ids["expired"], utcnow() - datetime.timedelta(days=15))
    logout(clients["revoked_long_ago"])
    logout(clients["revoked_now"])
    table = registry.tables["res.users.session"]
    with registry.transaction():
        table.update(write_date=utcnow() - datetime.timedelta(days=2)).where(
            table.id == ids["revoked_long_ago"]
        ).execute()

    assert "base.session_prune" in registry.jobs.periodic_jobs()
    assert registry.jobs.run_now("base.session_prune") == 2
    left = {r["id"] for r in sessions_of(registry, "alice", active_only=False)}
    assert left == {ids["keep"], ids["revoked_now"]}
    with registry.transaction(write=False) as env:
        keys = env["res.users.session.key"].sudo().search([])
        assert {k.session_id.id for k in keys} == left  # the keys went with their sessions
    assert signed_in_ok(clients["keep"])


# -- the CLI ----------------------------------------------------------------------------------------------
# ``kontora user logout`` is tested with the other user commands in tests/test_cli_users.py.


# -- cost: no extra query per request ---------------------------------------------------------------------


class _Statements(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def statements(call) -> list[str]:
    logger = logging.getLogger("peewee")
    handler, level = _Statements(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        assert call().status_code == 200
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return handler.messages


# SQL statements of these requests before server-side sessions (the user was checked with
# four statements: user, credential id, credential, user's fields); they may only go down.
BEFORE = {"/": 9, "/web/fxw.deal?view=list": 13, "/api/v1/fxw.deal": 7}


def test_checking_the_session_is_one_query_and_requests_cost_no_more_than_before(make_config):
    config, registry = fx_web_site(make_config)
    with registry.transaction() as env:
        add_salesmen(env)
    app = create_app(config)
    anna = fx_signed_in(app, "anna")
    for url, before in BEFORE.items():
        anna.get(url)
        sql = statements(lambda url=url: anna.get(url))
        assert len(sql) <= before, (url, len(sql), sql)
        touching = [s for s in sql if "res_users_session" in s]
        assert len(touching) == 1 and "UPDATE" not in touching[0], touching
        assert len(statements(lambda url=url: anna.get(url))) == len(sql)


# -- the hash stays secret ----------------------------------------------------------------------------


def test_the_session_key_hash_never_appears_in_api_answers_exports_or_pages(app, registry, caplog):
    caplog.set_level(logging.DEBUG)
    alice, admin = sign_in(app, "alice"), sign_in(app, "admin")
    secrets_ = [session_of(c)["skey"] for c in (alice, admin)]
    hashes = [hash_secret(s) for s in secrets_]
    with registry.transaction(write=False) as env:
        stored = set(env["res.users.session.key"].sudo().search([]).mapped("key_hash"))
    assert set(hashes) <= stored
    sid = session_of(alice)["sid"]
    texts = []
    for client in (alice, admin):
        for url in (
            "/api/v1/res.users.session",
            "/api/v1/res.users.session?fields=" + ",".join(["user_id", "ip", "user_agent"]),
            f"/api/v1/res.users.session/{sid}",
            "/api/v1/res.users.session/fields",
            "/api/v1/res.users.session/export?fields=id,user_id,ip,last_seen&format=json",
            "/api/v1/res.users.session/export?fields=id,ip&format=csv",
            "/api/v1/res.users.session/read_group?groupby=user_id",
            "/api/v1/res.users.session/name_search?name=a",
            "/api/v1/openapi.json",
            f"/api/v1/report/base.record_summary?model=res.users.session&ids={sid}",
            "/web/settings/sessions",
            "/web/res.users.session",
            f"/web/res.users.session/{sid}",
        ):
            response = client.get(url)
            assert response.status_code < 500, (url, response.status_code)
            texts.append(response.get_data().decode("latin-1"))  # PDFs too
        for url in (
            "/api/v1/res.users.session.key",
            "/api/v1/res.users.session.key/export?fields=key_hash&format=json",
            "/api/v1/res.users.session.key/1",
            "/api/v1/res.users.session?fields=key_hash",
        ):
            response = client.get(url)
            assert response.status_code in (400, 403), (url, response.status_code)
            texts.append(response.get_data(as_text=True))
    fields = alice.get("/api/v1/res.users.session/fields").get_json()["fields"]
    assert "key_hash" not in json.dumps(fields)
    for text in texts:
        for secret in (*hashes, *secrets_):
            assert secret not in text
    for record in caplog.records:  # the secret itself is never sent to the database
        for secret in secrets_:
            assert secret not in record.getMessage()


def test_behind_a_trusted_proxy_the_session_keeps_the_clients_address(app, registry, config):
    """``server.proxies`` trusts that many proxies' X-Forwarded-For; without it a client
    cannot choose the address recorded for it."""
    forwarded = {"X-Forwarded-For": "203.0.113.7"}

    def last_ip(application):
        client = sign_in(application, "alice", **forwarded)
        sid = session_of(client)["sid"]
        with registry.transaction(write=False) as env:
            return env["res.users.session"].sudo().browse(sid).ip

    assert last_ip(app) == "127.0.0.1"
    assert last_ip(create_app(config.replace(server__proxies=1))) == "203.0.113.7"
