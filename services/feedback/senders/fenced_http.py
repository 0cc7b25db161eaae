"""HTTP connections that write nothing after the send's deadline (``Outgoing.fenced``), for the
provider clients: ``requests``/``urllib3`` (Twilio's client) and ``urllib`` (SendGrid's).

Every write of a request goes through ``http.client.HTTPConnection.send`` (``urllib3``'s
connection is one); the fenced connections check the calling context's deadline there, after the
client was built, a pooled connection found and the connection made (TLS included), just before
the bytes go to the socket. A request refused after its headers is incomplete, and no HTTP server acts on it.
What is left is the moment between that check and the write itself: a worker frozen exactly
there still writes when it wakes.

Nothing here names a provider; a call outside ``Outgoing.fenced`` (a look-up) is not fenced."""

from __future__ import annotations

import http.client
import urllib.request
from typing import Any

import urllib3.connection
import urllib3.connectionpool
from requests.adapters import HTTPAdapter

from services.feedback.senders.base import check_write_deadline


class _FencedWrites:
    """Checks the deadline before each write of an ``http.client.HTTPConnection`` it is mixed into."""

    sock: Any

    def send(self, data: Any) -> None:
        if self.sock is None:  # connect first (``http.client`` would, inside ``send``): then check
            self.connect()  # type: ignore[attr-defined]
        check_write_deadline()
        super().send(data)  # type: ignore[misc]


# -- requests / urllib3 ----------------------------------------------------------------------------


class FencedHTTPConnection(_FencedWrites, urllib3.connection.HTTPConnection):
    pass


class FencedHTTPSConnection(_FencedWrites, urllib3.connection.HTTPSConnection):
    pass


class FencedHTTPConnectionPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = FencedHTTPConnection


class FencedHTTPSConnectionPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = FencedHTTPSConnection


class FencedAdapter(HTTPAdapter):
    """A ``requests`` transport adapter whose connections are fenced; mount it for http and https."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": FencedHTTPConnectionPool,
                                                   "https": FencedHTTPSConnectionPool}


# -- urllib ----------------------------------------------------------------------------------------


class FencedClientHTTPConnection(_FencedWrites, http.client.HTTPConnection):
    pass


class FencedClientHTTPSConnection(_FencedWrites, http.client.HTTPSConnection):
    pass


_FENCED: dict[type[http.client.HTTPConnection], type[http.client.HTTPConnection]] = {
    http.client.HTTPConnection: FencedClientHTTPConnection,
    http.client.HTTPSConnection: FencedClientHTTPSConnection,
}


class _FencedOpen(urllib.request.AbstractHTTPHandler):
    def do_open(self, http_class: Any, req: urllib.request.Request, **http_conn_args: Any) -> Any:
        return super().do_open(_FENCED.get(http_class, http_class), req, **http_conn_args)


class FencedHTTPHandler(_FencedOpen, urllib.request.HTTPHandler):
    pass


class FencedHTTPSHandler(_FencedOpen, urllib.request.HTTPSHandler):
    pass


def fenced_opener() -> urllib.request.OpenerDirector:
    """``urllib.request.build_opener()`` with fenced http and https connections."""
    return urllib.request.build_opener(FencedHTTPHandler, FencedHTTPSHandler)
