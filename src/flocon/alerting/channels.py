"""The channels that carry alerts: e-mail (SMTP), signed webhooks and chat services (Apprise).

A channel is built from one string, as a user types it (:func:`channel_from_spec`)::

    email:ops@example.com,cm@example.com      the SMTP server comes from the settings
    webhook:https://hooks.example.com/flocon  signed with FLOCON_WEBHOOK_SECRET
    apprise:mmost://chat.example.com/TOKEN    any Apprise URL (Slack, Mattermost, Teams...)

:meth:`Channel.send` never raises: it returns an :class:`Attempt` that says whether
the message went out, and whether trying again later is worth it (:func:`backoff_s`
gives the schedule). Secrets (SMTP password, webhook secret, the tokens inside
webhook and Apprise URLs) never appear in :meth:`Channel.describe`, in
:attr:`Attempt.detail`, in error messages or in log records: Apprise's own log
lines, and those of the ``requests``/``urllib3`` libraries it uses, go through a
filter that masks every secret part of the Apprise URLs in use (see docs/alerts-channels.md).
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import contextvars
import hashlib
import hmac
import html
import json
import logging
import random
import re
import smtplib
import socket
import ssl
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Collection, Coroutine, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

import httpx

from flocon.connectors.http.failures import bad_certificate, parse_retry_after
from flocon.connectors.http.guard import (
    AddressPolicy,
    GuardedTransport,
    PrivateAddressError,
    Resolver,
    system_resolver,
)
from flocon.errors import ConfigError
from flocon.settings import Settings

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds one delivery attempt may take (webhook request, SMTP session).
DEFAULT_TIMEOUT_S = 10.0
#: Waits before the 2nd, 3rd... attempt; after the last one, :func:`backoff_s` says stop.
RETRY_SCHEDULE_S: tuple[float, ...] = (30.0, 120.0, 600.0, 3600.0, 6 * 3600.0)
#: Attempts in all (the first one and its retries).
MAX_ATTEMPTS = len(RETRY_SCHEDULE_S) + 1
#: The longest ``Retry-After`` honoured by :func:`next_delay_s`.
MAX_RETRY_AFTER_S = 24 * 3600.0
#: Shortest accepted webhook secret, in characters.
MIN_WEBHOOK_SECRET_CHARS = 16

_PRIVATE_HINT = "set FLOCON_ALLOW_PRIVATE_ADDRESSES=true to deliver to a receiver on your network"
_RANDOM = random.Random()


# -- what a channel sends and what it answers -----------------------------------------------


@dataclass(frozen=True)
class Message:
    """One alert, or a digest of several.

    ``subject`` is one short line (newlines are removed where it becomes a header),
    ``text`` the plain-text body, ``payload`` the machine form sent as the webhook's
    JSON body (JSON-safe), ``url`` a link to the alert in the web app when known.
    """

    subject: str
    text: str
    payload: dict[str, Any]
    url: str | None = None


@dataclass(frozen=True)
class Attempt:
    """The outcome of one delivery attempt.

    ``detail`` is for people ("HTTP 204", "SMTP 250", an error) and holds no secret;
    ``retry`` tells whether trying again later may succeed (timeouts, 5xx, 429, refused
    connections) or not (4xx, refused login, bad address); ``retry_after_s`` is the
    wait the receiver asked for (``Retry-After``), when it did.
    """

    ok: bool
    detail: str
    retry: bool
    retry_after_s: float | None = None


class Channel(Protocol):
    """Where alerts go. ``kind`` is ``"email"``, ``"webhook"`` or ``"apprise"``."""

    kind: str

    def send(self, message: Message, *, delivery_id: str | None = None) -> Attempt:
        """Deliver ``message`` once. ``delivery_id`` identifies the delivery across its
        retries (``X-Flocon-Delivery`` header, e-mail ``Message-ID``); a random one when None."""
        ...

    def describe(self) -> str:
        """A one-line description without any secret, for listings."""
        ...


# -- retry schedule -------------------------------------------------------------------------


def backoff_s(attempt_number: int, *, rng: random.Random | None = None) -> float | None:
    """How long to wait after attempt ``attempt_number`` (1 = the first) failed.

    30 s, 2 min, 10 min, 1 h, then 6 h, each ±20 % at random (so that many failed
    deliveries do not all come back at once); None after the 6th attempt
    (:data:`MAX_ATTEMPTS`): give up.
    """
    if attempt_number < 1:
        raise ValueError("attempt_number starts at 1")
    if attempt_number > len(RETRY_SCHEDULE_S):
        return None
    return RETRY_SCHEDULE_S[attempt_number - 1] * (rng or _RANDOM).uniform(0.8, 1.2)


def next_delay_s(
    attempt_number: int, attempt: Attempt, *, rng: random.Random | None = None
) -> float | None:
    """The wait before the next attempt after ``attempt`` (attempt ``attempt_number``),
    or None when there is none to make: it succeeded, failed for good, or was the last.

    A receiver's ``Retry-After`` lengthens the wait (up to :data:`MAX_RETRY_AFTER_S`),
    never shortens it.
    """
    if attempt.ok or not attempt.retry:
        return None
    delay = backoff_s(attempt_number, rng=rng)
    if delay is None:
        return None
    if attempt.retry_after_s is not None:
        delay = max(delay, min(attempt.retry_after_s, MAX_RETRY_AFTER_S))
    return delay


# -- webhook signatures ---------------------------------------------------------------------


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 with ``secret`` over ``b"<timestamp>." + body``."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: bytes,
    header_timestamp: str,
    header_signature: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: int = 300,
) -> bool:
    """True when ``header_signature`` is the signature of ``body`` at ``header_timestamp``
    and that timestamp is within ``tolerance_s`` seconds of ``now`` (a replayed or
    delayed request is refused). For receivers: pass the raw body bytes, as received."""
    text = header_timestamp.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        return False
    timestamp = int(text)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).encode()
    return hmac.compare_digest(expected, header_signature.strip().encode("utf-8", "replace"))


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """The webhook body: compact UTF-8 JSON, exactly the bytes that are signed."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


