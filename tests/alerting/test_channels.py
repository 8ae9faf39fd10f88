"""Alert channels against real local servers: SMTP (aiosmtpd), HTTP (http.server), Apprise."""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import hmac
import json
import logging
import random
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from flocon.alerting.channels import (
    MAX_ATTEMPTS,
    AppriseChannel,
    Attempt,
    EmailChannel,
    Message,
    SmtpConfig,
    WebhookChannel,
    apprise_secrets,
    backoff_s,
    channel_from_spec,
    encode_payload,
    next_delay_s,
    sign,
    verify,
)
from flocon.errors import ConfigError
from flocon.settings import Settings

SECRET = b"s3cret-webhook-key-for-tests"
TOKEN = "yobjmukpaw3r3urc5h6i369yima"
PASSWORD = "hunter2-Pa55word"

MESSAGE = Message(
    subject="[flocon] Spike on 'Acme' — 42 mentions in 30 min",
    text="42 mentions of Acme in 30 min.\n\nTop: <script>alert('x')</script> & more\n",
    payload={"type": "spike", "watch": "Acme", "count": 42, "text": "éà <b>"},
    url="https://flocon.example.com/alerts/7",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- a local SMTP server --------------------------------------------------------------------


class Mailbox:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def message(self, index: int = 0) -> EmailMessage:
        content = self.envelopes[index].content
        assert isinstance(content, bytes)
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data == (b"flocon", PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def smtp_config(port: int, **overrides: Any) -> SmtpConfig:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from_address": "flocon <alerts@example.com>",
        "helo_name": "localhost",
        "timeout_s": 5.0,
    }
    values.update(overrides)
    return SmtpConfig(**values)


def test_email_is_delivered_with_escaped_html(mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    channel = EmailChannel(smtp_config(port), ["ops@example.com", "cm@example.com"])
    attempt = channel.send(MESSAGE, delivery_id="d-123")
    assert attempt.ok, attempt.detail
    assert attempt.detail.startswith("SMTP 250")
    envelope = box.envelopes[0]
    assert envelope.mail_from == "alerts@example.com"
    assert envelope.rcpt_tos == ["ops@example.com", "cm@example.com"]
    msg = box.message()
    assert msg["Subject"] == MESSAGE.subject
    assert msg["From"] == "flocon <alerts@example.com>"
    assert msg["To"] == "ops@example.com, cm@example.com"
    assert msg["Message-ID"] == "<flocon.d-123@example.com>"
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    assert text_part is not None and html_part is not None
    assert "<script>alert('x')</script>" in text_part.get_content()
    html_text = html_part.get_content()
    assert "<script>" not in html_text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in html_text
    assert '<a href="https://flocon.example.com/alerts/7">' in html_text
    assert channel.describe() == "email → ops@example.com, cm@example.com"


def test_email_subject_cannot_inject_headers(mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    channel = EmailChannel(smtp_config(port), ["ops@example.com"])
    evil = Message(
        subject="Spike\r\nBcc: victim@example.com\nX-Evil: 1", text="body", payload={}, url=None
    )
    assert channel.send(evil).ok
    msg = box.message()
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert msg["Subject"] == "Spike Bcc: victim@example.com X-Evil: 1"
    assert box.envelopes[0].rcpt_tos == ["ops@example.com"]


def test_email_login(mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    channel = EmailChannel(
        smtp_config(port, username="flocon", password=PASSWORD), ["ops@example.com"]
    )
    attempt = channel.send(MESSAGE)
    assert attempt.ok, attempt.detail
    assert len(box.envelopes) == 1


def test_email_auth_failure_is_permanent(
    mailbox: tuple[Mailbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    box, port = mailbox
    channel = EmailChannel(
        smtp_config(port, username="flocon", password="wrong-Pa55word"), ["ops@example.com"]
    )
    attempt = channel.send(MESSAGE)
    assert not attempt.ok
    assert attempt.retry is False
    assert "535" in attempt.detail and "FLOCON_SMTP_PASSWORD" in attempt.detail
    assert "wrong-Pa55word" not in attempt.detail
    assert "wrong-Pa55word" not in caplog.text
    assert "wrong-Pa55word" not in repr(channel.config)
    assert box.envelopes == []


def test_email_refused_connection_is_retried() -> None:
    channel = EmailChannel(smtp_config(free_port()), ["ops@example.com"])
    attempt = channel.send(MESSAGE)
    assert attempt == Attempt(ok=False, detail=attempt.detail, retry=True)
    assert "could not connect" in attempt.detail


def test_email_starttls_required_but_not_offered(mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    channel = EmailChannel(smtp_config(port, security="starttls"), ["ops@example.com"])
    attempt = channel.send(MESSAGE)
    assert not attempt.ok and attempt.retry is False
    assert "STARTTLS" in attempt.detail
    assert box.envelopes == []


def test_email_idn_domain_and_unsafe_link() -> None:
    channel = EmailChannel(smtp_config(25), ["ops@exämple.com"])
    assert channel.recipients == ("ops@xn--exmple-cua.com",)
    msg = channel.build(
        Message(subject="s", text="t", payload={}, url="javascript:alert(1)"), delivery_id=None
    )
    html_part = msg.get_body(preferencelist=("html",))
    assert html_part is not None and "javascript" not in html_part.get_content()
    assert msg["X-Flocon-Delivery"] and msg["Message-ID"].startswith("<flocon.")


def _self_signed_context(tmp_path: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


def test_email_unverifiable_certificate_is_permanent(tmp_path: Path) -> None:
    box, port = Mailbox(), free_port()
    controller = Controller(
        box, hostname="127.0.0.1", port=port, ssl_context=_self_signed_context(tmp_path)
    )
    controller.start()
    try:
        attempt = EmailChannel(smtp_config(port, security="ssl"), ["ops@example.com"]).send(MESSAGE)
    finally:
        controller.stop()
    assert not attempt.ok and attempt.retry is False
    assert "certificate" in attempt.detail
    assert box.envelopes == []


@pytest.mark.parametrize(
    "address", ["ops", "ops@", "@example.com", "a b@example.com", "ops@exa mple.com", "ops@com"]
)
def test_email_rejects_bad_addresses(address: str) -> None:
    with pytest.raises(ConfigError, match="e-mail address"):
        EmailChannel(smtp_config(25), [address])


# -- a local HTTP receiver ------------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 answering ``replies[path]`` (default 200) and recording."""

    requests: list[Received] = field(default_factory=list)
    replies: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    delay_s: float = 0.0
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reply(self, path: str, status: int, headers: dict[str, str] | None = None) -> None:
        self.replies[path] = (status, headers or {}, b"")


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver.requests.append(
                Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            if receiver.delay_s:
                receiver.release.wait(receiver.delay_s)
            status, headers, content = receiver.replies.get(self.path, (200, {}, b"ok"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


# -- webhooks -------------------------------------------------------------------------------


def webhook(url: str, **kwargs: Any) -> WebhookChannel:
    kwargs.setdefault("allow_private_addresses", True)
    return WebhookChannel(url, SECRET, user_agent="flocon-test/1", **kwargs)


def test_webhook_posts_signed_json(receiver: Receiver) -> None:
    channel = webhook(receiver.url("/hooks/flocon-secret-path"))
    attempt = channel.send(MESSAGE, delivery_id="delivery-42")
    assert attempt == Attempt(ok=True, detail="HTTP 200", retry=False)
    (request,) = receiver.requests
    assert request.path == "/hooks/flocon-secret-path"
    assert json.loads(request.body) == MESSAGE.payload
    assert request.body == encode_payload(MESSAGE.payload)
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "flocon-test/1"
    assert headers["x-flocon-delivery"] == "delivery-42"
    timestamp, signature = headers["x-flocon-timestamp"], headers["x-flocon-signature"]
    now = float(timestamp)
    assert verify(SECRET, timestamp, signature, request.body, now=now)
    assert verify(SECRET, timestamp, signature, request.body)  # the real clock: fresh
    assert not verify(SECRET, timestamp, signature, request.body + b" ", now=now)
    assert not verify(SECRET, timestamp, signature, request.body.replace(b"42", b"43"), now=now)
    assert not verify(b"another-secret", timestamp, signature, request.body, now=now)
    assert not verify(SECRET, timestamp, signature, request.body, now=now + 301)
    assert not verify(SECRET, timestamp, signature, request.body, now=now - 301)
    assert verify(SECRET, timestamp, signature, request.body, now=now + 299)
    assert not verify(SECRET, str(int(now) + 1), signature, request.body, now=now)
    assert not verify(SECRET, "soon", signature, request.body, now=now)
    assert not verify(SECRET, timestamp, "sha256=00", request.body, now=now)
    assert not verify(SECRET, timestamp, "sha256=é", request.body, now=now)
    assert channel.describe() == f"webhook http://127.0.0.1:{receiver.port}/…"
    assert "secret-path" not in channel.describe()


def test_webhook_delivery_id_defaults_to_a_fresh_one(receiver: Receiver) -> None:
    channel = webhook(receiver.url("/h"))
    assert channel.send(MESSAGE).ok and channel.send(MESSAGE).ok
    first, second = (r.headers["x-flocon-delivery"] for r in receiver.requests)
    assert first and second and first != second


def test_webhook_basic_auth_and_unsafe_delivery_id(receiver: Receiver) -> None:
    url = receiver.url("/h").replace("http://", "http://hook:p%40ss-w0rd@")
    channel = webhook(url)
    assert channel.describe() == f"webhook http://127.0.0.1:{receiver.port}/…"
    assert channel.send(MESSAGE, delivery_id="d-1\r\nX-Evil: 1").ok
    (request,) = receiver.requests
    assert request.headers["authorization"] == "Basic aG9vazpwQHNzLXcwcmQ="
    assert request.headers["x-flocon-delivery"] == "d-1X-Evil:1"
    assert "x-evil" not in request.headers


def test_sign_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign(b"k", 1700000000, b"{}") == f"sha256={expected}"
    # The standalone receiver of docs/alerts-channels.md agrees.
    timestamp, body = "1700000000", b'{"a":1}'
    docs = "sha256=" + hmac.new(b"k", timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert docs == sign(b"k", int(timestamp), body)


@pytest.mark.parametrize(
    ("status", "retry"), [(500, True), (502, True), (503, True), (400, False), (410, False)]
)
def test_webhook_status_decides_retry(receiver: Receiver, status: int, retry: bool) -> None:
    receiver.reply("/h", status)
    attempt = webhook(receiver.url("/h")).send(MESSAGE)
    assert not attempt.ok
    assert attempt.retry is retry
    assert attempt.detail.startswith(f"HTTP {status}")


def test_webhook_429_carries_retry_after(receiver: Receiver) -> None:
    receiver.reply("/h", 429, {"Retry-After": "120"})
    attempt = webhook(receiver.url("/h")).send(MESSAGE)
    assert not attempt.ok and attempt.retry
    assert attempt.retry_after_s == 120.0
    assert next_delay_s(1, attempt, rng=random.Random(1)) == 120.0


def test_webhook_redirect_is_not_followed(receiver: Receiver) -> None:
    receiver.reply("/old", 302, {"Location": receiver.url("/new")})
    attempt = webhook(receiver.url("/old")).send(MESSAGE)
    assert not attempt.ok and attempt.retry is False
    assert "redirect" in attempt.detail
    assert [r.path for r in receiver.requests] == ["/old"]


def test_webhook_private_address_refused_unless_allowed(receiver: Receiver) -> None:
    channel = webhook(receiver.url("/h"), allow_private_addresses=False)
    attempt = channel.send(MESSAGE)
    assert not attempt.ok and attempt.retry is False
    assert "private address" in attempt.detail
    assert "FLOCON_ALLOW_PRIVATE_ADDRESSES" in attempt.detail
    assert receiver.requests == []


def test_webhook_refused_connection_and_timeout_are_retried(receiver: Receiver) -> None:
    attempt = webhook(f"http://127.0.0.1:{free_port()}/h").send(MESSAGE)
    assert not attempt.ok and attempt.retry
    receiver.delay_s = 5.0
    attempt = webhook(receiver.url("/slow"), timeout_s=0.3).send(MESSAGE)
    assert not attempt.ok and attempt.retry
    assert "did not answer within 0.3 s" in attempt.detail


def test_webhook_send_works_inside_an_event_loop(receiver: Receiver) -> None:
    channel = webhook(receiver.url("/h"))

    async def main() -> tuple[Attempt, Attempt]:
        return channel.send(MESSAGE), await channel.asend(MESSAGE)

    first, second = asyncio.run(main())
    assert first.ok and second.ok
    assert len(receiver.requests) == 2


def test_webhook_payload_must_be_json() -> None:
    bad = Message(subject="s", text="t", payload={"x": float("nan")})
    attempt = webhook("http://127.0.0.1:9/h").send(bad)
    assert not attempt.ok and attempt.retry is False


# -- retry schedule -------------------------------------------------------------------------


def test_backoff_schedule() -> None:
    rng = random.Random(7)
    bases = [30, 120, 600, 3600, 21600]
    for number, base in enumerate(bases, start=1):
        delay = backoff_s(number, rng=rng)
        assert delay is not None and 0.8 * base <= delay <= 1.2 * base
    assert backoff_s(MAX_ATTEMPTS, rng=rng) is None
    assert MAX_ATTEMPTS == 6
    with pytest.raises(ValueError, match="starts at 1"):
        backoff_s(0)
    failed = Attempt(ok=False, detail="HTTP 500", retry=True)
    assert next_delay_s(1, failed) is not None
    assert next_delay_s(6, failed) is None
    assert next_delay_s(1, Attempt(ok=False, detail="HTTP 410", retry=False)) is None
    assert next_delay_s(1, Attempt(ok=True, detail="HTTP 200", retry=False)) is None


# -- Apprise --------------------------------------------------------------------------------


def _assert_no_token(caplog: pytest.LogCaptureFixture, token: str) -> None:
    for record in caplog.records:
        assert token not in record.getMessage(), record.getMessage()
        assert token not in (record.exc_text or "")
    assert token not in caplog.text


def test_apprise_json(receiver: Receiver) -> None:
    channel = AppriseChannel(
        receiver.url("/notify").replace("http", "json"), allow_private_addresses=True
    )
    attempt = channel.send(MESSAGE)
    assert attempt.ok, attempt.detail
    (request,) = receiver.requests
    assert request.path == "/notify"
    sent = json.loads(request.body)
    assert sent["title"] == MESSAGE.subject
    assert MESSAGE.text.strip() in sent["message"]
    assert MESSAGE.url is not None and MESSAGE.url in sent["message"]


def test_apprise_mattermost_keeps_its_token_secret(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    channel = AppriseChannel(
        f"mmost://127.0.0.1:{receiver.port}/{TOKEN}", allow_private_addresses=True
    )
    attempt = channel.send(MESSAGE)
    assert attempt.ok, attempt.detail
    (request,) = receiver.requests
    assert request.path == f"/hooks/{TOKEN}"
    text = json.loads(request.body)["text"]
    assert MESSAGE.subject in text and "42 mentions of Acme" in text
    assert TOKEN not in channel.describe()
    assert channel.describe().startswith(f"apprise mmost://127.0.0.1:{receiver.port}/")
    assert any("hooks" in r.getMessage() or "Mattermost" in r.getMessage() for r in caplog.records)
    _assert_no_token(caplog, TOKEN)


def test_apprise_failure_is_retried_without_leaking(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.reply(f"/hooks/{TOKEN}", 500)
    channel = AppriseChannel(
        f"mmost://127.0.0.1:{receiver.port}/{TOKEN}", allow_private_addresses=True
    )
    attempt = channel.send(MESSAGE)
    assert not attempt.ok and attempt.retry
    assert attempt.detail.startswith("Mattermost: not delivered")
    assert TOKEN not in attempt.detail
    _assert_no_token(caplog, TOKEN)


def test_apprise_refused_connection_does_not_leak(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    channel = AppriseChannel(
        f"mmost://127.0.0.1:{free_port()}/{TOKEN}", allow_private_addresses=True
    )
    attempt = channel.send(MESSAGE)
    assert not attempt.ok and attempt.retry
    assert TOKEN not in attempt.detail
    _assert_no_token(caplog, TOKEN)


def test_apprise_private_address_refused_unless_allowed(receiver: Receiver) -> None:
    channel = AppriseChannel(f"mmost://127.0.0.1:{receiver.port}/{TOKEN}")
    attempt = channel.send(MESSAGE)
    assert not attempt.ok and attempt.retry is False
    assert "private address" in attempt.detail
    assert receiver.requests == []


def test_apprise_neutralises_mass_mentions(receiver: Receiver) -> None:
    channel = AppriseChannel(
        receiver.url("/n").replace("http", "json"), allow_private_addresses=True
    )
    shouting = Message(subject="s", text="hey @channel and @everyone, mail a@here.com", payload={})
    assert channel.send(shouting).ok
    body = json.loads(receiver.requests[0].body)["message"]
    assert "@channel" not in body and "@everyone" not in body
    assert "@\u200bchannel" in body and "a@here.com" in body


def test_third_party_logs_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    AppriseChannel(f"mmost://chat.example.com/{TOKEN}")
    logging.getLogger("urllib3.connectionpool").debug('"POST /hooks/%s HTTP/1.1" 200', TOKEN)
    try:
        raise RuntimeError(f"failed on /hooks/{TOKEN}")
    except RuntimeError:
        logging.getLogger("apprise").exception("boom")
    _assert_no_token(caplog, TOKEN)
    assert "/hooks/***" in caplog.text


@pytest.mark.parametrize(
    "url",
    [
        "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/12345",
        "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",
        "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js",
        "mmost://user@chat.example.com:8065/yobjmukpaw3r3urc5h6i369yima",
        "mailtos://ops:Sup3r-Secret@mail.example.com?to=cm@example.com",
    ],
)
def test_apprise_describe_hides_secrets(url: str) -> None:
    channel = AppriseChannel(url)
    shown = channel.describe()
    assert shown.startswith("apprise ")
    for secret in (
        "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        "TIiajkdnlazkcOXrIdevi7FQ",
        "JHMHI8qBe7bk2ZwO5U711o3dV_js",
        TOKEN,
        "Sup3r-Secret",
    ):
        assert secret not in shown


def test_apprise_secrets_keep_host_names() -> None:
    secrets = apprise_secrets(f"mmosts://chat.example.com:8065/{TOKEN}?channel=ops-room")
    assert TOKEN in secrets and "ops-room" in secrets
    assert "chat.example.com" not in secrets and "8065" not in secrets
    assert "channel" not in secrets
    assert "123456789:AAHdqTcvCH" in apprise_secrets("tgram://123456789:AAHdqTcvCH/1")


# -- channel_from_spec ----------------------------------------------------------------------


def settings(**values: Any) -> Settings:
    return Settings(**values)


def test_spec_email() -> None:
    channel = channel_from_spec(
        "email: ops@example.com, cm@example.com",
        settings(smtp_host="smtp.example.com", smtp_from="alerts@example.com"),
    )
    assert isinstance(channel, EmailChannel)
    assert channel.kind == "email"
    assert channel.recipients == ("ops@example.com", "cm@example.com")
    assert channel.config.effective_port == 587
    assert channel.describe() == "email → ops@example.com, cm@example.com"


def test_spec_email_reads_smtp_settings() -> None:
    channel = channel_from_spec(
        "email:ops@example.com",
        settings(
            smtp_host="smtp.example.com",
            smtp_from="alerts@example.com",
            smtp_security="ssl",
            smtp_username="flocon",
            smtp_password=PASSWORD,
        ),
    )
    assert isinstance(channel, EmailChannel)
    config = channel.config
    assert (config.security, config.effective_port, config.username) == ("ssl", 465, "flocon")
    assert config.password == PASSWORD and config.timeout_s == 10.0
    assert PASSWORD not in repr(config) and PASSWORD not in channel.describe()


@pytest.mark.parametrize(
    ("spec", "values", "match"),
    [
        ("email:ops", {"smtp_host": "h", "smtp_from": "a@example.com"}, "not an e-mail"),
        ("email:ops@example.com,", {"smtp_host": "h", "smtp_from": "a@example.com"}, None),
        ("email:", {"smtp_host": "h", "smtp_from": "a@example.com"}, "empty"),
        ("email:ops@example.com", {}, "FLOCON_SMTP_HOST"),
        ("email:ops@example.com", {"smtp_host": "h"}, "FLOCON_SMTP_FROM"),
        ("email:ops@example.com", {"smtp_host": "h", "smtp_from": "nobody"}, "e-mail address"),
    ],
)
def test_spec_email_errors(spec: str, values: dict[str, Any], match: str | None) -> None:
    if match is None:  # a trailing comma is harmless
        assert channel_from_spec(spec, settings(**values)).kind == "email"
        return
    with pytest.raises(ConfigError, match=match):
        channel_from_spec(spec, settings(**values))


def test_smtp_config_is_checked() -> None:
    with pytest.raises(ConfigError, match="FLOCON_SMTP_SECURITY"):
        SmtpConfig(host="h", from_address="a@example.com", security="tls")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="FLOCON_SMTP_PORT"):
        SmtpConfig(host="h", from_address="a@example.com", port=70000)


def test_spec_webhook() -> None:
    channel = channel_from_spec(
        "webhook:https://hooks.example.com/flocon/T0KEN-in-path",
        settings(webhook_secret="x" * 32),
    )
    assert isinstance(channel, WebhookChannel)
    assert channel.kind == "webhook"
    assert channel.describe() == "webhook https://hooks.example.com/…"
    request = channel.request(MESSAGE, delivery_id="d")
    assert request.headers["user-agent"].startswith("flocon/")
    assert request.url == "https://hooks.example.com/flocon/T0KEN-in-path"


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("webhook:ftp://hooks.example.com/x", "only http:// and https://"),
        ("webhook:hooks.example.com/x", "only http:// and https://"),
        ("webhook:https:///nohost", "no host"),
        ("webhook:https://hooks.example.com/a b", "spaces"),
        ("webhook:https://hooks.example.com/x#secret=letmein", "FLOCON_WEBHOOK_SECRET"),
        ("webhook:https://hooks.example.com:99999/x", "not a valid URL"),
    ],
)
def test_spec_webhook_errors(spec: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as caught:
        channel_from_spec(spec, settings(webhook_secret="x" * 32))
    assert "letmein" not in str(caught.value)


def test_spec_webhook_needs_a_secret() -> None:
    with pytest.raises(ConfigError, match="FLOCON_WEBHOOK_SECRET"):
        channel_from_spec("webhook:https://hooks.example.com/x", settings())
    with pytest.raises(ConfigError, match="at least 16"):
        channel_from_spec("webhook:https://hooks.example.com/x", settings(webhook_secret="short"))


def test_spec_apprise() -> None:
    channel = channel_from_spec(f"apprise:mmosts://chat.example.com/{TOKEN}", settings())
    assert isinstance(channel, AppriseChannel)
    assert channel.kind == "apprise"
    assert channel.service == "Mattermost"
    assert channel.describe().startswith("apprise mmosts://chat.example.com/")
    assert TOKEN not in channel.describe()


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("apprise:mmost://chat.example.com", "not a valid Apprise URL"),
        (f"apprise:nosuchservice://{TOKEN}", "no service called 'nosuchservice'"),
        (f"apprise:https://chat.example.com/{TOKEN}", "use webhook:URL"),
        (f"apprise:{TOKEN}", "SERVICE://"),
    ],
)
def test_spec_apprise_errors(spec: str, match: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigError, match=match) as caught:
        channel_from_spec(spec, settings())
    assert TOKEN not in str(caught.value)
    _assert_no_token(caplog, TOKEN)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("sms:+33600000000", "unknown channel kind 'sms'"),
        (f"https://hooks.example.com/{TOKEN}", "webhook:https://hooks.example.com/…"),
        ("ops@example.com", "email:ops@example.com"),
        ("", "no kind"),
    ],
)
def test_spec_unknown_kind(spec: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as caught:
        channel_from_spec(spec, settings())
    assert TOKEN not in str(caught.value)
