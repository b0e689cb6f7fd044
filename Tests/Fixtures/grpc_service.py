#!/usr/bin/env python3
"""A gRPC service and its client (Python `grpcio`), for GeoFront's gRPC proxy tests. Messages are
raw bytes (no generated code): the service is defined by generic method handlers.

  grpc_service.py serve
      Serves h2c on 127.0.0.1 (a free port), prints "ready PORT", runs until standard input
      closes. Service `geofront.test.Echo`:
        Unary(bytes) -> the same bytes; trailing metadata x-checksum = its length
        Stream(bytes "N") -> N messages "0".."N-1" (server streaming)
        StreamThenDie(bytes "N") -> N messages, then the whole process exits mid-stream
        Chat(stream bytes) -> each message back, upper-cased, as it arrives (bidirectional)
        Fail(bytes) -> status NOT_FOUND with details "no such thing: <bytes>"
        Slow(bytes) -> waits 10 s (for deadlines), then the bytes

  grpc_service.py call PORT CASE [TIMEOUT] [--tls CA]
      Calls GeoFront on PORT (h2c with prior knowledge; with --tls, TLS with ALPN h2, the server's
      certificate for "localhost" checked against CA) and prints one JSON object:
      {"code": "OK" | status name, "details": ..., "messages": [...], "trailers": {...}}
      CASE: unary | stream | stream-die | chat | fail | slow
"""

import json
import os
import sys
import threading

import grpc

SERVICE = "geofront.test.Echo"


def serve():
    from concurrent import futures

    def unary(request, context):
        context.set_trailing_metadata((("x-checksum", str(len(request))),))
        return request

    def stream(request, context):
        for index in range(int(request)):
            yield str(index).encode()

    def stream_then_die(request, context):
        for index in range(int(request)):
            yield str(index).encode()
        # Let the messages leave, then die as a crashed upstream would.
        threading.Timer(0.2, lambda: os._exit(3)).start()
        threading.Event().wait()

    def chat(requests, context):
        for message in requests:
            yield message.upper()

    def fail(request, context):
        context.abort(grpc.StatusCode.NOT_FOUND, "no such thing: " + request.decode())

    def slow(request, context):
        threading.Event().wait(10)
        return request

    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Stream": grpc.unary_stream_rpc_method_handler(stream),
        "StreamThenDie": grpc.unary_stream_rpc_method_handler(stream_then_die),
        "Chat": grpc.stream_stream_rpc_method_handler(chat),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
        "Slow": grpc.unary_unary_rpc_method_handler(slow),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print("ready %d" % port, flush=True)
    sys.stdin.read()
    server.stop(0)
    # Without waiting for a handler still asleep (Slow).
    os._exit(0)


def call(port, case, timeout, ca=None):
    if ca:
        with open(ca, "rb") as file:
            credentials = grpc.ssl_channel_credentials(root_certificates=file.read())
        channel = grpc.secure_channel(
            "127.0.0.1:%d" % port, credentials, options=(("grpc.ssl_target_name_override", "localhost"),))
    else:
        channel = grpc.insecure_channel("127.0.0.1:%d" % port)
    result = {"code": "OK", "details": "", "messages": [], "trailers": {}}
    try:
        if case == "unary":
            method = channel.unary_unary("/%s/Unary" % SERVICE)
            reply, outcome = method.with_call(b"hello through geofront", timeout=timeout)
            result["messages"] = [reply.decode()]
            result["trailers"] = dict(outcome.trailing_metadata())
        elif case in ("stream", "stream-die"):
            name = "Stream" if case == "stream" else "StreamThenDie"
            method = channel.unary_stream("/%s/%s" % (SERVICE, name))
            replies = method(b"50" if case == "stream" else b"3", timeout=timeout)
            for reply in replies:
                result["messages"].append(reply.decode())
            result["trailers"] = dict(replies.trailing_metadata())
        elif case == "chat":
            # Each message goes out only after the answer to the previous one came back: the
            # call is really bidirectional through the proxy, not buffered at either end.
            method = channel.stream_stream("/%s/Chat" % SERVICE)
            outgoing = []
            ready = threading.Condition()

            def messages():
                for word in ["alpha", "beta", "gamma", "delta"]:
                    with ready:
                        outgoing.append(word)
                    yield word.encode()
                    with ready:
                        ready.wait_for(lambda: len(result["messages"]) >= len(outgoing), timeout=timeout)

            replies = method(messages(), timeout=timeout)
            for reply in replies:
                with ready:
                    result["messages"].append(reply.decode())
                    ready.notify_all()
        elif case == "fail":
            channel.unary_unary("/%s/Fail" % SERVICE)(b"widget", timeout=timeout)
        elif case == "slow":
            channel.unary_unary("/%s/Slow" % SERVICE)(b"late", timeout=timeout)
    except grpc.RpcError as error:
        result["code"] = error.code().name
        result["details"] = error.details() or ""
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve()
    else:
        args = sys.argv[2:]
        ca = None
        if "--tls" in args:
            ca = args[args.index("--tls") + 1]
            args = args[: args.index("--tls")]
        call(int(args[0]), args[1], float(args[2]) if len(args) > 2 else 20.0, ca)
