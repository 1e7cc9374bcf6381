"""A local stand-in for an OpenAI-compatible server, for the judge tests: each POST body is recorded and answered
with ``reply(body)`` (a JSON-able dict), on 127.0.0.1 in a daemon thread."""
import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Callable, Iterator, List, Tuple


@contextmanager
def json_endpoint(reply: Callable[[dict], dict]) -> Iterator[Tuple[str, List[tuple]]]:
    """Yields (base URL ending in ``/v1``, the list of ``(path, body)`` of every request so far)."""
    requests: List[tuple] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
            requests.append((self.path, body))
            payload = json.dumps(reply(body)).encode()
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = HTTPServer(('127.0.0.1', 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f'http://127.0.0.1:{server.server_port}/v1', requests
    finally:
        server.shutdown()
