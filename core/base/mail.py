"""Outgoing mail: ``mail.mail`` messages, kept with their status, sent over SMTP by a job.

``env["mail.mail"].create({...}).send()`` queues one ``mail.send`` job per message; the job
builds the e-mail, talks to the SMTP server named in the ``[mail]`` configuration (holding
no database lock meanwhile) and records the outcome. A failed try counts an attempt,
stores the reason and is retried by the job queue (1, 2, 4... minutes later) until
``mail.max_attempts``; then the message is marked ``exception``. Delivery is at least once:
if the worker dies between the SMTP server's "OK" and the commit, the message goes again.
"""

from __future__ import annotations

import logging
import mimetypes
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, getaddresses, make_msgid, parseaddr
from html.parser import HTMLParser

from core.config import load_config
from core.jobs.queue import Job, JobFailed
from core.orm import fields
from core.orm.models import Model
from core.orm.support import utcnow

_logger = logging.getLogger(__name__)

STATES = (
    ("outgoing", "Outgoing"),
    ("sent", "Sent"),
    ("exception", "Delivery failed"),
    ("cancel", "Cancelled"),
)
RETRY_DELAY = 60  # seconds before the first retry; doubled after each further failure


@dataclass(frozen=True)
class MailSettings:
    """The ``[mail]`` configuration keys."""

    host: str
    port: int
    user: str
    password: str
    security: str
    timeout: int
    default_from: str
    max_attempts: int

    @classmethod
    def from_config(cls, config):
        if config is None:
            config = load_config()
        return cls(
            host=config["mail.smtp_host"],
            port=config["mail.smtp_port"],
            user=config["mail.smtp_user"],
            password=config["mail.smtp_password"],
            security=config["mail.smtp_security"],
            timeout=config["mail.smtp_timeout"],
            default_from=config["mail.default_from"],
            max_attempts=config["mail.max_attempts"],
        )

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"


class MailContentError(ValueError):
    """The message itself cannot be sent (no recipient, a malformed address or header)."""


@dataclass
class Delivery:
    """The outcome of one try: ``error`` is None when the server accepted the message."""

    error: str | None = None
    permanent: bool = False
    refused: str | None = None  # some recipients refused while the others got it


