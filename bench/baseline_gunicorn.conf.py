"""gunicorn settings of the baseline: gunicorn's own gevent worker, one process, as the gateway's.

An explicit file, so that gunicorn never picks up the gateway's ./gunicorn.conf.py (its hooks
expect the gateway's app).
"""

worker_class = "gevent"
workers = 1
worker_connections = 20000
timeout = 75
control_socket_disable = True
