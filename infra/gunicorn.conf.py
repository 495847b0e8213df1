"""gunicorn settings for the portal: `traceport serve`, the container image and `make bench`
all use this file, e.g. `gunicorn -c infra/gunicorn.conf.py "portal.app:create_app()"`.

Everything comes from the environment:

  BIND                       address to listen on; default HOST:PORT
  HOST, PORT                 default 127.0.0.1 and 8000 (the image sets HOST=0.0.0.0)
  WEB_CONCURRENCY            worker processes, default 2 (about one per core)
  GUNICORN_THREADS           threads per worker (gthread), default 4: a request mostly waits
                             on PostgreSQL, so a few threads keep a core busy
  GUNICORN_TIMEOUT           seconds a worker may be silent before it is killed, default 30
  GUNICORN_GRACEFUL_TIMEOUT  seconds to finish requests in flight on stop/restart, default 30
  GUNICORN_KEEPALIVE         seconds an idle keep-alive connection is kept, default 5
                             (longer than a load balancer's idle timeout is a mistake; shorter
                             costs reconnects)
  GUNICORN_MAX_REQUESTS      restart a worker after this many requests (0: never, the default)
  FORWARDED_ALLOW_IPS        proxies whose X-Forwarded-* headers are trusted, default 127.0.0.1
  ACCESS_LOG                 "-" (stdout, the default), a file path, or "off"
  LOG_LEVEL                  default info

The app is not preloaded: each worker builds its own runtime (engine and pool) after the
fork, so no database connection is ever shared between processes. The workers keep no
state of their own (sessions are signed cookies, everything else is in PostgreSQL), so
more of them - on this machine or behind a load balancer - serve the same site.
"""

import os

_env = os.environ.get

bind = [_env("BIND") or f"{_env('HOST', '127.0.0.1')}:{_env('PORT', '8000')}"]
workers = int(_env("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(_env("GUNICORN_THREADS", "4"))
timeout = int(_env("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(_env("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(_env("GUNICORN_KEEPALIVE", "5"))
max_requests = int(_env("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
preload_app = False
forwarded_allow_ips = _env("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Heartbeat files on tmpfs: a container's overlay filesystem can stall them.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - gunicorn's documented choice
limit_request_line = 8190
limit_request_fields = 100

loglevel = _env("LOG_LEVEL", "info").lower()
errorlog = "-"
_access = _env("ACCESS_LOG", "-")
accesslog = None if _access == "off" else _access
# One JSON-ish object per request (values are not escaped: a quote in a path or user
# agent can break strict parsers). D: microseconds; b: bytes or "-"; p: the worker's pid.
access_log_format = (
    '{"time": "%(t)s", "pid": "%(p)s", "remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", "query": "%(q)s",'
    ' "status": %(s)s, "bytes": "%(b)s", "duration_us": %(D)s, "request_id": "%({x-request-id}o)s",'
    ' "referer": "%(f)s", "user_agent": "%(a)s"}'
)
proc_name = "traceport-web"