# -- helpers --------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line: control characters (CR, LF...) become spaces, then cut."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _mask(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion from synchronous code, even inside an event loop
    (then on a worker thread, so the caller's loop is never re-entered)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def delivery_token(delivery_id: str | None) -> str:
    """``delivery_id`` reduced to ``[A-Za-z0-9._:-]`` (at most 100 characters), or a
    random id when None or nothing is left: safe in a header and a Message-ID."""
    token = re.sub(r"[^A-Za-z0-9._:-]", "", delivery_id or "")[:100]
    return token or uuid.uuid4().hex


def _setting(settings: Settings, name: str, default: Any) -> Any:
    """A setting read by name: secrets (``str`` or pydantic ``SecretStr``) and the optional
    ``alert_timeout_s``, which :class:`Settings` may not define."""
    value = getattr(settings, name, default)
    if hasattr(value, "get_secret_value"):  # pydantic SecretStr
        value = value.get_secret_value()
    return default if value is None else value


# -- e-mail ---------------------------------------------------------------------------------

_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
SmtpSecurity = Literal["starttls", "ssl", "none"]
_DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}


def check_address(address: str) -> str:
    """``address`` (``name@domain``, stripped) when it is a valid e-mail address, else
    :class:`ConfigError`. Internationalised domains are accepted (and returned in their
    ASCII form, ``xn--...``); local parts are ASCII."""
    address = address.strip()
    shown = one_line(address, 80)
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise ConfigError(f"{shown!r} is not an e-mail address (expected name@domain)")
    if len(local) > 64 or not _LOCAL_PART.fullmatch(local):
        raise ConfigError(f"{shown!r} is not a valid e-mail address (the part before @)")
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise ConfigError(f"{shown!r} is not a valid e-mail address (the domain)") from None
    labels = ascii_domain.split(".")
    if (
        len(ascii_domain) > 253
        or not all(_LABEL.fullmatch(label) for label in labels)
        or (len(labels) < 2 and ascii_domain.lower() != "localhost")
    ):
        raise ConfigError(f"{shown!r} is not a valid e-mail address (the domain)")
    return f"{local}@{ascii_domain}"


