#!/usr/bin/env python3
"""Writes the fuzz seed corpora (fuzz/seeds/<target>/*) from the transcript tests.

Each seed is a byte sequence a transcript test under tests/ feeds (server_transcripts,
client_session, client_auth, sasl_transcripts, data_decode, syntax_*), prefixed with the
header bytes the target's fuzz_target reads (see the layout comment of each target).
Run from anywhere: python3 fuzz/seeds/make_seeds.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

EHLO = b"EHLO client.example.test\r\n"
TXN = b"MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n"
SMUGGLE = b"MAIL FROM:<evil@example.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\nforged\r\n"
GREET = b"220 mx.example.test ESMTP\r\n"
EHLO_REPLY = (b"250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n"
              b"250-CHUNKING\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN NTLM\r\n250 ENHANCEDSTATUSCODES\r\n")
EXCHANGE_EHLO = (b"250-EXCH.example.test Hello [192.0.2.1]\r\n250-SIZE 37748736\r\n250-PIPELINING\r\n"
                 b"250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250-X-ANONYMOUSTLS\r\n"
                 b"250-AUTH NTLM\r\n250-X-EXPS GSSAPI NTLM\r\n250-8BITMIME\r\n250-BINARYMIME\r\n"
                 b"250-CHUNKING\r\n250-XEXCH50\r\n250-XRDST\r\n250 XSHADOWREQUEST\r\n")

seeds = {
    "command": [
        b"\x00" + EHLO,
        b"\x01HELO client.example.test\r\n",
        b"\x00MAIL FROM:<a@example.test> SIZE=1000 BODY=8BITMIME\r\n",
        b"\x02MAIL FROM:<j\xc3\xb6rg@example.test> SMTPUTF8\r\n",
        b"\x00MAIL FROM:<> RET=HDRS ENVID=QQ314159 AUTH=<>\r\n",
        b"\x00RCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.test\r\n",
        b"\x00mail from: a@example.test\n",
        b"\x00BDAT 1000 LAST\r\n",
        b"\x00AUTH PLAIN AHRpbQB0YW5zdGFhZmw=\r\n",
        b"\x00X-EXPS GSSAPI =\r\n",
        b"\x00XEXCH50 6 2\r\n",
        b"\x01RCPT TO:<\"john smith\"@[192.0.2.1]>\r\n",
        b"\x00*\r\n",
    ],
    # command_decoder: byte 0 options, byte 1 modes (piece size, DATA / AUTH / BDAT switches).
    "command_decoder": [
        b"\x04\xff" + EHLO + TXN + b"DATA\r\nSubject: hi\r\n\r\n..RSET\r\n.\r\nQUIT\r\n",
        b"\x04\x83" + EHLO + TXN + b"BDAT 12\r\nRSET\r\n.\r\nQUITBDAT 0 LAST\r\nQUIT\r\n",
        b"\x00\x5f" + EHLO + b"AUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\nAUTH PLAIN\r\n*\r\nQUIT\r\n",
        b"\x01\x07" + b"x" * 700 + b"\r\nNOOP\r\nMAIL FROM:<a@@b>\r\n\r\nQUIT\r\n",
        b"\x0c\x9f" + EHLO + b"X-LINK2STATE FIRST CHUNK=" + b"A" * 900 + b"\r\nXEXCH50 4 2\r\n\x00\x01\r\nQUIT\r\n",
        b"\x22\x1f" + SMUGGLE + b".\r\nQUIT\n",
    ],
    "path": [
        b"\x00<a@example.test>",
        b"\x00<>",
        b"\x01<@relay.example.test:a@example.test>",
        b"\x00a@example.test",
        b"\x01<\"john smith\"@[192.0.2.1]>",
        b"\x01<a@[IPv6:2001:db8::1]>",
        b"\x02<j\xc3\xb6rg@b\xc3\xbccher.example>",
        b"\x00SIZE=1000 BODY=8BITMIME RET=FULL ENVID=QQ314159",
        b"\x00SMTPUTF8 REQUIRETLS MT-PRIORITY=3 BY=3600;R HOLDFOR=60",
        b"\x00NOTIFY=SUCCESS,DELAY ORCPT=rfc822;b+2Bx@example.test",
        b"\x00AUTH=<a@example.test> BODY=BINARYMIME",
        b"\x00NOTIFY=NEVER",
    ],
    "reply": [
        b"\x3f" + GREET,
        b"\x3f" + EHLO_REPLY,
        b"\x05" + EHLO_REPLY,
        b"\x3f" + EXCHANGE_EHLO,
        b"\x3f250 2.1.0 OK\r\n250 2.1.5 OK\r\n550 5.1.1 No such user\r\n354 Go ahead\r\n",
        b"\x7f250-first\n250 last\n",
        b"\x3f334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n",
        b"\x3f334 ntlm supported\r\n",
        b"\x3f421 4.4.2 Timeout exceeded, closing connection\r\n",
        b"\x3f554 5.7.1 No service here\r\n221 2.0.0 Bye\r\n",
        b"\xbf250-" + b"x" * 100 + b"\r\n250 end\r\n",
        b"\x3f220 2.0.0 Ready to start TLS\r\n250 injected\r\n",
    ],
    "capabilities": [
        EHLO_REPLY,
        EXCHANGE_EHLO,
        b"250-mx.example.test Hello\r\n250-AUTH=LOGIN\r\n250-AUTH LOGIN PLAIN\r\n250 SIZE\r\n",
        b"250-mx\r\n250-LIMITS RCPTMAX=100 MAILMAX=10\r\n250-DELIVERBY 240\r\n250 MT-PRIORITY MIXER\r\n",
        b"250-mx\r\n250-SMTPUTF8\r\n250-REQUIRETLS\r\n250-FUTURERELEASE 604800 2012-10-05T00:00:00Z\r\n250 ETRN\r\n",
        b"250-mx\r\n250-X-LINK2STATE\r\n250-XSHADOW\r\n250-XPROXYFROM\r\n250 XSESSIONPARAMS\r\n",
        b"250 mx.example.test\r\n",
        b"250-mx\r\n250-SIZE 0\r\n250 SIZE 99999999999999999999\r\n",
        b"250-mx\r\n250-X-EXPS=LOGIN\r\n250 X-EXPS GSSAPI NTLM LOGIN\r\n",
        b"250-mx\n250 PIPELINING\n",
        b"250-mx\r\n250-8BITMIME\r\n250-DSN\r\n250-HELP\r\n250 VRFY\r\n",
        b"250-mx\r\n250-AUTH\r\n250 STARTTLS extra\r\n",
    ],
    "server": [
        b"\x00\x00" + EHLO + b"QUIT\r\n",
        b"\x00\x01" + EHLO + TXN + b"DATA\r\nSubject: hi\r\n\r\nHello\r\n.\r\nQUIT\r\n",
        b"\x00\x01" + EHLO + TXN + b"DATA\r\nbody\n.\nMORE\r\n.\r\n",
        b"\x00\x01" + EHLO + TXN + b"DATA\r\nbody\r\n.\r" + SMUGGLE + b"\r\n.\r\n",
        b"\x00\x01" + EHLO + TXN + b"BDAT 5\r\nhelloBDAT 8 LAST\r\n world\r\nQUIT\r\n",
        b"\x01\x01" + EHLO + b"STARTTLS\r\nMAIL FROM:<injected@example.test>\r\n\xfe" + EHLO,
        b"\x10\x01" + EHLO + b"X-ANONYMOUSTLS\r\nRSET\r\n\xfe" + EHLO,
        b"\x00\x08" + EHLO + b"AUTH PLAIN AHRpbQB0YW5zdGFhZmw=\r\n",
        b"\x00\x06" + EHLO + b"AUTH NTLM\r\n\xfeTlRMTVNTUAABAAAAB4II\r\n\xfe*\r\n",
        b"\x04\x01" + EHLO + TXN + b"XEXCH50 6 2\r\nab\r\ncdNOOP\r\n",
        b"\x00\x00" + b"X" * 600 + b"\r\nNOOP\r\n",
        b"\x02\x01" + EHLO + b"MAIL FROM:<j\xc3\xb6rg@example.test> SMTPUTF8\r\n\xfeRCPT TO:<\xff@x>\r\n",
        b"\x08\x03" + EHLO + b"X-LINK2STATE LAST CHUNK=" + b"A" * 700 + b"\r\nNOOP\x00\r\n",
    ],
    "client": [
        # knobs: tls(0..1), creds(2..3), plaintext auth 16, pipelining 32, chunking 64, stream 128
        b"\x20\x3f" + GREET + EHLO_REPLY + b"250 OK\r\n250 OK\r\n250 OK\r\n354 go\r\n250 queued\r\n221 bye\r\n",
        b"\x00\x00" + GREET + b"250 mx\r\n250 OK\r\n250 OK\r\n250 OK\r\n354 go\r\n250 queued\r\n221 bye\r\n",
        b"\x61\x10" + GREET + EHLO_REPLY + b"220 2.0.0 Ready to start TLS\r\n" + EHLO_REPLY,
        b"\x01\x3f" + GREET + EHLO_REPLY + b"220 2.0.0 Ready\r\n250 injected\r\n",
        b"\x14\x05" + GREET + EHLO_REPLY + b"235 2.7.0 OK\r\n250 OK\r\n",
        b"\x14\x3f" + GREET + EHLO_REPLY + b"334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n535 5.7.8 no\r\n",
        b"\x0c\x3f" + GREET + EXCHANGE_EHLO + b"334 ntlm supported\r\n334 TlRMTVNTUAACAAAAAAAAADgAAAA=\r\n235 ok\r\n",
        b"\x60\x3f" + GREET + EHLO_REPLY + b"250 OK\r\n250 OK\r\n550 5.1.1 no\r\n250 2.0.0 3 octets\r\n250 done\r\n",
        b"\xe0\x3f" + GREET + EHLO_REPLY + b"250 OK\r\n250 OK\r\n250 OK\r\n354 go\r\n250 ok\r\n",
        b"\x00\x3f" + b"554 5.7.1 go away\r\n221 bye\r\n",
        b"\x00\x3f" + b"421 4.3.2 busy\r\n",
        b"\x00\x01" + GREET + b"500 what\r\n250 mx.example.test\r\n",
        b"\x02\x3f" + GREET + b"250 mx\r\n",
    ],
    "sasl": [
        b"\x00" + b"AHRpbQB0YW5zdGFhZmw=",
        b"\x08" + b"AHRpbQB0YW5zdGFhZmw=",
        b"\x01" + b"dGlt\ndGFuc3RhYWZs",
        b"\x11" + b"VXNlcm5hbWU6\nUGFzc3dvcmQ6",
        b"\x02" + b"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw",
        b"\x12" + b"PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+",
        b"\x0b" + b"dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB2RjlkZnQ0cW1UYzJOdmIzUmxja0JoZEhSaGRtbHpkR0V1WTI5dENnPT0BAQ==\n",
        b"\x0c" + b"bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2c9PQEB\n*",
        b"\x05" + b"TlRMTVNTUAABAAAAB4IIog==\nTlRMTVNTUAADAAAAAAAAAA==",
        b"\x15" + b"ntlm supported\nTlRMTVNTUAACAAAAAAAAADgAAAA=\n",
        b"\x06" + b"YIIBhgYJKoZIhvcSAQICAQBuggF1\n\nAAAA",
        b"\x00" + b"*",
        b"\x01" + b"dGlt \n====\n",
    ],
}

DATA = [
    (b"\x01\x40\x80\xc0", b"Subject: hi\r\n\r\nHello\r\n.\r\n"),
    (b"\x01\x10\x20\x30", b"..dot\r\n.\r\nQUIT\r\n"),
    (b"\x00\x00\x00\x00", b"bare\nLF\r\n.\r\n"),
    (b"\x01\x00\x00\x00", b"bare\rCR\r\n.\r\n"),
    (b"\x02\x00\x80\xff", b"x\n.\nMAIL FROM:<e@x>\r\n.\r\n"),
]
for variant in [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r.\r\n", b"\r\n.\r",
                b"\r\n.\r\r\n", b"\n.\r\r\n", b"\r\n.\x00\r\n", b"\r\n. \r\n"]:
    DATA.append((bytes([len(DATA) % 3, 0x30, 0x60, 0x90]), b"body" + variant + SMUGGLE + b"\r\n.\r\n"))
seeds["data_decode"] = [h + d for h, d in DATA[:13]]
seeds["data_decode"].append(b"\x81\x10\x20\x30" + b"y" * 40 + b"\r\n.\r\n")
seeds["data_decode"].append(b"\x41\x10\x20\x30" + b"z" * 300 + b"\r\n.\r\n")
seeds["data_encode"] = [
    b"\x00\x40\x80\xc0Subject: hi\r\n\r\nHello\r\n",
    b"\x00\x10\x20\x30.leading dot\r\n..two\r\n",
    b"\x00\x00\x00\x00bare\nLF\n.\n",
    b"\x01\x00\x00\x00bare\rCR\r.\r",
    b"\x00\x30\x60\x90no final line end",
    b"\x01\x30\x60\x90\r\n.\r\n",
    b"\x00\x01\x02\x03.",
    b"\x01\x80\x80\x80\r\r\n\n..\r",
    b"\x00\x10\x10\x10" + b"x" * 2000 + b"\r\n",
    b"\x00\xff\xff\xffbin\x00ary\xff\r\n",
    b"\x01\x20\x40\x60\n.\r\n",
    b"\x00\x20\x40\x60\r\n.\x00\r\n. \r\n",
]

# e2e: 5 header bytes (server extensions; leniency, line policies, LIMITS, client
# pipelining / chunking / small chunks; size, recipient and transaction limits; chunk
# size; message count), then per message: flags (1 streamed, 2-4 declared type, 8-16
# size mode, 32 null sender, 64 SMTPUTF8, 128 DSN), the sender's local part (length,
# then an index per character), its domain, the recipients (count, then local part and
# domain each), DSN parameters, the body (2-byte length, 0xFE n c for n * 8 copies of c);
# then D, D decision bytes, and read sizes.
E2E_LOCAL = "abcdefghijklmnopqrstuvwxyz0123AZ..-+_=!#$%&'*/?^`{|}~\"\" \\@"


def e2e_local(s):
    return bytes([len(s)] + [E2E_LOCAL.index(c) for c in s])


def e2e_msg(flags, sender, rcpts, body, dsn=b""):
    out = bytes([flags]) + e2e_local(sender) + b"\x00" + bytes([len(rcpts) - 1])
    for r, d in rcpts:
        out += e2e_local(r) + bytes([d])
    out += dsn
    return out + len(body).to_bytes(2, "little") + body


E2E_TEXT = b"Subject: hi\r\n\r\n.leading dot\r\n..two\r\nend\r\n"
E2E_SMUGGLE = b"body\r\n.\r\nMAIL FROM:<evil@example.test>\r\nRCPT TO:<v@example.test>\r\nDATA\r\nforged\r\n.\r\n"
E2E_BINARY = b"bin\x00ary\nbare LF\rbare CR\r\n.\n.\r\n\xff\xfe\x00"
E2E_LONG = b"x" + b"\xfe\x80y" + b"\r\n.\xfe\x7dz\r\n"
seeds["e2e"] = [
    b"\xff\x60\x00\x00\x02" + e2e_msg(0, "alice", [("bob", 0), ("carol", 2)], E2E_TEXT)
    + e2e_msg(0, "dave", [("erin", 0)], E2E_SMUGGLE) + e2e_msg(0, "frank", [("x", 1)], E2E_BINARY) + b"\x00",
    b"\xf9\x20\x00\x00\x02" + e2e_msg(0, "alice", [("bob", 0)], E2E_TEXT)
    + e2e_msg(0, "dave", [("erin", 0)], E2E_SMUGGLE + b"no final CRLF") + e2e_msg(0, "frank", [("x", 1)], E2E_LONG) + b"\x00",
    b"\xff\xe0\x00\x06\x01" + e2e_msg(1, "alice", [("bob", 0), ("carol", 0)], E2E_BINARY)
    + e2e_msg(3, "dave", [("erin", 0)], E2E_TEXT) + b"\x00" + bytes([1, 2, 3, 5, 7, 11] * 20),
    b"\xc1\x31\x1b\x00\x01" + e2e_msg(0xc0, "j\u00f6rg".replace("\u00f6", "o"), [("a", 4), ("b", 4), ("c", 4)], E2E_TEXT, b"\x03abc\x01\x1e")
    + e2e_msg(0x21, "z", [("y", 255)], b"8bit \xc3\xa9t\xc3\xa9\r\n") + b"\x08\x00\x09\x0a\x0b\x0c\x0d\x0e\x00" + bytes([1] * 40),
]

for target, items in seeds.items():
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    # Only this script's `seed-NN` files are replaced; other seeds in the folder stay.
    for name in os.listdir(d):
        if name.startswith("seed-"):
            os.remove(os.path.join(d, name))
    for i, data in enumerate(items):
        with open(os.path.join(d, "seed-%02d" % i), "wb") as f:
            f.write(data)