class MailMail(Model):
    _name = "mail.mail"
    _description = "Outgoing e-mail"
    _order = "id desc"
    _rec_name = "subject"

    email_from = fields.Char("From", help="Empty: mail.default_from of the configuration")
    email_to = fields.Text("To", help="Addresses separated by commas")
    email_cc = fields.Text("Cc", help="Addresses separated by commas")
    reply_to = fields.Char("Reply-To")
    subject = fields.Char("Subject")
    body_html = fields.Text("Body (HTML)")
    body_text = fields.Text("Body (text)", help="Empty: made from the HTML body")
    attachment_ids = fields.Many2many("ir.attachment", "Attachments")
    state = fields.Selection(
        STATES, "Status", default="outgoing", required=True, index=True, copy=False
    )
    failure_reason = fields.Text("Failure reason", copy=False)
    attempts = fields.Integer("Attempts", default=0, copy=False)
    message_id = fields.Char("Message-Id", index=True, copy=False)
    sent_date = fields.Datetime("Sent on", copy=False)
    res_model = fields.Char("Related model", index=True)
    res_id = fields.Integer("Related record id", index=True)

    def create(self, vals_list):
        single = isinstance(vals_list, dict)
        settings = MailSettings.from_config(self.env.registry.config)
        prepared = []
        for vals in [vals_list] if single else list(vals_list):
            vals = dict(vals)
            if not vals.get("email_from"):
                vals["email_from"] = settings.default_from
            if not vals.get("message_id"):
                vals["message_id"] = make_msgid(domain=_domain_of(vals["email_from"]))
            prepared.append(vals)
        return super().create(prepared)

    # -- actions ---------------------------------------------------------------------------------
    def send(self):
        """Queue these messages: one ``mail.send`` job each, run after the commit.

        Failed messages (``exception``) go again with their attempts reset; sent and
        cancelled ones are left alone.
        """
        failed = self.filtered(lambda m: m.state == "exception")
        if failed:
            failed.write({"state": "outgoing", "attempts": 0, "failure_reason": False})
        for mail in self.filtered(lambda m: m.state == "outgoing"):
            _enqueue(self.env, "mail.send", mail_id=mail.id)
        return True

    def send_now(self):
        """Send these messages here and now, in the caller's transaction, without the queue
        and its retries (shell, scripts). Each try counts as an attempt. True if all went."""
        settings = MailSettings.from_config(self.env.registry.config)
        jobs = self.env.registry.jobs
        all_sent = True
        for mail in self:
            if mail.state in ("sent", "cancel"):
                continue
            with jobs.lock(f"mail.mail:{mail.id}", 4 * settings.timeout + 60) as held:
                if not held:  # a worker is sending it right now
                    all_sent = False
                    continue
                try:
                    prepared = mail._prepare_message(settings)
                except MailContentError as exc:
                    delivery = Delivery(str(exc), permanent=True)
                else:
                    delivery = deliver(settings, *prepared)
                all_sent = mail._record_attempt(delivery, settings) == "sent" and all_sent
        return all_sent

    def cancel(self):
        """Do not send these messages (those not sent yet)."""
        self.filtered(lambda m: m.state in ("outgoing", "exception")).write({"state": "cancel"})
        return True

    # -- building and recording --------------------------------------------------------------------
    def _prepare_message(self, settings) -> tuple[EmailMessage, str, list[str]]:
        """The e-mail, the envelope sender and the envelope recipients."""
        self.ensure_one()
        sender = self.email_from or settings.default_from
        sender_pair = _one_address(sender, "From")
        to = _address_list(self.email_to, "To")
        cc = _address_list(self.email_cc, "Cc")
        if not to and not cc:
            raise MailContentError("the message has no recipient (To and Cc are empty)")
        message = EmailMessage()
        try:
            message["Subject"] = self.subject or ""
            message["From"] = formataddr(sender_pair)
            if to:
                message["To"] = ", ".join(formataddr(pair) for pair in to)
            if cc:
                message["Cc"] = ", ".join(formataddr(pair) for pair in cc)
            if self.reply_to:
                message["Reply-To"] = formataddr(_one_address(self.reply_to, "Reply-To"))
            message["Date"] = formatdate(usegmt=True)
            message["Message-ID"] = self.message_id or make_msgid(domain=_domain_of(sender))
        except ValueError as exc:  # e.g. a line break in a header: refused, not injected
            raise MailContentError(f"bad header: {exc}") from None
        text = self.body_text or html_to_text(self.body_html or "")
        message.set_content(text or "\n")
        if self.body_html:
            message.add_alternative(self.body_html, subtype="html")
        for attachment in self.attachment_ids:
            maintype, subtype = _mime_type(attachment.mimetype, attachment.name)
            message.add_attachment(
                attachment.datas or b"",
                maintype=maintype,
                subtype=subtype,
                filename=attachment.name,
            )
        recipients = list(dict.fromkeys(addr for _name, addr in to + cc))
        return message, sender_pair[1], recipients

    def _record_attempt(self, delivery: Delivery, settings) -> str:
        """Count the try and store its outcome: "sent", "retry", "exception" or "cancel"."""
        self.ensure_one()
        attempts = (self.attempts or 0) + 1
        vals = {"attempts": attempts}
        if delivery.error is None:
            outcome = "sent"
            vals.update(state="sent", sent_date=utcnow(), failure_reason=delivery.refused or False)
        elif self.state == "cancel":  # cancelled while the try was under way
            outcome = "cancel"
            vals.update(failure_reason=delivery.error)
        elif delivery.permanent or attempts >= settings.max_attempts:
            outcome = "exception"
            vals.update(state="exception", failure_reason=delivery.error)
        else:
            outcome = "retry"
            vals.update(state="outgoing", failure_reason=delivery.error)
        self.write(vals)
        if outcome == "sent":
            _logger.info("mail %s sent (%s)", self.id, self.message_id)
        else:
            _logger.warning(
                "mail %s: attempt %d of %d failed: %s",
                self.id,
                attempts,
                settings.max_attempts,
                delivery.error,
            )
        return outcome


# -- the job -----------------------------------------------------------------------------------------


def send_mail_job(env, mail_id):
    """``mail.send``: one message. Reads it in one short transaction, talks to the SMTP
    server outside any transaction, records the outcome in a second one. A lock keeps two
    workers from sending one message at the same time (say it was queued twice)."""
    registry = env.registry
    settings = MailSettings.from_config(registry.config)
    stale_after = 4 * settings.timeout + 60
    with registry.jobs.lock(f"mail.mail:{mail_id}", stale_after) as held:
        if not held:
            _logger.info("mail %s is being sent by another job; skipped", mail_id)
            return "skipped"
        with registry.transaction() as tx:
            mail = tx["mail.mail"].sudo().browse(mail_id).exists()
            if not mail or mail.state != "outgoing":
                return "skipped"
            try:
                prepared = mail._prepare_message(settings)
            except MailContentError as exc:
                prepared, delivery = None, Delivery(str(exc), permanent=True)
        if prepared is not None:
            delivery = deliver(settings, *prepared)
        with registry.transaction() as tx:
            outcome = tx["mail.mail"].sudo().browse(mail_id)._record_attempt(delivery, settings)
    if outcome == "retry":
        raise JobFailed(f"mail {mail_id}: {delivery.error}")
    return outcome


def _max_retries(config):
    return MailSettings.from_config(config).max_attempts - 1


JOBS = (
    Job(
        "mail.send",
        send_mail_job,
        retries=_max_retries,
        retry_delay=RETRY_DELAY,
        retry_backoff=2,
        transaction=False,
    ),
)
MODELS = (MailMail,)


def _enqueue(env, name, **payload):
    """``env.enqueue`` inside a transaction; at once outside one (its commit is each write)."""
    if env.db.in_transaction():
        env.enqueue(name, **payload)
    else:
        env.registry.jobs.enqueue(name, **payload)


# -- SMTP -------------------------------------------------------------------------------------------