@dataclass(frozen=True)
class SmtpConfig:
    """How to reach the SMTP server (settings ``FLOCON_SMTP_*``).

    ``security``: ``starttls`` (port 587 unless ``port`` is set; refused if the server
    does not offer it), ``ssl`` (implicit TLS, port 465) or ``none`` (port 25, plain
    text: only for a relay on the same machine or network). ``helo_name`` is the name
    flocon gives itself (empty: the machine's fully qualified name).
    """

    host: str
    from_address: str
    port: int | None = None
    security: SmtpSecurity = "starttls"
    username: str = ""
    password: str = field(default="", repr=False)
    timeout_s: float = DEFAULT_TIMEOUT_S
    helo_name: str = ""

    def __post_init__(self) -> None:
        if self.security not in _DEFAULT_PORTS:
            raise ConfigError(
                f"FLOCON_SMTP_SECURITY must be starttls, ssl or none (got {self.security!r})"
            )
        if self.port is not None and not 0 < self.port < 65536:
            raise ConfigError(f"FLOCON_SMTP_PORT must be between 1 and 65535 (got {self.port})")
        if self.timeout_s <= 0:
            raise ConfigError("the SMTP timeout must be positive")

    @property
    def effective_port(self) -> int:
        return self.port or _DEFAULT_PORTS[self.security]

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        host = settings.smtp_host.strip()
        if not host:
            raise ConfigError(
                "e-mail channels need an SMTP server: set FLOCON_SMTP_HOST "
                "(and FLOCON_SMTP_FROM, FLOCON_SMTP_USERNAME, FLOCON_SMTP_PASSWORD as needed)"
            )
        sender = settings.smtp_from.strip()
        if not sender:
            raise ConfigError(
                "e-mail channels need a sender address: set FLOCON_SMTP_FROM "
                "(e.g. 'flocon <alerts@example.com>')"
            )
        port = settings.smtp_port
        return cls(
            host=host,
            from_address=sender,
            port=int(port) if port else None,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=str(_setting(settings, "smtp_password", "")),
            timeout_s=float(_setting(settings, "alert_timeout_s", DEFAULT_TIMEOUT_S)),
        )


