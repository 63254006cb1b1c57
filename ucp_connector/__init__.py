"""The product shell: the ``ucp-connector`` CLI, configuration, key files and the embedded dev stack.

Request flow, by folder: ``api/`` (signed front door) -> ``workflows/`` (one
durable workflow per checkout) -> ``activities/`` (merchant I/O, discovery,
audit) -> ``storage/`` (audit log, session index); ``worker/`` hosts the
workflows and activities; ``contracts/`` holds the wire rules all of them
share; ``reference_merchant/`` is a real UCP business server for tests and demos.
"""
