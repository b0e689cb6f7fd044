#!/usr/bin/env python3
"""An HTTP/2 upstream (h2c with prior knowledge, or TLS with ALPN h2) for GeoFront's tests of
`"protocol": "h2"` upstreams, built on the `h2` package's connection state machine.

Usage: h2upstream.py [--max-streams N] [--tls CERT KEY] [--port N] [--silent]

--silent accepts connections and never says a word (an upstream that does not speak HTTP/2); it
prints "accepted" for each connection and "closed" for each one the client closed.

Listens on 127.0.0.1 on a free port and prints "ready PORT" once it accepts connections. Runs
until its standard input closes (the test's end), so it never outlives the test. Paths:
  /echo...      200, JSON: method, path, authority, scheme, headers, body length; with
                `x-trailer: yes` in the request, the response ends with trailers
                (x-checksum: <body length>)
  /hold/N...    waits until N requests are held at once (on any connection), then answers each
                like /echo: a barrier that shows how many streams and connections GeoFront used
  /hang...      never answers (until the stream is reset)
  /download/N   200 with N bytes, sent only as the flow-control window allows
  /sink         reads the request body without ever opening the window again (200 at its end)
  /stats        JSON: connections (accepted so far), max_streams_seen (most streams open at once
                on one connection), max_held, resets (RST_STREAMs received), sent (bytes of
                /download sent so far), blocked (a /download or /sink is waiting on the window),
                received (bytes of /sink received)
"""

import asyncio
import json
import ssl
import sys

import h2.config
import h2.connection
import h2.events
import h2.settings

STATS = {"connections": 0, "max_streams_seen": 0, "max_held": 0, "resets": 0, "sent": 0, "blocked": False,
         "received": 0}
HELD = []  # (protocol, stream_id, request) waiting for the barrier


class Request:
    def __init__(self, headers):
        self.headers = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
                        for k, v in headers}
        self.body = 0
        self.ended = False


class Upstream(asyncio.Protocol):
    def __init__(self, max_streams):
        config = h2.config.H2Configuration(client_side=False, header_encoding=None)
        self.conn = h2.connection.H2Connection(config=config)
        self.max_streams = max_streams
        self.requests = {}
        self.downloads = {}  # stream -> remaining bytes
        self.window_waiters = []

    def connection_made(self, transport):
        STATS["connections"] += 1
        self.transport = transport
        self.conn.local_settings = h2.settings.Settings(
            client=False, initial_values={h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self.max_streams})
        self.conn.initiate_connection()
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.transport.write(data)

    def data_received(self, data):
        try:
            events = self.conn.receive_data(data)
        except Exception as error:
            print("h2upstream: closing a connection: %r" % error, file=sys.stderr, flush=True)
            self.flush()
            self.transport.close()
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                self.requests[event.stream_id] = Request(event.headers)
                open_streams = self.conn.open_inbound_streams
                STATS["max_streams_seen"] = max(STATS["max_streams_seen"], open_streams)
            elif isinstance(event, h2.events.DataReceived):
                request = self.requests.get(event.stream_id)
                if request is not None:
                    request.body += len(event.data)
                    if request.headers.get(":path") == "/sink":
                        STATS["received"] += len(event.data)
                        STATS["blocked"] = True
                    else:
                        self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                self.ended(event.stream_id)
            elif isinstance(event, h2.events.StreamReset):
                STATS["resets"] += 1
                self.requests.pop(event.stream_id, None)
                self.downloads.pop(event.stream_id, None)
            elif isinstance(event, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
                self.send_downloads()
        self.flush()

    def ended(self, stream_id):
        request = self.requests.get(stream_id)
        if request is None or request.ended:
            return
        request.ended = True
        path = request.headers.get(":path", "")
        if path.startswith("/hang"):
            return
        if path.startswith("/hold/"):
            wanted = int(path.split("/")[2])
            HELD.append((self, stream_id, request))
            STATS["max_held"] = max(STATS["max_held"], len(HELD))
            if len(HELD) >= wanted:
                for protocol, held_id, held in list(HELD):
                    protocol.echo(held_id, held)
                    protocol.flush()
                HELD.clear()
            return
        if path.startswith("/download/"):
            self.conn.send_headers(stream_id, [(":status", "200"), ("content-type", "application/octet-stream")])
            self.downloads[stream_id] = int(path.split("/")[2])
            self.send_downloads()
            return
        if path == "/stats":
            self.respond(stream_id, json.dumps(STATS).encode())
            return
        self.echo(stream_id, request)

    def echo(self, stream_id, request):
        body = json.dumps({
            "method": request.headers.get(":method"), "path": request.headers.get(":path"),
            "authority": request.headers.get(":authority"), "scheme": request.headers.get(":scheme"),
            "headers": {k: v for k, v in request.headers.items() if not k.startswith(":")},
            "body": request.body,
        }).encode()
        trailers = [("x-checksum", str(request.body))] if request.headers.get("x-trailer") == "yes" else None
        self.respond(stream_id, body, trailers)

    def respond(self, stream_id, body, trailers=None):
        self.conn.send_headers(stream_id, [(":status", "200"), ("content-type", "application/json"),
                                           ("x-upstream", "h2")])
        self.conn.send_data(stream_id, body, end_stream=trailers is None)
        if trailers:
            self.conn.send_headers(stream_id, trailers, end_stream=True)
        self.requests.pop(stream_id, None)

    def send_downloads(self):
        for stream_id, remaining in list(self.downloads.items()):
            while remaining > 0:
                window = min(self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size)
                if window <= 0:
                    STATS["blocked"] = True
                    break
                STATS["blocked"] = False
                size = min(window, remaining)
                self.conn.send_data(stream_id, b"d" * size)
                STATS["sent"] += size
                remaining -= size
            if remaining == 0:
                self.conn.end_stream(stream_id)
                del self.downloads[stream_id]
            else:
                self.downloads[stream_id] = remaining
        self.flush()

    def connection_lost(self, exc):
        HELD[:] = [entry for entry in HELD if entry[0] is not self]


async def main():
    max_streams = 100
    context = None
    args = sys.argv[1:]
    if "--max-streams" in args:
        max_streams = int(args[args.index("--max-streams") + 1])
    if "--tls" in args:
        index = args.index("--tls")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args[index + 1], args[index + 2])
        context.set_alpn_protocols(["h2"])
    port = int(args[args.index("--port") + 1]) if "--port" in args else 0
    loop = asyncio.get_running_loop()
    if "--silent" in args:
        class Silent(asyncio.Protocol):
            def connection_made(self, transport):
                print("accepted", flush=True)

            def connection_lost(self, exc):
                print("closed", flush=True)

        server = await loop.create_server(Silent, "127.0.0.1", port)
    else:
        server = await loop.create_server(lambda: Upstream(max_streams), "127.0.0.1", port, ssl=context)
    print("ready %d" % server.sockets[0].getsockname()[1], flush=True)
    # Until the test closes standard input.
    await loop.run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main())
