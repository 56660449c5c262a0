import socket

from django.core.servers.basehttp import WSGIRequestHandler

from marsad.core.server import NoDelayWSGIServer


def test_accepted_connections_have_nagle_off():
    server = NoDelayWSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    try:
        with socket.create_connection(server.server_address, timeout=5) as client:
            accepted, _ = server.get_request()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
                assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
    finally:
        server.server_close()


def test_serve_command_uses_the_server():
    from marsad.core.management.commands.serve import Command

    assert Command.server_cls is NoDelayWSGIServer
