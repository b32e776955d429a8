"""Web sign-in: sessions, CSRF, throttling, archived users, password change, languages."""

from __future__ import annotations

import datetime
import html
import logging
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Blueprint, jsonify

from core import csrf_exempt, session_uid
from core.http.app import create_app

ADMIN_PASSWORD = "admin-secret-1"
ALICE_PASSWORD = "alice-secret-1"
WRONG_LOGIN = "Wrong login or password."


@pytest.fixture
def app(registry, config):
    with registry.transaction() as env:
        env.ref("base.user_admin").set_password(ADMIN_PASSWORD)
        alice = env["res.users"].create(
            {
                "name": "Alice Martin",
                "login": "alice",
                "groups_id": [(6, 0, [env.ref("base.group_user").id])],
            }
        )
        alice.set_password(ALICE_PASSWORD)
    return create_app(config)


@pytest.fixture
def client(app):
    return app.test_client()


def user_id(registry, login) -> int:
    with registry.transaction(write=False) as env:
        users = env["res.users"].with_context(active_test=False)
        return users.search([("login", "=", login)]).id


def write_user(registry, login, values):
    with registry.transaction() as env:
        env["res.users"].with_context(active_test=False).search([("login", "=", login)]).write(
            values
        )


def attempts(registry) -> int:
    with registry.transaction(write=False) as env:
        return env["res.users.login_attempt"].sudo().search_count([])


def backdate_attempts(registry, login, minutes):
    """Move the recorded sign-in attempts of ``login`` into the past (instead of waiting)."""
    table = registry.tables["res.users.login_attempt"]
    with registry.transaction():
        rows = table.select(table.id, table.create_date).where(table.login == login).tuples()
        for row_id, created in list(rows):
            table.update(create_date=created - datetime.timedelta(minutes=minutes)).where(
                table.id == row_id
            ).execute()


