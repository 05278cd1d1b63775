# docs/: each area lists its own documents in its local.mk; this fragment
# holds the documents that belong to no single area.
EXTRA_DIST += docs/vbus.md