def _html_body(message: Message) -> str:
    """A minimal HTML version of the text: everything from mentions is escaped."""
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"></head><body>',
        '<pre style="white-space: pre-wrap; font-family: sans-serif;">'
        f"{html.escape(message.text, quote=True)}</pre>",
    ]
    if message.url and urlsplit(message.url).scheme in ("http", "https"):
        parts.append(f'<p><a href="{html.escape(message.url, quote=True)}">Open in flocon</a></p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


class EmailChannel:
    """Sends alerts by e-mail: a plain-text part and an escaped HTML alternative."""

    kind = "email"

    def __init__(self, config: SmtpConfig, recipients: Collection[str]) -> None:
        if not recipients:
            raise ConfigError("an e-mail channel needs at least one recipient address")
        self.config = config
        self.recipients = tuple(dict.fromkeys(check_address(r) for r in recipients))
        address = parseaddr(config.from_address)[1]
        self._from_header = one_line(config.from_address)
        self._from_address = check_address(address or config.from_address)
        self._secrets = tuple(s for s in (config.password,) if len(s) >= 4)

    def describe(self) -> str:
        return "email → " + ", ".join(self.recipients)

    def build(self, message: Message, *, delivery_id: str | None = None) -> EmailMessage:
        """The e-mail for ``message``: headers are single lines, whatever the subject holds."""
        email = EmailMessage()
        email["Subject"] = one_line(message.subject, 250) or "(flocon alert)"
        email["From"] = self._from_header
        email["To"] = ", ".join(self.recipients)
        email["Date"] = formatdate(localtime=False, usegmt=True)
        domain = self._from_address.rpartition("@")[2]
        token = delivery_token(delivery_id)
        email["Message-ID"] = f"<flocon.{token}@{domain}>"
        email["X-Flocon-Delivery"] = token
        email["Auto-Submitted"] = "auto-generated"
        email.set_content(message.text if message.text.endswith("\n") else message.text + "\n")
        email.add_alternative(_html_body(message), subtype="html")
        return email

    def send(self, message: Message, *, delivery_id: str | None = None) -> Attempt:
        try:
            email = self.build(message, delivery_id=delivery_id)
        except (ValueError, TypeError) as exc:
            return Attempt(False, f"could not write the e-mail: {self._clean(str(exc))}", False)
        config = self.config
        where = f"{config.host}:{config.effective_port}"
        try:
            smtp = self._connect()
        except Exception as exc:
            return self._failure(exc, where)
        try:
            if config.security == "starttls":
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    return Attempt(
                        False,
                        f"the SMTP server {where} does not offer STARTTLS; set "
                        "FLOCON_SMTP_SECURITY=ssl (port 465) or, for a local relay only, none",
                        retry=False,
                    )
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if config.username:
                smtp.login(config.username, config.password)
            refused = smtp.send_message(
                email, from_addr=self._from_address, to_addrs=list(self.recipients)
            )
        except Exception as exc:
            return self._failure(exc, where)
        finally:
            with contextlib.suppress(Exception):
                smtp.quit()
            smtp.close()
        accepted = len(self.recipients) - len(refused)
        detail = f"SMTP 250: accepted for {accepted} recipient(s) by {where}"
        if refused:
            detail += "; refused: " + "; ".join(
                f"{address} ({code} {self._clean(_decode(text))})"
                for address, (code, text) in refused.items()
            )
        logger.debug("e-mail %r sent to %s", self._clean(message.subject), detail)
        return Attempt(True, detail, retry=False)

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        local = config.helo_name or None
        if config.security == "ssl":
            return smtplib.SMTP_SSL(
                config.host,
                config.effective_port,
                local_hostname=local,
                timeout=config.timeout_s,
                context=ssl.create_default_context(),
            )
        return smtplib.SMTP(
            config.host, config.effective_port, local_hostname=local, timeout=config.timeout_s
        )

    def _clean(self, text: str) -> str:
        return one_line(_mask(text, self._secrets), 300)

    def _failure(self, exc: BaseException, where: str) -> Attempt:
        attempt = self._classify(exc, where)
        logger.info("e-mail to %s failed: %s", ", ".join(self.recipients), attempt.detail)
        return attempt

    def _classify(self, exc: BaseException, where: str) -> Attempt:
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return Attempt(
                False,
                f"SMTP {exc.smtp_code}: {where} refused the login "
                f"({self._clean(_decode(exc.smtp_error))}); check FLOCON_SMTP_USERNAME "
                "and FLOCON_SMTP_PASSWORD",
                retry=False,
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return Attempt(
                False,
                f"{where} cannot do what flocon asked ({self._clean(str(exc))}); if "
                "FLOCON_SMTP_USERNAME is set, the server may offer no login (or only over TLS)",
                retry=False,
            )
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in exc.recipients.values()]
            refused = "; ".join(
                f"{address} ({code} {self._clean(_decode(text))})"
                for address, (code, text) in exc.recipients.items()
            )
            return Attempt(
                False,
                f"SMTP: {where} refused every recipient: {refused}",
                retry=bool(codes) and all(400 <= code < 500 for code in codes),
            )
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return Attempt(
                False, f"{where} closed the connection ({self._clean(str(exc))})", retry=True
            )
        if isinstance(exc, smtplib.SMTPResponseException):
            code = exc.smtp_code
            return Attempt(
                False,
                f"SMTP {code} from {where}: {self._clean(_decode(exc.smtp_error))}",
                retry=code < 0 or 400 <= code < 500,
            )
        if isinstance(exc, smtplib.SMTPException):
            return Attempt(False, f"SMTP error with {where}: {self._clean(str(exc))}", retry=True)
        if isinstance(exc, ssl.SSLCertVerificationError):
            return Attempt(
                False,
                f"the certificate of {where} could not be verified ({self._clean(str(exc))})",
                retry=False,
            )
        if isinstance(exc, ssl.SSLError):
            return Attempt(
                False,
                f"TLS failed with {where} ({self._clean(str(exc))}); check FLOCON_SMTP_SECURITY "
                "(ssl for port 465, starttls for 587) and FLOCON_SMTP_PORT",
                retry=False,
            )
        if isinstance(exc, TimeoutError):
            return Attempt(
                False, f"{where} did not answer within {self.config.timeout_s:g} s", retry=True
            )
        if isinstance(exc, socket.gaierror):
            return Attempt(False, f"cannot look up {self.config.host} ({exc})", retry=True)
        if isinstance(exc, OSError):
            return Attempt(
                False, f"could not connect to {where} ({self._clean(str(exc))})", retry=True
            )
        logger.warning("unexpected error sending e-mail: %s", type(exc).__name__)
        return Attempt(
            False, f"unexpected error ({type(exc).__name__}: {self._clean(str(exc))})", retry=True
        )


def _decode(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# -- webhooks -------------------------------------------------------------------------------

_RETRY_STATUSES = frozenset({408, 425, 429})


def short_url(url: str) -> str:
    """``scheme://host[:port]/…``: what can be shown of a URL whose path, query or
    user part may hold a token (many webhook URLs are secrets as a whole)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(invalid address)"
    if ":" in host:
        host = f"[{host}]"
    shown = f"{parts.scheme}://{host}{f':{port}' if port else ''}/"
    if parts.path.strip("/") or parts.query or parts.username or parts.password:
        shown += "…"
    return shown


def check_webhook_url(url: str) -> httpx.URL:
    """``url`` parsed, or :class:`ConfigError` when it is no ``http(s)://host/...``."""
    url = url.strip()
    shown = short_url(url) if "://" in url else one_line(url, 40)
    if _CONTROL.search(url) or " " in url:
        raise ConfigError(f"webhook {shown}: the URL contains spaces or control characters")
    try:
        parsed = httpx.URL(url)
        urlsplit(url).port  # noqa: B018  (raises ValueError for a port out of range)
    except (httpx.InvalidURL, ValueError):
        raise ConfigError(f"webhook {shown}: not a valid URL") from None
    if parsed.scheme not in ("http", "https"):
        raise ConfigError(
            f"webhook {shown}: only http:// and https:// URLs can receive webhooks "
            "(for chat services, use apprise:SERVICE://...)"
        )
    if not parsed.host:
        raise ConfigError(f"webhook {shown}: the URL has no host name")
    if parsed.fragment:
        raise ConfigError(
            f"webhook {shown}: remove the #fragment; the signing secret is never part of the "
            "URL, it comes from FLOCON_WEBHOOK_SECRET"
        )
    return parsed


class WebhookChannel:
    """POSTs the alert's payload as JSON, signed with HMAC-SHA256.

    Headers: ``X-Flocon-Timestamp`` (unix seconds), ``X-Flocon-Signature``
    (:func:`sign` over the timestamp and the exact body), ``X-Flocon-Delivery`` (the
    same for every retry of one delivery) and ``User-Agent``. Redirects are not
    followed; the address goes through flocon's SSRF guard (private addresses refused
    unless ``allow_private_addresses``; cloud metadata addresses always).
    """

    kind = "webhook"

    def __init__(
        self,
        url: str,
        secret: bytes,
        *,
        allow_private_addresses: bool = False,
        user_agent: str = "flocon",
        timeout_s: float = DEFAULT_TIMEOUT_S,
        resolver: Resolver | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ConfigError("a webhook needs a signing secret (FLOCON_WEBHOOK_SECRET)")
        self.url = str(check_webhook_url(url))
        self._secret = secret
        self._policy = AddressPolicy.build(allow_private=allow_private_addresses, allowed_hosts=())
        self._user_agent = user_agent
        self._timeout_s = timeout_s
        self._resolver = resolver or system_resolver
        self._clock = clock
        self._shown = short_url(self.url)
        parts = urlsplit(self.url)
        self._secrets = tuple(
            s
            for s in (self.url, parts.path, parts.query, parts.password or "", parts.username or "")
            if len(s) >= 4
        )

    def describe(self) -> str:
        return f"webhook {self._shown}"

    def request(self, message: Message, *, delivery_id: str | None = None) -> httpx.Request:
        """The request :meth:`send` makes (tests and receivers' documentation use it)."""
        body = encode_payload(message.payload)
        timestamp = int(self._clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self._user_agent,
            "X-Flocon-Timestamp": str(timestamp),
            "X-Flocon-Signature": sign(self._secret, timestamp, body),
            "X-Flocon-Delivery": delivery_token(delivery_id),
        }
        parts = urlsplit(self.url)
        if parts.username is not None:  # https://user:password@host/...: HTTP basic auth
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        timeout = httpx.Timeout(self._timeout_s, connect=min(self._timeout_s, 5.0))
        return httpx.Request(
            "POST",
            self.url,
            content=body,
            headers=headers,
            extensions={"timeout": timeout.as_dict()},
        )

    def send(self, message: Message, *, delivery_id: str | None = None) -> Attempt:
        return _run_sync(self.asend(message, delivery_id=delivery_id))

    async def asend(self, message: Message, *, delivery_id: str | None = None) -> Attempt:
        """:meth:`send` for async callers."""
        try:
            request = self.request(message, delivery_id=delivery_id)
        except (TypeError, ValueError) as exc:
            return Attempt(False, f"the payload is not JSON ({self._clean(str(exc))})", False)
        attempt = await self._post(request)
        log = logger.debug if attempt.ok else logger.info
        log(
            "webhook %s (delivery %s): %s",
            self._shown,
            request.headers["x-flocon-delivery"],
            attempt.detail,
        )
        return attempt

    async def _post(self, request: httpx.Request) -> Attempt:
        # The transport is used directly: no redirect handling, and no httpx client
        # logging the full URL (which may be a secret) at INFO level.
        transport = GuardedTransport(self._policy, self._resolver)
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await transport.handle_async_request(request)
                await response.aclose()
        except PrivateAddressError as exc:
            return Attempt(
                False, f"refused to send to {self._shown}: {exc}; {_PRIVATE_HINT}", False
            )
        except TimeoutError:
            return Attempt(
                False, f"{self._shown} did not answer within {self._timeout_s:g} s", True
            )
        except httpx.TimeoutException:
            return Attempt(
                False, f"{self._shown} did not answer within {self._timeout_s:g} s", True
            )
        except httpx.HTTPError as exc:
            if bad_certificate(exc):
                return Attempt(
                    False,
                    f"the certificate of {self._shown} could not be verified "
                    f"({self._clean(str(exc))})",
                    retry=False,
                )
            return Attempt(
                False, f"could not send to {self._shown} ({self._clean(str(exc))})", True
            )
        finally:
            with contextlib.suppress(Exception):
                await transport.aclose()
        return self._status_attempt(response.status_code, response.headers)

    def _status_attempt(self, status: int, headers: httpx.Headers) -> Attempt:
        if 200 <= status < 300:
            return Attempt(True, f"HTTP {status}", retry=False)
        if 300 <= status < 400:
            location = headers.get("location")
            target = f" to {short_url(location)}" if location and "://" in location else ""
            return Attempt(
                False,
                f"HTTP {status}: {self._shown} redirects{target}; redirects are not followed, "
                "update the webhook URL",
                retry=False,
            )
        retry_after = None
        if status in (429, 503):
            retry_after = parse_retry_after(headers.get("retry-after"))
        retry = status in _RETRY_STATUSES or (status >= 500 and status != 501)
        reason = httpx.codes.get_reason_phrase(status)
        detail = f"HTTP {status}" + (f" ({reason.lower()})" if reason else "")
        if retry_after is not None:
            detail += f", retry after {retry_after:g} s"
        return Attempt(False, detail, retry=retry, retry_after_s=retry_after)

    def _clean(self, text: str) -> str:
        return one_line(_mask(text, self._secrets), 300)


# -- Apprise --------------------------------------------------------------------------------

#: Schemes whose host is a server address (self-hosted services): it goes through the
#: address check. Other services talk to fixed public APIs (their "host" is often a token).
_SELF_HOSTED_SCHEMES = frozenset(
    f"{base}{s}"
    for base in ("json", "xml", "form", "mmost", "rocket", "gotify", "matrix", "nctalk", "ncloud")
    for s in ("", "s")
) | {"apprise", "apprises"}
_MASS_MENTION = re.compile(r"(?i)(?<![\w@])@(channel|here|all|everyone)\b")


class _SecretRegistry:
    """The secret parts of the Apprise URLs in use, masked in third-party log records."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, secrets: Iterable[str]) -> None:
        with self._lock:
            new = {s for s in secrets if len(s) >= 3} - self._secrets
            if new:
                self._secrets |= new
                self._pattern = self._compile(self._secrets)

    @staticmethod
    def _compile(secrets: set[str]) -> re.Pattern[str]:
        ordered = sorted(secrets, key=len, reverse=True)
        # Long secrets are masked wherever they appear; short ones only as whole words.
        long = "|".join(re.escape(s) for s in ordered if len(s) >= 8)
        short = "|".join(re.escape(s) for s in ordered if len(s) < 8)
        alternatives = []
        if long:
            alternatives.append(f"(?:{long})")
        if short:
            alternatives.append(f"(?<![A-Za-z0-9])(?:{short})(?![A-Za-z0-9])")
        return re.compile("|".join(alternatives))

    def scrub(self, text: str) -> str:
        pattern = self._pattern
        return text if pattern is None else pattern.sub("***", text)


_REGISTRY = _SecretRegistry()


class _ScrubFilter(logging.Filter):
    """Masks registered secrets in a record's message and traceback before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep only its template
            message = str(record.msg)
        scrubbed = _REGISTRY.scrub(message)
        if scrubbed != message or record.args:
            record.msg, record.args = scrubbed, None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, _REGISTRY.scrub(text)
        elif record.exc_text:
            record.exc_text = _REGISTRY.scrub(record.exc_text)
        return True


_CAPTURE: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "flocon_apprise_capture", default=None
)


class _CaptureHandler(logging.Handler):
    """Keeps Apprise's warnings and errors of the current send (already scrubbed)."""

    def emit(self, record: logging.LogRecord) -> None:
        lines = _CAPTURE.get()
        if lines is not None:
            lines.append(one_line(record.getMessage(), 300))


_THIRD_PARTY_LOGGERS = (
    "apprise",
    "requests",
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.response",
    "urllib3.poolmanager",
    "urllib3.util.retry",
)
_installed = False
_install_lock = threading.Lock()


def _apprise() -> Any:
    """Import Apprise once, load its plugins quietly, install the log filter."""
    global _installed
    if _installed:
        import apprise

        return apprise
    with _install_lock, warnings.catch_warnings():
        # Some plugins import deprecated modules (imghdr...): not flocon's warnings.
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise

        if not _installed:
            apprise.Apprise.instantiate("json://localhost", suppress_exceptions=True)
            names = set(_THIRD_PARTY_LOGGERS) | {
                name
                for name in list(logging.root.manager.loggerDict)
                if name.startswith(("apprise.", "urllib3.", "requests."))
            }
            scrub = _ScrubFilter()
            for name in sorted(names):
                logging.getLogger(name).addFilter(scrub)
            logging.getLogger("apprise").addHandler(_CaptureHandler(logging.WARNING))
            _installed = True
    return apprise


@contextlib.contextmanager
def _captured() -> Iterator[list[str]]:
    lines: list[str] = []
    token = _CAPTURE.set(lines)
    try:
        yield lines
    finally:
        _CAPTURE.reset(token)


def _looks_like_host(text: str) -> bool:
    lowered = text.lower()
    return lowered == "localhost" or bool(re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+\.?", lowered))


def apprise_secrets(url: str) -> set[str]:
    """The parts of an Apprise URL that may be secret: everything after the scheme except
    a host name, a port and query parameter names (tokens sit in the path, the user part,
    the query values, and for some services in the "host")."""
    _, sep, rest = url.partition("://")
    secrets = {url.strip(), rest} if sep else {url.strip()}
    rest, _, fragment = rest.partition("#")
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    pieces: list[str] = [fragment, path]
    userinfo, at, hostport = netloc.rpartition("@")
    if at:
        pieces += [userinfo, *userinfo.split(":")]
    host, colon, port = hostport.rpartition(":")
    if not colon or not port.isdigit():
        host = hostport
    if not (_looks_like_host(host) or host.startswith("[")):
        pieces += [hostport, *hostport.split(":")]
    for segment in path.split("/"):
        pieces += [segment, *re.split(r"[:,;+]", segment)]
    for pair in query.split("&"):
        value = pair.partition("=")[2]
        pieces += [value, *re.split(r"[:,;+]", value)]
    for piece in pieces:
        if piece and not (piece.isdigit() and len(piece) <= 5):
            secrets |= {piece, unquote(piece)}
    return {s for s in secrets if len(s) >= 3}


def _apprise_shown(plugin: Any, url: str) -> str:
    """What can be shown of an Apprise URL: Apprise's own privacy form, masked parts as
    ``…``, no query string, then this URL's own secret parts masked in case Apprise left
    one; without a plugin, only the scheme (and a host name)."""
    if plugin is not None:
        private = str(plugin.url(privacy=True)).partition("?")[0]
        private = re.sub(r"[^/:@?&=]\.\.\.[^/:@?&=]", "…", private)
        own = _SecretRegistry()
        own.add(apprise_secrets(url))
        return own.scrub(re.sub(r"\*{3,}", "…", private))
    scheme, sep, rest = url.partition("://")
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2].rpartition(":")[0]
    host = host or re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2]
    shown_host = host if _looks_like_host(host) else "…"
    return f"{one_line(scheme, 20)}://{shown_host}/…" if sep else "…"


def _known_scheme(scheme: str) -> bool:
    """Whether Apprise has a service for ``scheme`` (True when it cannot tell)."""
    try:
        from apprise import manager_plugins
    except ImportError:  # an Apprise without the plugin manager: its own message says it
        return True
    manager: Any = getattr(manager_plugins, "NotificationManager", None)
    return manager is None or scheme in manager()


class AppriseChannel:
    """Sends the subject and text through Apprise (Slack, Mattermost, Teams, Matrix,
    Discord, Telegram...: https://appriseit.com/services/). Failures are retried."""

    kind = "apprise"

    def __init__(self, url: str, *, allow_private_addresses: bool = False) -> None:
        url = url.strip()
        apprise = _apprise()
        _REGISTRY.add(apprise_secrets(url))
        with _captured() as lines:
            asset = apprise.AppriseAsset(async_mode=False)
            plugin: Any = apprise.Apprise.instantiate(url, asset=asset, suppress_exceptions=True)
        if plugin is None:
            shown = _apprise_shown(None, url)
            scheme = url.partition("://")[0].lower()
            if not url.partition("://")[1]:
                reason = "expected SERVICE://..., e.g. mmosts://chat.example.com/TOKEN"
            elif scheme in ("http", "https"):
                reason = (
                    "Apprise has no http(s):// service; use webhook:URL for a plain HTTPS "
                    "endpoint, or json://HOST/PATH for Apprise's JSON"
                )
            elif not _known_scheme(scheme):
                reason = f"Apprise has no service called {one_line(scheme, 30)!r}"
                reason += " (services and their URL forms: https://appriseit.com/services/)"
            else:
                reason = "; ".join(dict.fromkeys(lines)) or "Apprise does not accept it"
                reason += " (services and their URL forms: https://appriseit.com/services/)"
            raise ConfigError(f"apprise:{shown} is not a valid Apprise URL: {reason}")
        self._plugin = plugin
        self._asset = asset
        self._policy = AddressPolicy.build(allow_private=allow_private_addresses, allowed_hosts=())
        self._scheme = url.partition("://")[0].lower()
        self._shown = _apprise_shown(plugin, url)

    @property
    def service(self) -> str:
        """The service's name, as Apprise gives it ("Mattermost", "Slack"...)."""
        return str(getattr(self._plugin, "service_name", self._scheme))

    def describe(self) -> str:
        return f"apprise {self._shown}"

    def send(self, message: Message, *, delivery_id: str | None = None) -> Attempt:
        refused = self._refused_address()
        if refused is not None:
            return refused
        apprise = _apprise()
        notifier = apprise.Apprise(asset=self._asset)
        notifier.add(self._plugin)
        title = one_line(message.subject, 250)
        body = _MASS_MENTION.sub("@\u200b\\1", message.text)
        if message.url and message.url not in body:
            body += f"\n\n{message.url}"
        try:
            with _captured() as lines:
                ok = bool(
                    notifier.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT)
                )
        except Exception as exc:
            reason = _REGISTRY.scrub(one_line(f"{type(exc).__name__}: {exc}"))
            logger.warning("apprise %s: unexpected error: %s", self._shown, reason)
            return Attempt(False, f"{self.service}: unexpected error ({reason})", retry=True)
        if ok:
            logger.debug("apprise %s: delivered", self._shown)
            return Attempt(True, f"{self.service}: delivered", retry=False)
        reason = _REGISTRY.scrub(lines[-1]) if lines else "Apprise reported a failure"
        logger.info("apprise %s failed: %s", self._shown, reason)
        return Attempt(False, f"{self.service}: not delivered ({reason})", retry=True)

    def _refused_address(self) -> Attempt | None:
        """The SSRF check, for self-hosted services, before Apprise connects."""
        if self._scheme not in _SELF_HOSTED_SCHEMES:
            return None
        host = str(getattr(self._plugin, "host", "") or "").strip("[]")
        if not host:
            return None
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            return Attempt(False, f"cannot look up {host} ({exc})", retry=True)
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        refused = self._policy.refused_address(host, addresses)
        if refused is None:
            return None
        return Attempt(
            False,
            f"refused to send to {self._shown}: {host} resolves to a private address "
            f"({refused}); {_PRIVATE_HINT}",
            retry=False,
        )


