"""The HTTP server of ``marsad serve``: Django's threaded WSGI server with Nagle's algorithm off.

Django's server writes a response's head and body in two sends. On a kept-alive connection the
body then waits, under Nagle's algorithm, for the client's acknowledgement of the head, which the
client delays by up to 40 ms: every request after a connection's first took 40 ms more (a
connector sending batches through one HTTP connection paid it on each batch). Accepted sockets get
``TCP_NODELAY``, as production servers set it.
"""

import socket

from django.core.servers.basehttp import WSGIServer


class NoDelayWSGIServer(WSGIServer):
    def get_request(self):
        connection, address = super().get_request()
        if connection.family in (socket.AF_INET, socket.AF_INET6):
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address
