"""Who is calling the REST API: API keys or the web session, the rate limit, key use.

``authenticate(registry)`` returns ``(uid, lang)`` or raises ``ApiError`` (401, 403 for a
missing CSRF token, 429 past the rate limit). It reads in one short read-only transaction;
a key's ``last_used`` is written at most once a minute per key (and per process), in its
own small transaction, so an ordinary GET never takes a write lock.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import threading
import time

from flask import current_app, g, request, session

from core.base.security import record_use
from core.orm.env import SUPERUSER_ID
from core.request.identity import session_uid

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_logger = logging.getLogger(__name__)
_KEY = re.compile(r"^kt_[0-9a-f]{8}_[A-Za-z0-9_-]{16,128}$")


class ApiError(Exception):
    """An error answered as is: status, machine code, message and optional field messages."""

    def __init__(self, status, code, message, fields=None, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields
        self.headers = headers or {}


def bearer_token():
    """The API key of the request, None without an ``Authorization`` header; 401 if the
    header is not a well-formed key."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not _KEY.match(token):
        raise ApiError(401, "unauthorized", "Send an API key: Authorization: Bearer <key>")
    return token


def key_user(registry, env, token):
    """``(uid, lang, key_id, last_used)`` of an API key, looked up in ``env``'s transaction
    (a GET reads it in its own transaction: one BEGIN/COMMIT less per request); 401 for an
    unknown key, 429 past the rate limit."""
    found = env["res.users"].sudo().api_key_lookup(token)
    uid = found[1] if found else None
    if not uid or uid == SUPERUSER_ID:
        raise ApiError(
            401,
            "unauthorized",
            "The API key is unknown, revoked or expired, or its user archived",
        )
    key_id, _uid, last_used, lang = found
    check_rate(registry, ("key", key_id))
    return uid, lang, key_id, last_used


def authenticate(registry):
    """The user id and language of this request; 401 without valid credentials."""
    token = bearer_token()
    if token is not None:
        # Changes authenticate in a read transaction of their own: a request with a bad key
        # must not take SQLite's write lock.
        with registry.transaction(write=False) as env:
            uid, lang, key_id, last_used = key_user(registry, env, token)
        touch_key(registry, key_id, last_used)
        return uid, lang
    uid = _session_uid()
    if uid is None or uid == SUPERUSER_ID:
        raise ApiError(
            401, "unauthorized", "Sign in or send an API key: Authorization: Bearer <key>"
        )
    if request.method not in SAFE_METHODS:
        expected = session.get("csrf_token")
        sent = request.headers.get("X-CSRF-Token") or ""
        if (
            not isinstance(expected, str)
            or not expected
            or not hmac.compare_digest(sent.encode(), expected.encode())
        ):
            raise ApiError(403, "csrf", "Send the session's CSRF token in the X-CSRF-Token header")
    check_rate(registry, ("user", uid))
    # The session check loaded the user (core.request.identity: g.user) in its one query.
    user = g.get("user")
    return uid, ((user or {}).get("lang") or None)


def _session_uid():
    """The signed-in user of the web session (checked against the database), or None."""
    if "uid" not in session:
        return None
    return session_uid()


# -- last use of a key --------------------------------------------------------------------------------
def touch_key(registry, key_id, last_used):
    """Store the key's ``last_used`` at most once a minute (read with the key in the one
    authentication query)."""
    record_use(registry, "res.users.apikey", "last_used", key_id, last_used)