def token_in(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def error_in(page) -> str | None:
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', page.text, re.S)
    return html.unescape(found.group(1)) if found else None


def sign_in(client, login, password, path="/web/login", **extra):
    page = client.get(path)
    data = {"login": login, "password": password, "csrf_token": token_in(page), **extra}
    return client.post("/web/login", data=data)


def session_of(client) -> dict:
    with client.session_transaction() as session:
        return dict(session)


def seconds_in(text) -> int:
    return int(re.search(r"(\d+)", text).group(1))


# -- signing in and out ------------------------------------------------------------------------------


def test_home_needs_sign_in_and_healthz_stays_public(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/web/login?next=/"
    health = client.get("/healthz")
    assert (health.status_code, health.get_json()["status"]) == (200, "ok")


def test_the_icon_is_served_without_signing_in_and_pages_declare_it(client):
    found = client.get("/favicon.ico", follow_redirects=True)
    assert found.status_code == 200 and found.mimetype == "image/svg+xml"
    assert b"<svg" in found.data
    login = client.get("/web/login").get_data(as_text=True)
    assert 'rel="icon"' in login and "kontora.svg" in login


def test_sign_in_opens_a_fresh_session_with_safe_cookie_and_sign_out_ends_it(client, registry):
    page = client.get("/web/login")
    anonymous_token = token_in(page)
    with client.session_transaction() as session:
        session["planted"] = "by someone else"  # what a fixation attack would leave behind

    response = client.post(
        "/web/login",
        data={"login": "alice", "password": ALICE_PASSWORD, "csrf_token": anonymous_token},
    )
    assert (response.status_code, response.headers["Location"]) == (302, "/")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    session = session_of(client)
    assert session["uid"] == user_id(registry, "alice")
    assert session["csrf_token"] and session["csrf_token"] != anonymous_token
    assert "planted" not in session

    home = client.get("/")
    assert home.status_code == 200
    assert "Signed in as Alice Martin" in home.text
    assert 'action="/web/logout"' in home.text and "Sign out" in home.text
    assert token_in(home) == session["csrf_token"]

    out = client.post("/web/logout", data={"csrf_token": token_in(home)})
    assert (out.status_code, out.headers["Location"]) == (302, "/web/login")
    assert "uid" not in session_of(client)
    assert client.get("/").status_code == 302


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(client):
    assert client.get("/?tab=addons").headers["Location"] == "/web/login?next=/?tab%3Daddons"
    response = sign_in(client, "alice", ALICE_PASSWORD, next="/?tab=addons")
    assert response.headers["Location"] == "/?tab=addons"
    for outside in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:1"):
        client.post("/web/logout", data={"csrf_token": session_of(client)["csrf_token"]})
        response = sign_in(client, "alice", ALICE_PASSWORD, next=outside)
        assert response.headers["Location"] == "/", outside


def test_signed_in_user_going_to_the_login_page_goes_home(client):
    sign_in(client, "alice", ALICE_PASSWORD)
    assert client.get("/web/login").headers["Location"] == "/"


# -- CSRF ---------------------------------------------------------------------------------------------


def test_posts_without_the_csrf_token_are_refused_and_change_nothing(client, registry):
    client.get("/web/login")
    for data in (
        {"login": "alice", "password": ALICE_PASSWORD},
        {"login": "alice", "password": ALICE_PASSWORD, "csrf_token": "forged"},
    ):
        refused = client.post("/web/login", data=data)
        assert refused.status_code == 400
        assert "The form has expired or was not sent from this site" in refused.text
        assert "uid" not in session_of(client)
    assert attempts(registry) == 0  # not even a failed attempt was recorded

    sign_in(client, "alice", ALICE_PASSWORD)
    assert client.post("/web/logout").status_code == 400
    assert client.post("/web/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/").status_code == 200  # still signed in

    refused = client.post(
        "/web/password",
        data={
            "current_password": ALICE_PASSWORD,
            "new_password": "changed-by-csrf",
            "confirm_password": "changed-by-csrf",
        },
    )
    assert refused.status_code == 400
    assert client.post("/web/lang", data={"lang": "ru"}).status_code == 400
    with registry.transaction(write=False) as env:
        alice = env["res.users"].search([("login", "=", "alice")])
        assert alice.check_password(ALICE_PASSWORD)
        assert alice.lang == "en"

    # The token may come in a header too (for small scripts on the pages).
    token = session_of(client)["csrf_token"]
    assert client.post("/web/logout", headers={"X-CSRF-Token": token}).status_code == 302


def test_csrf_exemption_is_declared_per_route_on_the_view(registry, config):
    bp = Blueprint("fx_csrf", __name__)

    @bp.route("/fx/exempt", methods=["POST"])
    @csrf_exempt
    def exempt():
        return jsonify(uid=session_uid())

    @bp.route("/fx/guarded", methods=["POST"])
    def guarded():
        return jsonify(uid=session_uid())

    app = create_app(config)
    app.register_blueprint(bp)
    with registry.transaction() as env:
        env.ref("base.user_admin").set_password(ADMIN_PASSWORD)
    client = app.test_client()
    assert sign_in(client, "admin", ADMIN_PASSWORD).status_code == 302
    # A cookie session and no token: the exempt route runs, as the signed-in user ...
    answered = client.post("/fx/exempt", data={"x": "1"})
    assert answered.status_code == 200
    assert answered.get_json()["uid"] == user_id(registry, "admin")
    # ... its neighbour on the same blueprint is refused.
    refused = client.post("/fx/guarded", data={"x": "1"})
    assert refused.status_code == 400
    assert "The form has expired or was not sent from this site" in refused.text
    token = session_of(client)["csrf_token"]
    assert client.post("/fx/guarded", headers={"X-CSRF-Token": token}).status_code == 200
    with pytest.raises(TypeError, match="not a blueprint"):
        csrf_exempt(Blueprint("fx_csrf_whole", __name__))


# -- throttling, archived users, enumeration ------------------------------------------------------------


def test_fifty_wrong_passwords_are_throttled_and_the_right_one_waits_too(client, registry):
    statuses = []
    for _ in range(50):
        response = sign_in(client, "alice", "not-the-password")
        statuses.append(response.status_code)
    assert statuses == [401] * 5 + [429] * 45
    error = error_in(response)
    assert error.startswith("Too many failed sign-in attempts. Try again in ")
    assert 890 <= seconds_in(error) <= 900
    assert response.headers["Retry-After"] == str(seconds_in(error))

    refused = sign_in(client, "alice", ALICE_PASSWORD)
    assert refused.status_code == 429
    assert "uid" not in session_of(client)

    backdate_attempts(registry, "alice", 10)
    still = sign_in(client, "alice", ALICE_PASSWORD)
    assert still.status_code == 429
    assert 290 <= seconds_in(error_in(still)) <= 300

    backdate_attempts(registry, "alice", 6)  # 16 minutes ago: the wait is over
    accepted = sign_in(client, "alice", ALICE_PASSWORD)
    assert (accepted.status_code, accepted.headers["Location"]) == (302, "/")
    assert session_of(client)["uid"] == user_id(registry, "alice")


def test_parallel_wrong_passwords_cannot_slip_past_the_throttle(app, registry):
    clients = [app.test_client() for _ in range(12)]
    pages = [c.get("/web/login") for c in clients]

    def attempt(index):
        data = {"login": "alice", "password": "wrong-1", "csrf_token": token_in(pages[index])}
        return clients[index].post("/web/login", data=data).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = sorted(pool.map(attempt, range(12)))
    assert statuses == [401] * 5 + [429] * 7
    assert attempts(registry) == 5


def test_archived_user_cannot_sign_in_and_their_open_session_ends(client, app, registry):
    other = app.test_client()
    assert sign_in(other, "alice", ALICE_PASSWORD).status_code == 302
    write_user(registry, "alice", {"active": False})

    refused = sign_in(client, "alice", ALICE_PASSWORD)
    assert (refused.status_code, error_in(refused)) == (401, WRONG_LOGIN)
    assert "uid" not in session_of(client)
    assert other.get("/").headers["Location"] == "/web/login?next=/"


def test_wrong_login_and_wrong_password_look_the_same(client):
    def normalised(response):
        return re.sub(r'value="[^"]*"', 'value=""', response.text)

    unknown = sign_in(client, "nobody", "whatever-1")
    wrong = sign_in(client, "alice", "whatever-1")
    assert unknown.status_code == wrong.status_code == 401
    assert error_in(unknown) == error_in(wrong) == WRONG_LOGIN
    assert normalised(unknown) == normalised(wrong)

    # Unknown logins are throttled like real ones, so throttling tells nothing either.
    for _ in range(4):
        sign_in(client, "nobody", "whatever-1")
        sign_in(client, "alice", "whatever-1")
    unknown, wrong = sign_in(client, "nobody", "x-1"), sign_in(client, "alice", "x-1")
    assert unknown.status_code == wrong.status_code == 429


def test_output_is_escaped(client, registry):
    write_user(registry, "alice", {"name": '<script>alert("hi")</script>'})
    sign_in(client, "alice", ALICE_PASSWORD)
    home = client.get("/")
    assert "<script>" not in home.text
    assert "&lt;script&gt;alert(&#34;hi&#34;)&lt;/script&gt;" in home.text
    client.post("/web/logout", data={"csrf_token": token_in(home)})
    refused = sign_in(client, '"><script>x</script>', "whatever-1")
    assert "<script>" not in refused.text


# -- password change -----------------------------------------------------------------------------------


def test_password_change_checks_the_current_one_and_ends_other_sessions(client, app, registry):
    elsewhere = app.test_client()
    sign_in(elsewhere, "alice", ALICE_PASSWORD)
    sign_in(client, "alice", ALICE_PASSWORD)
    page = client.get("/web/password")
    assert page.status_code == 200
    assert "Current password" in page.text and "Repeat the new password" in page.text
    token = token_in(page)

    def change(current, new, repeat):
        data = {
            "csrf_token": token,
            "current_password": current,
            "new_password": new,
            "confirm_password": repeat,
        }
        return client.post("/web/password", data=data)

    refused = change(ALICE_PASSWORD, "new-secret-1", "new-secret-2")
    assert (refused.status_code, error_in(refused)) == (400, "The new passwords do not match.")
    refused = change("not-my-password", "new-secret-1", "new-secret-1")
    assert (refused.status_code, error_in(refused)) == (400, "The current password is wrong")
    refused = change(ALICE_PASSWORD, "short", "short")
    assert (refused.status_code, error_in(refused)) == (
        400,
        "A password has at least 8 characters",
    )
    with registry.transaction(write=False) as env:
        assert env["res.users"].search([("login", "=", "alice")]).check_password(ALICE_PASSWORD)

    done = change(ALICE_PASSWORD, "new-secret-1", "new-secret-1")
    assert (done.status_code, done.headers["Location"]) == (302, "/")
    assert "Your password has been changed." in client.get("/").text  # this session goes on
    assert elsewhere.get("/").status_code == 302  # the other one ended

    client.post("/web/logout", data={"csrf_token": session_of(client)["csrf_token"]})
    assert sign_in(client, "alice", ALICE_PASSWORD).status_code == 401
    assert sign_in(client, "alice", "new-secret-1").status_code == 302


def test_guessing_the_current_password_is_throttled_like_signing_in(client, registry):
    sign_in(client, "alice", ALICE_PASSWORD)
    token = session_of(client)["csrf_token"]
    data = {"csrf_token": token, "new_password": "new-secret-1", "confirm_password": "new-secret-1"}
    statuses = [
        client.post("/web/password", data={**data, "current_password": f"guess-{n}"}).status_code
        for n in range(7)
    ]
    assert statuses == [400] * 5 + [429] * 2
    right = client.post("/web/password", data={**data, "current_password": ALICE_PASSWORD})
    assert right.status_code == 429
    assert "Try again in" in error_in(right)
    assert authenticates_directly(registry, "alice", ALICE_PASSWORD)


def authenticates_directly(registry, login, password) -> bool:
    with registry.transaction(write=False) as env:
        return env["res.users"].search([("login", "=", login)]).check_password(password)


def test_password_page_needs_sign_in(client):
    assert client.get("/web/password").headers["Location"] == "/web/login?next=/web/password"


# -- languages --------------------------------------------------------------------------------------------


def test_login_page_in_russian_by_parameter_or_browser_language(client, app):
    page = client.get("/web/login?lang=ru")
    assert '<html lang="ru">' in page.text
    for text in ("Вход", "Логин", "Пароль"):
        assert text in page.text
    refused = sign_in(client, "alice", "wrong-password")  # the choice is remembered
    assert error_in(refused) == "Неверный логин или пароль."

    browser = app.test_client()
    page = browser.get("/web/login", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    assert "Вход" in page.text
    page = app.test_client().get("/web/login", headers={"Accept-Language": "en-GB"})
    assert '<html lang="en">' in page.text and "Sign in" in page.text and "Вход" not in page.text

    for _ in range(5):
        sign_in(client, "nobody", "wrong-password")
    throttled = sign_in(client, "nobody", "wrong-password")
    assert throttled.status_code == 429
    assert re.fullmatch(
        r"Слишком много неудачных попыток входа\. Повторите через \d+ с\.", error_in(throttled)
    )


def test_signed_in_user_sees_pages_in_their_language_and_can_switch(client, registry):
    write_user(registry, "alice", {"lang": "ru"})
    sign_in(client, "alice", ALICE_PASSWORD, path="/web/login?lang=en")
    home = client.get("/")
    assert '<html lang="ru">' in home.text
    for text in ("Вы вошли как Alice Martin", "Выйти", "Сменить пароль", "Главная"):
        assert text in home.text
    page = client.get("/web/password")
    assert "Текущий пароль" in page.text and "Повторите новый пароль" in page.text
    assert "Форма устарела" in client.post("/web/logout").text  # CSRF page in Russian

    switched = client.post("/web/lang", data={"lang": "en", "csrf_token": token_in(home)})
    assert switched.headers["Location"] == "/"
    assert "Signed in as Alice Martin" in client.get("/").text
    with registry.transaction(write=False) as env:
        assert env["res.users"].search([("login", "=", "alice")]).lang == "en"


# -- secrets stay secret ------------------------------------------------------------------------------------


def test_password_hashes_never_appear_in_pages_or_logs(client, app, registry, caplog):
    caplog.set_level(logging.DEBUG)  # SQL with its parameters is logged at DEBUG
    seen = []

    def keep(response):
        seen.append(response.get_data(as_text=True))
        seen.append(str(response.headers))
        return response

    keep(client.get("/"))
    keep(client.get("/web/login"))
    keep(sign_in(client, "alice", "wrong-password"))
    keep(sign_in(client, "alice", ALICE_PASSWORD))
    for path in ("/", "/web/password", "/healthz"):
        keep(client.get(path))
    token = session_of(client)["csrf_token"]
    keep(
        client.post(
            "/web/password",
            data={
                "csrf_token": token,
                "current_password": ALICE_PASSWORD,
                "new_password": "brand-new-secret",
                "confirm_password": "brand-new-secret",
            },
        )
    )
    keep(client.get("/"))
    keep(client.post("/web/logout", data={"csrf_token": session_of(client)["csrf_token"]}))
    keep(sign_in(client, "admin", ADMIN_PASSWORD))
    keep(client.get("/"))

    assert "res_users_credential" in caplog.text  # the SQL was logged, parameters and all
    assert "<password hash>" in caplog.text
    for text in [*seen, caplog.text]:
        assert "$argon2" not in text
        assert "brand-new-secret" not in text
    for record in caplog.records:
        assert ALICE_PASSWORD not in record.getMessage()
