# docs/: each area lists its own documents in its local.mk; this fragment
# holds the documents that belong to no single area.
EXTRA_DIST += docs/vbus.md
# linked from README.md but listed by no area (make distcheck would drop them)
# docs/protocol.md and docs/interop.md ship with their areas (daemon/proto, tests/independent)

# The documents list what the code has: config keys, JSON methods, errors,
# D-Bus members, --help options; links resolve; no machine paths.
TESTS += tests/unit/docs/test-docs-sync.py
EXTRA_DIST += tests/unit/docs/test-docs-sync.py tests/unit/docs/method_table.py