def deliver(settings: MailSettings, message: EmailMessage, sender: str, recipients) -> Delivery:
    """Send one message through the configured SMTP server; never raises for SMTP trouble."""
    try:
        refused = _smtp_send(settings, message, sender, list(recipients))
    except Exception as exc:  # every failure is recorded on the message, none is lost
        error, permanent = describe_smtp_error(exc, settings)
        return Delivery(error, permanent)
    if refused:
        return Delivery(refused="refused by the server: " + _describe_refused(refused))
    return Delivery()


def _smtp_send(settings, message, sender, recipients):
    context = ssl.create_default_context()
    if settings.security == "ssl":
        smtp = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        smtp.ehlo()
        if settings.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.user:
            smtp.login(settings.user, settings.password)
        return smtp.send_message(message, from_addr=sender, to_addrs=recipients)
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def describe_smtp_error(exc, settings) -> tuple[str, bool]:
    """A sentence saying what went wrong, and whether trying again cannot help."""
    server = settings.server
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return (
            "every recipient was refused: " + _describe_refused(exc.recipients),
            bool(codes) and all(code >= 500 for code in codes),
        )
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return (
            f"the SMTP server {server} refused the sender {exc.sender}: "
            f"{exc.smtp_code} {_text(exc.smtp_error)}",
            exc.smtp_code >= 500,
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (
            f"the SMTP server {server} refused the login of {settings.user!r}: "
            f"{exc.smtp_code} {_text(exc.smtp_error)}",
            False,
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"the SMTP server {server} does not support it: {exc}", False
    if isinstance(exc, smtplib.SMTPResponseException):
        return (
            f"the SMTP server {server} answered {exc.smtp_code} {_text(exc.smtp_error)}",
            exc.smtp_code >= 500,
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"the SMTP server {server} closed the connection: {exc}", False
    if isinstance(exc, smtplib.SMTPException):
        return f"SMTP error with {server}: {exc}", False
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return f"TLS with the SMTP server {server} failed: {exc}", False
    if isinstance(exc, ConnectionRefusedError):
        return f"cannot connect to the SMTP server {server}: connection refused", False
    if isinstance(exc, TimeoutError):
        return f"the SMTP server {server} did not answer within {settings.timeout}s", False
    if isinstance(exc, socket.gaierror):
        return f"cannot find the SMTP server {settings.host!r}: {exc.strerror or exc}", False
    if isinstance(exc, OSError):
        return f"cannot reach the SMTP server {server}: {exc.strerror or exc}", False
    if isinstance(exc, UnicodeError | ValueError):
        return f"the message cannot be sent as it is: {exc}", True
    return f"sending failed: {type(exc).__name__}: {exc}", False


def _describe_refused(recipients: dict) -> str:
    return "; ".join(f"{addr} ({code} {_text(msg)})" for addr, (code, msg) in recipients.items())


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# -- addresses, types, text from HTML ---------------------------------------------------------------


def _address_list(value, header) -> list[tuple[str, str]]:
    if not value or not value.strip():
        return []
    pairs = [pair for pair in getaddresses([value]) if pair != ("", "")]  # "a@x.ru, " is fine
    if not pairs or not all(_is_address(addr) for _name, addr in pairs):
        raise MailContentError(f"{header}: not a list of e-mail addresses: {value!r}")
    return pairs


def _one_address(value, header) -> tuple[str, str]:
    name, addr = parseaddr(value or "")
    if not _is_address(addr):
        raise MailContentError(f"{header}: not an e-mail address: {value!r}")
    return name, addr


def _is_address(addr) -> bool:
    local, _at, domain = addr.rpartition("@")
    return bool(local and domain) and not any(c.isspace() for c in addr)


def _domain_of(address) -> str:
    addr = parseaddr(address or "")[1]
    return addr.rpartition("@")[2] or "localhost"


def _mime_type(mimetype, filename) -> tuple[str, str]:
    guess = mimetype or mimetypes.guess_type(filename or "")[0] or "application/octet-stream"
    maintype, _slash, subtype = guess.partition("/")
    if not maintype or not subtype:
        return "application", "octet-stream"
    return maintype.strip(), subtype.split(";")[0].strip()


class _TextFromHtml(HTMLParser):
    PARAGRAPHS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol"}
    LINES = {"br", "div", "li", "tr", "hr", "section", "article", "header", "footer"}
    SKIP = {"script", "style", "head", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.links: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.PARAGRAPHS:
            self.parts.append("\n\n")
        elif tag in self.LINES:
            self.parts.append("\n- " if tag == "li" else "\n")
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(self.skipping - 1, 0)
        elif tag in self.PARAGRAPHS:
            self.parts.append("\n\n")
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href and href.startswith(("http:", "https:", "mailto:")):
                self.parts.append(f" <{href.removeprefix('mailto:')}>")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """A plain-text version of an HTML body: paragraphs and list items on their own lines,
    links followed by their address."""
    if not html:
        return ""
    parser = _TextFromHtml()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text, blank = [], False
    for line in lines:
        if line:
            text.append(line)
            blank = False
        elif text and not blank:
            text.append("")
            blank = True
    return "\n".join(text).strip() + "\n"