# -- rate limit -----------------------------------------------------------------------------------------
class RateLimiter:
    """A token bucket per caller: ``limit`` requests per ``window`` seconds, refilled
    continuously, so a caller may burst up to the limit and then goes at the average rate."""

    def __init__(self, limit: int, window: float, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, float(window), clock
        self.rate = limit / self.window
        self._buckets: dict = {}
        self._lock = threading.Lock()

    def acquire(self, caller) -> float:
        """0 when the request may go ahead (and counts it), else seconds to wait."""
        now = self.clock()
        with self._lock:
            tokens, since = self._buckets.get(caller, (float(self.limit), now))
            tokens = min(float(self.limit), tokens + (now - since) * self.rate)
            if tokens >= 1.0:
                self._buckets[caller] = (tokens - 1.0, now)
                if len(self._buckets) > 100_000:  # forget full buckets of idle callers
                    self._buckets = {
                        k: v for k, v in self._buckets.items() if v[0] < self.limit - 1
                    }
                return 0.0
            self._buckets[caller] = (tokens, now)
            return (1.0 - tokens) / self.rate


class RedisRateLimiter:
    """The same token bucket kept in Redis, so that every server process (and every
    machine) counts against one limit. One round trip per request: a Lua script reads,
    refills and takes from the bucket atomically, on Redis's clock. If Redis cannot be
    reached the process falls back to its own bucket (and logs it) rather than failing
    requests."""

    SCRIPT = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local rate = limit / window
local state = redis.call('HMGET', KEYS[1], 't', 's')
local tokens = tonumber(state[1]) or limit
local since = tonumber(state[2]) or now
tokens = math.min(limit, tokens + math.max(0, now - since) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 's', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(window))
return tostring(wait)
"""

    def __init__(self, limit: int, window: float, url: str, namespace: str):
        import redis  # only with the Redis rate-limit store

        self.limit, self.window = limit, float(window)
        self.namespace = namespace
        self._client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._script = self._client.register_script(self.SCRIPT)
        self._fallback = RateLimiter(limit, window)
        self._warned = 0.0

    def acquire(self, caller) -> float:
        import redis  # only with the Redis rate-limit store

        key = f"kontora:rate:{self.namespace}:{':'.join(str(part) for part in caller)}"
        try:
            wait_ms = float(self._script(keys=[key], args=[self.limit, self.window * 1000]))
        except (redis.RedisError, OSError, ValueError) as exc:
            now = time.monotonic()
            if now - self._warned > 60:
                self._warned = now
                _logger.warning("rate limit: Redis unreachable (%s); counting in this process", exc)
            return self._fallback.acquire(caller)
        return wait_ms / 1000.0


class Limiters:
    """The rate limiters of one application (``app.extensions``), one per configuration."""

    def __init__(self):
        self._lock = threading.Lock()
        self._found: dict = {}

    def get(self, key, make):
        with self._lock:
            found = self._found.get(key)
            if found is None:
                found = self._found[key] = make()
            return found


def limiter_for(registry):
    """This application's limiter for the registry's configuration (None: no limit): a
    bucket in Redis shared by all processes when ``api.rate_limit_store`` is ``redis``,
    else one in this process's memory."""
    config = registry.config
    limit = config.get("api.rate_limit", 0) if config is not None else 0
    if not limit:
        return None
    window = config.get("api.rate_window_seconds", 60)
    store = config.get("api.rate_limit_store", "process")

    def make():
        if store == "redis":
            # Kontora instances sharing one Redis count apart: one namespace per database.
            namespace = hashlib.sha256(config.database_url.encode()).hexdigest()[:16]
            return RedisRateLimiter(limit, window, config["jobs.redis_url"], namespace)
        return RateLimiter(limit, window)

    limiters = current_app.extensions.get("kontora.rest.limiters")
    if limiters is None:  # made once per app, not on every request
        limiters = current_app.extensions.setdefault("kontora.rest.limiters", Limiters())
    return limiters.get((config.database_url, limit, window, store), make)


def check_rate(registry, caller):
    """429 with ``Retry-After`` (whole seconds) when the caller is over the rate limit."""
    limiter = limiter_for(registry)
    if limiter is None:
        return
    wait = limiter.acquire(caller)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise ApiError(
            429,
            "too_many_requests",
            f"Too many requests: at most {limiter.limit} per {int(limiter.window)} s; "
            f"try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
