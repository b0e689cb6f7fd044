#!/usr/bin/env python3
"""Hand-made HTTP/2 frame sequences against GeoFront, for GeoFrontServerTests' HTTP2 suites.

Usage: h2probe.py SCENARIO PORT [--tls] [--source IP] [--xff IP] [--count N] [--proxy-header IP]
                  [--path PATH]

Frames are built with hyperframe and hpack (the `h2` package's own layers), so the script can
send what a well-behaved client library refuses to: upper-case names, floods, window overflows.
It reads what the server answers until the scenario's end (or the server's close; 20 s at most
per read, a bound that only matters when the server is broken) and prints one JSON object:
  goaway: the error code of the server's GOAWAY, or null
  closed: the server closed the connection
  resets: {stream id: RST_STREAM error code}
  statuses: {stream id: :status of the response}
"""

import json
import socket
import ssl
import sys

from hpack import Decoder, Encoder
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


class Probe:
    def __init__(self, port, tls, source, xff, proxy_header):
        self.xff = xff
        raw = socket.create_connection(("127.0.0.1", port), timeout=20, source_address=(source, 0))
        if proxy_header:
            raw.sendall(("PROXY TCP4 %s 127.0.0.1 40000 80\r\n" % proxy_header).encode())
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            context.set_alpn_protocols(["h2"])
            raw = context.wrap_socket(raw, server_hostname="localhost")
            assert raw.selected_alpn_protocol() == "h2", raw.selected_alpn_protocol()
        self.sock = raw
        self.encoder = Encoder()
        self.decoder = Decoder()
        self.pending = b""
        self.goaway = None
        self.closed = False
        self.resets = {}
        self.statuses = {}
        self.settings_acked = False
        self.goaways = []
        self.pong = False

    def send(self, *frames, raw=b""):
        self.sock.sendall(raw + b"".join(frame.serialize() for frame in frames))

    def handshake(self, settings=None):
        """Preface and SETTINGS; waits for the server's SETTINGS and acknowledges them."""
        self.send(SettingsFrame(0, settings=settings or {}), raw=PREFACE)
        self.until(lambda: self.settings_acked)

    def headers(self, stream, fields, end_stream=True):
        frame = HeadersFrame(stream, self.encoder.encode(fields))
        frame.flags.add("END_HEADERS")
        if end_stream:
            frame.flags.add("END_STREAM")
        return frame

    def request(self, stream, path="/x", extra=(), end_stream=True):
        fields = [(":method", "GET"), (":scheme", "http"), (":authority", "shop.example"), (":path", path)]
        if self.xff:
            fields.append(("x-forwarded-for", self.xff))
        return self.headers(stream, fields + list(extra), end_stream)

    def read_frame(self):
        while len(self.pending) < 9 or len(self.pending) < 9 + int.from_bytes(self.pending[:3], "big"):
            try:
                data = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError, OSError):
                data = b""
            if not data:
                self.closed = True
                return None
            self.pending += data
        frame, length = Frame.parse_frame_header(memoryview(self.pending[:9]))
        frame.parse_body(memoryview(self.pending[9 : 9 + length]))
        self.pending = self.pending[9 + length :]
        return frame

    def until(self, condition):
        """Reads frames until `condition()` holds or the server closes."""
        while not condition():
            frame = self.read_frame()
            if frame is None:
                return
            if isinstance(frame, SettingsFrame):
                if "ACK" not in frame.flags:
                    self.send(SettingsFrame(0, flags=["ACK"]))
                    self.settings_acked = True
            elif isinstance(frame, PingFrame):
                if "ACK" in frame.flags:
                    self.pong = True
                else:
                    self.send(PingFrame(0, opaque_data=frame.opaque_data, flags=["ACK"]))
            elif isinstance(frame, GoAwayFrame):
                self.goaways.append(frame.last_stream_id)
                if self.goaway is None or self.goaway == 0:
                    self.goaway = frame.error_code
                say("goaway %d %d" % (frame.error_code, frame.last_stream_id))
            elif isinstance(frame, RstStreamFrame):
                self.resets[frame.stream_id] = frame.error_code
            elif isinstance(frame, HeadersFrame):
                for name, value in self.decoder.decode(frame.data):
                    if name in (b":status", ":status"):
                        status = value.decode() if isinstance(value, bytes) else value
                        self.statuses.setdefault(frame.stream_id, int(status))

    def until_closed(self):
        self.until(lambda: self.closed)

    def report(self):
        print("result " + json.dumps({"goaway": self.goaway, "closed": self.closed, "resets": self.resets, "statuses": self.statuses}))


