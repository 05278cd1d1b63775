# docs/: documentation shipped in the tarball.
EXTRA_DIST += $(wildcard $(srcdir)/docs/*.md)