# -- from the command line ------------------------------------------------------------------

_KINDS = "email:ADDRESS[,ADDRESS...], webhook:https://... or apprise:SERVICE://..."


def channel_from_spec(spec: str, settings: Settings) -> Channel:
    """The channel a user describes with one string (see the module's docstring).

    :class:`ConfigError` for a malformed spec; its message never repeats a URL's secret parts.
    """
    spec = spec.strip()
    kind, sep, rest = spec.partition(":")
    kind = kind.strip().lower()
    rest = rest.strip()
    if not sep or kind not in ("email", "webhook", "apprise"):
        if kind in ("http", "https"):
            hint = f"; for a webhook, write webhook:{short_url(spec)}"
        elif "@" in spec and "://" not in spec:
            hint = f"; for e-mail, write email:{one_line(spec, 80)}"
        else:
            hint = ""
        shown = one_line(kind, 20) if sep else "(no kind)"
        raise ConfigError(f"unknown channel kind {shown!r}: a channel is {_KINDS}{hint}")
    if not rest:
        raise ConfigError(f"the {kind} channel is empty: a channel is {_KINDS}")
    private = settings.allow_private_addresses
    if kind == "email":
        addresses = [a.strip() for a in re.split(r"[,;]", rest) if a.strip()]
        if not addresses:
            raise ConfigError("email: give at least one address, e.g. email:ops@example.com")
        for address in addresses:
            check_address(address)
        return EmailChannel(SmtpConfig.from_settings(settings), addresses)
    if kind == "webhook":
        check_webhook_url(rest)
        secret = str(_setting(settings, "webhook_secret", ""))
        if len(secret) < MIN_WEBHOOK_SECRET_CHARS:
            raise ConfigError(
                f"webhooks are signed: set FLOCON_WEBHOOK_SECRET to a random string of at least "
                f"{MIN_WEBHOOK_SECRET_CHARS} characters (e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`) and give it "
                "to the receiver"
            )
        return WebhookChannel(
            rest,
            secret.encode(),
            allow_private_addresses=private,
            user_agent=settings.http_user_agent,
            timeout_s=float(_setting(settings, "alert_timeout_s", DEFAULT_TIMEOUT_S)),
        )
    return AppriseChannel(rest, allow_private_addresses=private)