def say(line):
    """A progress line for a test that acts between the steps (drain)."""
    print(line, flush=True)


def main():
    args = sys.argv[1:]
    scenario, port = args[0], int(args[1])
    tls = "--tls" in args
    source = args[args.index("--source") + 1] if "--source" in args else "127.0.0.1"
    count = int(args[args.index("--count") + 1]) if "--count" in args else 100
    xff = args[args.index("--xff") + 1] if "--xff" in args else None
    proxy_header = args[args.index("--proxy-header") + 1] if "--proxy-header" in args else None
    path = args[args.index("--path") + 1] if "--path" in args else "/x"
    probe = Probe(port, tls, source, xff, proxy_header)

    if scenario == "bad-preface":
        # Not the client preface: GOAWAY PROTOCOL_ERROR, then the server closes.
        probe.send(raw=b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        probe.until_closed()
    elif scenario == "stream-error":
        # Malformed requests (RFC 9113 §8.1.1, §8.2, §8.3) reset their own stream only, with
        # PROTOCOL_ERROR: an upper-case name, a connection-specific field, a missing :path, a
        # pseudo-header after a regular field, a content-length the DATA does not add up to, a
        # :path that is not origin-form, a :path with a space, a repeated :path, an unknown
        # pseudo-header, a response's :status, te other than trailers, a value with a space at
        # its start, a value with NUL, a missing :scheme, transfer-encoding, CONNECT with a
        # :path, trailers with a pseudo-header, trailers with an upper-case name, DATA past the
        # content-length (the extra bytes must not reach the engine as a request of their own),
        # a content-length on a block that ends the stream, a content-length that is not a
        # number, two content-lengths that differ, trailers short of the content-length.
        # The last stream is answered on the same connection.
        probe.handshake()
        base = [(":method", "GET"), (":scheme", "http"), (":authority", "shop.example")]
        post = [(":method", "POST"), (":scheme", "http"), (":authority", "shop.example"), (":path", "/u")]
        bad = [
            [probe.request(1, extra=[("X-Upper", "1")])],
            [probe.request(3, extra=[("connection", "close")])],
            [probe.headers(5, base)],
            [probe.headers(7, base + [("x-a", "1"), (":path", "/x")])],
            [probe.headers(9, post + [("content-length", "10")], end_stream=False), DataFrame(9, b"12345", flags=["END_STREAM"])],
            [probe.request(11, path="http://elsewhere.example/x")],
            [probe.request(13, path="/x y")],
            [probe.request(15, extra=[(":path", "/y")])],
            [probe.headers(17, base + [(":path", "/x"), (":foo", "1")])],
            [probe.headers(19, base + [(":path", "/x"), (":status", "200")])],
            [probe.request(21, extra=[("te", "gzip")])],
            [probe.request(23, extra=[("x-a", " padded")])],
            [probe.request(25, extra=[("x-a", b"a\x00b")])],
            [probe.headers(27, [(":method", "GET"), (":authority", "shop.example"), (":path", "/x")])],
            [probe.request(29, extra=[("transfer-encoding", "chunked")])],
            [probe.headers(31, [(":method", "CONNECT"), (":authority", "shop.example:443"), (":path", "/x")])],
            [probe.headers(33, post, end_stream=False), probe.headers(33, [(":path", "/z")])],
            [probe.headers(35, post, end_stream=False), probe.headers(35, [("X-Trailer", "1")])],
            [probe.headers(37, post + [("content-length", "3")], end_stream=False),
             DataFrame(37, b"abcGET /smuggled HTTP/1.1\r\nhost: x\r\n\r\n", flags=["END_STREAM"])],
            [probe.headers(39, post + [("content-length", "5")])],
            [probe.headers(41, post + [("content-length", "5x")], end_stream=False), DataFrame(41, b"12345", flags=["END_STREAM"])],
            [probe.headers(43, post + [("content-length", "5"), ("content-length", "6")], end_stream=False),
             DataFrame(43, b"12345", flags=["END_STREAM"])],
            [probe.headers(45, post + [("content-length", "5")], end_stream=False), DataFrame(45, b"123"),
             probe.headers(45, [("x-trailer", "1")])],
        ]
        for frames in bad:
            stream = frames[0].stream_id
            probe.send(*frames)
            probe.until(lambda: stream in probe.resets or probe.closed)
        probe.send(probe.request(47))
        probe.until(lambda: 47 in probe.statuses or probe.closed)
        probe.send(GoAwayFrame(0, last_stream_id=0))
        probe.sock.close()
    elif scenario == "flow-control":
        # A WINDOW_UPDATE that takes the connection window past 2^31-1 (RFC 9113 §6.9.1).
        probe.handshake()
        probe.send(WindowUpdateFrame(0, window_increment=2**31 - 1))
        probe.until_closed()
    elif scenario == "rapid-reset":
        # Streams opened and reset at once, `count` of them (CVE-2023-44487).
        probe.handshake()
        frames = []
        for index in range(count):
            stream = 1 + 2 * index
            frames.append(probe.request(stream, end_stream=False))
            frames.append(RstStreamFrame(stream, error_code=8))
        probe.send(*frames)
        probe.until_closed()
    elif scenario == "continuation":
        # One header block spread over `count` CONTINUATION frames of a few bytes each.
        probe.handshake()
        block = probe.encoder.encode(
            [(":method", "GET"), (":scheme", "http"), (":authority", "shop.example"), (":path", "/x")]
            + [("x-filler-%d" % index, "v") for index in range(count)]
        )
        pieces = [block[offset : offset + 4] for offset in range(0, len(block), 4)]
        frames = [HeadersFrame(1, pieces[0])]
        for piece in pieces[1:]:
            frames.append(ContinuationFrame(1, piece))
        probe.send(*frames)
        probe.until_closed()
    elif scenario == "max-streams":
        # `count` + 1 streams that stay open (their upstream never answers), sent with the
        # preface, before the server's SETTINGS are acknowledged: the last is refused.
        probe.send(
            SettingsFrame(0), *[probe.request(1 + 2 * index, end_stream=False) for index in range(count + 1)], raw=PREFACE
        )
        last = 1 + 2 * count
        probe.until(lambda: last in probe.resets or probe.closed)
        probe.send(GoAwayFrame(0, last_stream_id=0))
        probe.sock.close()
    elif scenario == "max-streams-after-ack":
        # The same once the limit is acknowledged: a client that ignores a setting it agreed to
        # loses the connection (NIOHTTP2 makes it a connection error, PROTOCOL_ERROR).
        probe.handshake()
        probe.send(*[probe.request(1 + 2 * index, end_stream=False) for index in range(count + 1)])
        probe.until_closed()
    elif scenario == "post":
        # A body without content-length, in two DATA frames (chunked towards the engine).
        probe.handshake()
        fields = [(":method", "POST"), (":scheme", "http"), (":authority", "shop.example"), (":path", "/upload")]
        probe.send(
            probe.headers(1, fields, end_stream=False),
            DataFrame(1, b"hello "),
            DataFrame(1, b"world", flags=["END_STREAM"]),
        )
        probe.until(lambda: 1 in probe.statuses or probe.closed)
        probe.sock.close()
    elif scenario == "malformed-flood":
        # `count` malformed requests (an upper-case field name) in a row, each reset by the server.
        probe.handshake()
        probe.send(*[probe.request(1 + 2 * index, extra=[("X-Upper", "1")]) for index in range(count)])
        probe.until_closed()
    elif scenario == "ping-flood":
        probe.handshake()
        probe.send(*[PingFrame(0, opaque_data=index.to_bytes(8, "big")) for index in range(count)])
        probe.until_closed()
    elif scenario == "settings-flood":
        probe.handshake()
        probe.send(*[SettingsFrame(0, settings={SettingsFrame.ENABLE_PUSH: 0}) for _ in range(count)])
        probe.until_closed()
    elif scenario == "empty-frames":
        # DATA frames with nothing in them and no END_STREAM: work for the server, nothing for the request.
        probe.handshake()
        fields = [(":method", "POST"), (":scheme", "http"), (":authority", "shop.example"), (":path", "/upload")]
        probe.send(probe.headers(1, fields, end_stream=False), *[DataFrame(1, b"") for _ in range(count)])
        probe.until_closed()
    elif scenario == "big-header":
        # A header block of `count` bytes, over SETTINGS_MAX_HEADER_LIST_SIZE.
        probe.handshake()
        block = probe.encoder.encode(
            [(":method", "GET"), (":scheme", "http"), (":authority", "shop.example"), (":path", "/x")]
            + [("x-big", "v" * count)]
        )
        pieces = [block[offset : offset + 16384] for offset in range(0, len(block), 16384)]
        frames = [HeadersFrame(1, pieces[0], flags=["END_STREAM"] + (["END_HEADERS"] if len(pieces) == 1 else []))]
        for index, piece in enumerate(pieces[1:]):
            frames.append(ContinuationFrame(1, piece, flags=["END_HEADERS"] if index == len(pieces) - 2 else []))
        probe.send(*frames)
        probe.until_closed()
    elif scenario == "get":
        probe.handshake()
        probe.send(probe.request(1, path="/p?q=1"))
        probe.until(lambda: 1 in probe.statuses or probe.closed)
        probe.sock.close()
    elif scenario == "reset":
        # Stream 1 waits on its upstream; on a line on stdin the client resets it (CANCEL), makes
        # sure the server has read that (a PING answered), and says so.
        probe.handshake()
        probe.send(probe.request(1))
        say("open")
        sys.stdin.readline()
        probe.send(RstStreamFrame(1, error_code=8), PingFrame(0, opaque_data=b"resetpng"))
        probe.until(lambda: probe.pong or probe.closed)
        say("reset")
        sys.stdin.readline()
        probe.sock.close()
    elif scenario == "stalled":
        # A client that never opens its stream window (SETTINGS_INITIAL_WINDOW_SIZE 0): the
        # response body cannot move, and the stream is reset after server.send_timeout_ms.
        probe.handshake({SettingsFrame.INITIAL_WINDOW_SIZE: 0})
        probe.send(probe.request(1))
        probe.until(lambda: 1 in probe.resets or probe.closed)
        probe.sock.close()
    elif scenario == "slow-reader":
        # A client that asks for PATH and then reads nothing more than its first window (65,535
        # bytes, never opened again) until a line on stdin; then it resets the stream (CANCEL).
        probe.handshake()
        probe.send(probe.request(1, path=path))
        probe.until(lambda: 1 in probe.statuses or probe.closed)
        say("headers")
        sys.stdin.readline()
        probe.send(RstStreamFrame(1, error_code=8), PingFrame(0, opaque_data=b"resetpng"))
        probe.until(lambda: probe.pong or probe.closed)
        probe.sock.close()
    elif scenario == "slow-upload":
        # A client that POSTs to PATH as fast as the server's windows let it (COUNT KiB at most),
        # until they stay shut for 2 s; it says how much it sent ("sent N") and resets the stream
        # (CANCEL). A server that buffered without bound would keep opening them.
        import select

        probe.handshake()
        windows = {0: 65535, 1: 65535}
        probe.send(probe.headers(1, [(":method", "POST"), (":scheme", "http"), (":authority", "shop.example"),
                                     (":path", path)], end_stream=False))
        sent = 0
        chunk = b"u" * 16384
        while sent < count * 1024:
            room = min(windows[0], windows[1], len(chunk))
            if room > 0:
                probe.send(DataFrame(1, chunk[:room]))
                windows[0] -= room
                windows[1] -= room
                sent += room
                continue
            if not select.select([probe.sock], [], [], 2)[0]:
                break
            frame = probe.read_frame()
            if frame is None:
                break
            if isinstance(frame, WindowUpdateFrame) and frame.stream_id in windows:
                windows[frame.stream_id] += frame.window_increment
            elif isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
                probe.send(SettingsFrame(0, flags=["ACK"]))
        say("sent %d" % sent)
        probe.send(RstStreamFrame(1, error_code=8), PingFrame(0, opaque_data=b"resetpng"))
        probe.until(lambda: probe.pong or probe.closed)
        probe.sock.close()
    elif scenario == "drain":
        # Stream 1 waits on its upstream while the server drains: GOAWAY (NO_ERROR, last stream
        # 2^31-1), PING, then GOAWAY naming stream 1; a new stream after that is not served;
        # stream 1 still gets its answer, and then the server closes.
        probe.handshake()
        probe.send(probe.request(1))
        say("open")
        probe.until(lambda: len(probe.goaways) >= 2 or probe.closed)
        probe.send(probe.request(3))
        say("sent 3")
        probe.until_closed()
    elif scenario == "idle":
        # Stream 1 waits on its upstream (the connection is not idle meanwhile); once it is
        # answered the connection is, and after server.idle_timeout_ms it gets GOAWAY and ends.
        probe.handshake()
        probe.send(probe.request(1))
        say("open")
        probe.until(lambda: 1 in probe.statuses or probe.closed)
        say("answered")
        probe.until_closed()
    else:
        raise SystemExit("unknown scenario " + scenario)
    probe.report()


if __name__ == "__main__":
    main()
