# tests/independent/: interop tests against stock tools and an independent protocol implementation
