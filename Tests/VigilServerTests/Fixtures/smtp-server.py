"""A mail server for the email tests: aiosmtpd on 127.0.0.1, STARTTLS required, AUTH required.

Usage: smtp-server.py PORT MAILDIR CERT KEY USER PASSWORD [starttls|ssl]

With ssl, TLS starts with the connection (port 465 style) instead of with STARTTLS.

Each message is written to MAILDIR as NNNN.eml, headed by what the envelope and the session
said (sender, recipients, whether the client logged in and used TLS).
"""
import asyncio
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

port, maildir, cert, key, user, password = sys.argv[1:7]
mode = sys.argv[7] if len(sys.argv) > 7 else "starttls"


def encrypted(server, session):
    """After STARTTLS the session says so; with TLS from the start, the transport does."""
    return session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None


class Handler:
    async def handle_DATA(self, server, session, envelope):
        number = len([name for name in os.listdir(maildir) if name.endswith(".eml")])
        path = os.path.join(maildir, "%04d.eml" % number)
        head = "X-Test-Envelope-From: %s\r\nX-Test-Envelope-To: %s\r\nX-Test-Authenticated: %s\r\nX-Test-TLS: %s\r\n" % (
            envelope.mail_from, ",".join(envelope.rcpt_tos), session.authenticated, encrypted(server, session))
        with open(path + ".tmp", "wb") as out:
            out.write(head.encode() + envelope.original_content)
        os.rename(path + ".tmp", path)
        return "250 OK queued"


def authenticate(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password:
        return AuthResult(success=True)
    return AuthResult(success=False, handled=False)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
loop = asyncio.new_event_loop()
if mode == "ssl":
    factory = lambda: SMTP(Handler(), hostname="mail.test", authenticator=authenticate, auth_required=True, auth_require_tls=False)
    server = loop.run_until_complete(loop.create_server(factory, "127.0.0.1", int(port), ssl=context))
else:
    factory = lambda: SMTP(Handler(), hostname="mail.test", tls_context=context, require_starttls=True,
                           authenticator=authenticate, auth_required=True, auth_require_tls=True)
    server = loop.run_until_complete(loop.create_server(factory, "127.0.0.1", int(port)))
loop.run_forever()
