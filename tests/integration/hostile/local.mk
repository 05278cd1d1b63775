# Hostile suite (tests/integration/hostile/): a hostile bus and hostile
# clients against vescd on vesc-sim; each test keeps a normal client
# calling controller.get_values and asserts every call is answered.
hostile_tests = \
	tests/integration/hostile/test-image-kinds.py \
	tests/integration/hostile/test-ghost-ids.py \
	tests/integration/hostile/test-slowloris.py \
	tests/integration/hostile/test-own-stall.py \
	tests/integration/hostile/test-admin-creds.py \
	tests/integration/hostile/test-phantoms.py \
	tests/integration/hostile/test-log-flood.py \
	tests/integration/hostile/test-restarts-under-load.py
TESTS += $(hostile_tests)
dist_noinst_SCRIPTS += $(hostile_tests)
dist_noinst_DATA += tests/integration/hostile/hostile.py
