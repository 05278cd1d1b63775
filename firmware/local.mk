# firmware: build rules (included from the top-level Makefile.am)

# Pure parts shared by vescd, vesc-sim and vescfw.
common_libvesc_a_SOURCES += \
	firmware/heatshrink.h firmware/heatshrink.c \
	firmware/fwimage.h firmware/fwimage.c

# Image sets and the installed-set store (jansson + libsodium): vescfw, vescd.
noinst_LIBRARIES += firmware/libvescfw.a
firmware_libvescfw_a_SOURCES = \
	firmware/imageset.h firmware/imageset.c \
	firmware/imagestore.h firmware/imagestore.c
firmware_libvescfw_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(SODIUM_CFLAGS)
VESCFW_LIBS = firmware/libvescfw.a common/libvesc.a $(JANSSON_LIBS) $(SODIUM_LIBS)

# ---------------------------------------------------------------- tests
check_PROGRAMS += tests/unit/firmware/test-heatshrink
TESTS += tests/unit/firmware/test-heatshrink
tests_unit_firmware_test_heatshrink_SOURCES = tests/unit/firmware/test-heatshrink.c
tests_unit_firmware_test_heatshrink_CFLAGS = $(TEST_CFLAGS)
tests_unit_firmware_test_heatshrink_LDADD = common/libvesc.a $(TEST_LIBS)

EXTRA_DIST += docs/image-sets.md

# ---------------------------------------------------------------- vescfw
bin_PROGRAMS += firmware/vescfw
firmware_vescfw_SOURCES = firmware/vescfw.c
firmware_vescfw_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(SODIUM_CFLAGS)
firmware_vescfw_LDADD = $(VESCFW_LIBS)
dist_man_MANS += docs/vescfw.1

# Host tool that pads the cross-built test firmware and writes descriptors.
noinst_PROGRAMS += firmware/mkimage
firmware_mkimage_SOURCES = firmware/mkimage.c
firmware_mkimage_LDADD = common/libvesc.a

# ------------------------------------------------------- test firmware
# Cross-built with $(ARM_CC); `make imagesets` writes the two test sets into
# $(builddir)/firmware/imagesets/ as directories and as .tar archives.
TESTFW_CFLAGS = -mcpu=cortex-m4 -mthumb -nostdlib -ffreestanding -Os -g0 \
	-Wall -Wextra -fno-common -ffunction-sections
TESTFW_DIR = firmware/testfw
TESTFW_APP_SRC = $(srcdir)/firmware/testfw/startup.c $(srcdir)/firmware/testfw/app.c
TESTFW_BL_SRC = $(srcdir)/firmware/testfw/startup.c $(srcdir)/firmware/testfw/bootloader.c
EXTRA_DIST += \
	firmware/testfw/startup.c firmware/testfw/app.c firmware/testfw/bootloader.c \
	firmware/testfw/app.ld firmware/testfw/bootloader.ld
TESTFW_IMAGES = \
	$(TESTFW_DIR)/app-5.03-60.bin $(TESTFW_DIR)/app-5.03-410.bin \
	$(TESTFW_DIR)/app-6.05-60.bin $(TESTFW_DIR)/app-6.05-410.bin \
	$(TESTFW_DIR)/bootloader-gen1-60.bin $(TESTFW_DIR)/bootloader-gen1-410.bin \
	$(TESTFW_DIR)/bootloader-gen2-60.bin $(TESTFW_DIR)/bootloader-gen2-410.bin \
	$(TESTFW_DIR)/app-6.05-STORMCORE_100D.bin $(TESTFW_DIR)/bootloader-gen2-STORMCORE_100D.bin
IMAGESETS_DIR = firmware/imagesets
IMAGESETS = \
	$(IMAGESETS_DIR)/vesc-5.03-test $(IMAGESETS_DIR)/vesc-5.03-test.tar \
	$(IMAGESETS_DIR)/vesc-6.05-test $(IMAGESETS_DIR)/vesc-6.05-test.tar
# Reproducible manifests (same set id on every build of the same sources).
IMAGESETS_EPOCH = 1764000000

if HAVE_ARM_TOOLCHAIN
$(TESTFW_DIR)/app.elf: $(TESTFW_APP_SRC) $(srcdir)/firmware/testfw/app.ld
	@$(MKDIR_P) $(TESTFW_DIR)
	$(AM_V_CC)$(ARM_CC) $(TESTFW_CFLAGS) -T $(srcdir)/firmware/testfw/app.ld -o $@ $(TESTFW_APP_SRC)
$(TESTFW_DIR)/bootloader.elf: $(TESTFW_BL_SRC) $(srcdir)/firmware/testfw/bootloader.ld
	@$(MKDIR_P) $(TESTFW_DIR)
	$(AM_V_CC)$(ARM_CC) $(TESTFW_CFLAGS) -T $(srcdir)/firmware/testfw/bootloader.ld -o $@ $(TESTFW_BL_SRC)
$(TESTFW_DIR)/app.raw: $(TESTFW_DIR)/app.elf
	$(AM_V_GEN)$(ARM_OBJCOPY) -O binary --gap-fill 0xFF $< $@
$(TESTFW_DIR)/bootloader.raw: $(TESTFW_DIR)/bootloader.elf
	$(AM_V_GEN)$(ARM_OBJCOPY) -O binary --gap-fill 0xFF $< $@

$(TESTFW_DIR)/app-5.03-60.bin: $(TESTFW_DIR)/app.raw firmware/mkimage$(EXEEXT)
	$(AM_V_GEN)firmware/mkimage app --major 5 --minor 3 --hw 60 --min-bootloader 1 --build-id 0x05030060 $< $@
$(TESTFW_DIR)/app-5.03-410.bin: $(TESTFW_DIR)/app.raw firmware/mkimage$(EXEEXT)
	$(AM_V_GEN)firmware/mkimage app --major 5 --minor 3 --hw 410 --min-bootloader 1 --build-id 0x05030410 $< $@
$(TESTFW_DIR)/app-6.05-60.bin: $(TESTFW_DIR)/app.raw firmware/mkimage$(EXEEXT)
	$(AM_V_GEN)firmware/mkimage app --major 6 --minor 5 --hw 60 --min-bootloader 2 --build-id 0x06050060 $< $@
$(TESTFW_DIR)/app-6.05-410.bin: $(TESTFW_DIR)/app.raw firmware/mkimage$(EXEEXT)
	$(AM_V_GEN)firmware/mkimage app --major 6 --minor 5 --hw 410 --min-bootloader 2 --build-id 0x06050410 $< $@
# a single-MCU dual-motor controller (spec §16.3; vesc-sim --board dual-mcu)
$(TESTFW_DIR)/app-6.05-STORMCORE_100D.bin: $(TESTFW_DIR)/app.raw firmware/mkimage$(EXEEXT)
	$(AM_V_GEN)firmware/mkimage app --major 6 --minor 5 --hw STORMCORE_100D --min-bootloader 2 --build-id 0x06050100 $< $@
$(TESTFW_DIR)/bootloader-gen1-60.bin: $(TESTFW_DIR)/bootloader.raw firmware/mkimage$(EXEEXT)
	$(AM_V_GEN)firmware/mkimage bootloader --generation 1 --hw 60 $< $@
$(TESTFW_DIR)/bootloader-gen1-410.bin: $(TESTFW_DIR)/bootloader.raw firmware/mkimage$(EXEEXT)
	$(AM_V_GEN)firmware/mkimage bootloader --generation 1 --hw 410 $< $@
$(TESTFW_DIR)/bootloader-gen2-60.bin: $(TESTFW_DIR)/bootloader.raw firmware/mkimage$(EXEEXT)
	$(AM_V_GEN)firmware/mkimage bootloader --generation 2 --hw 60 $< $@
$(TESTFW_DIR)/bootloader-gen2-410.bin: $(TESTFW_DIR)/bootloader.raw firmware/mkimage$(EXEEXT)
	$(AM_V_GEN)firmware/mkimage bootloader --generation 2 --hw 410 $< $@
$(TESTFW_DIR)/bootloader-gen2-STORMCORE_100D.bin: $(TESTFW_DIR)/bootloader.raw firmware/mkimage$(EXEEXT)
	$(AM_V_GEN)firmware/mkimage bootloader --generation 2 --hw STORMCORE_100D $< $@

# all-local and clean-local are used only here; another area that needs
# them should add its prerequisites to these same targets.
# A directory target is rebuilt from scratch (vescfw refuses to overwrite).
$(IMAGESETS_DIR)/vesc-5.03-test: $(TESTFW_DIR)/app-5.03-60.bin $(TESTFW_DIR)/app-5.03-410.bin firmware/vescfw$(EXEEXT)
	@$(MKDIR_P) $(IMAGESETS_DIR)
	@rm -rf $@ $@.tar
	$(AM_V_GEN)SOURCE_DATE_EPOCH=$(IMAGESETS_EPOCH) firmware/vescfw build --name vesc-5.03-test --version 5.03 \
		--source "vescd test firmware (firmware/testfw)" \
		--app 60=$(TESTFW_DIR)/app-5.03-60.bin --app 410=$(TESTFW_DIR)/app-5.03-410.bin \
		--output $@ >/dev/null
$(IMAGESETS_DIR)/vesc-6.05-test: $(TESTFW_DIR)/app-6.05-60.bin $(TESTFW_DIR)/app-6.05-410.bin \
		$(TESTFW_DIR)/bootloader-gen2-60.bin $(TESTFW_DIR)/bootloader-gen2-410.bin \
		$(TESTFW_DIR)/app-6.05-STORMCORE_100D.bin $(TESTFW_DIR)/bootloader-gen2-STORMCORE_100D.bin firmware/vescfw$(EXEEXT)
	@$(MKDIR_P) $(IMAGESETS_DIR)
	@rm -rf $@ $@.tar
	$(AM_V_GEN)SOURCE_DATE_EPOCH=$(IMAGESETS_EPOCH) firmware/vescfw build --name vesc-6.05-test --version 6.05 \
		--source "vescd test firmware (firmware/testfw)" \
		--app 60=$(TESTFW_DIR)/app-6.05-60.bin --bootloader 60=$(TESTFW_DIR)/bootloader-gen2-60.bin \
		--app 410=$(TESTFW_DIR)/app-6.05-410.bin --bootloader 410=$(TESTFW_DIR)/bootloader-gen2-410.bin \
		--app STORMCORE_100D=$(TESTFW_DIR)/app-6.05-STORMCORE_100D.bin \
		--bootloader STORMCORE_100D=$(TESTFW_DIR)/bootloader-gen2-STORMCORE_100D.bin \
		--output $@ >/dev/null
$(IMAGESETS_DIR)/vesc-5.03-test.tar: $(IMAGESETS_DIR)/vesc-5.03-test
	$(AM_V_GEN)firmware/vescfw pack --output $@ $< >/dev/null
$(IMAGESETS_DIR)/vesc-6.05-test.tar: $(IMAGESETS_DIR)/vesc-6.05-test
	$(AM_V_GEN)firmware/vescfw pack --output $@ $< >/dev/null

imagesets: $(TESTFW_IMAGES) $(IMAGESETS)
all-local: imagesets
else
imagesets:
	@echo "imagesets: skipped: install gcc-arm-none-eabi (and reconfigure) to build the test firmware"
endif
.PHONY: imagesets

clean-local: clean-imagesets
clean-imagesets:
	-rm -rf $(IMAGESETS_DIR) $(TESTFW_DIR)/*.elf $(TESTFW_DIR)/*.raw $(TESTFW_DIR)/*.bin
.PHONY: clean-imagesets

check_PROGRAMS += tests/unit/firmware/test-fwimage tests/unit/firmware/test-imageset
TESTS += tests/unit/firmware/test-fwimage tests/unit/firmware/test-imageset
tests_unit_firmware_test_fwimage_SOURCES = tests/unit/firmware/test-fwimage.c
tests_unit_firmware_test_fwimage_CFLAGS = $(TEST_CFLAGS)
tests_unit_firmware_test_fwimage_LDADD = common/libvesc.a $(TEST_LIBS)
tests_unit_firmware_test_imageset_SOURCES = tests/unit/firmware/test-imageset.c
tests_unit_firmware_test_imageset_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS) $(SODIUM_CFLAGS)
tests_unit_firmware_test_imageset_LDADD = $(VESCFW_LIBS) $(TEST_LIBS)
TESTS += tests/unit/firmware/vescfw.sh
dist_noinst_SCRIPTS += tests/unit/firmware/vescfw.sh

# ------------------------------------------------------------------ fuzz
# Replayed over the committed corpus by `make check` (tests/fuzz/fuzz-replay.c
# reads tests/fuzz/corpus/<target>/ by default).
FIRMWARE_FUZZ_CORPUS = \
	tests/fuzz/corpus/fuzz-manifest/manifest-5.03 \
	tests/fuzz/corpus/fuzz-manifest/manifest-6.05 \
	tests/fuzz/corpus/fuzz-manifest/bad-path \
	tests/fuzz/corpus/fuzz-manifest/dup-key \
	tests/fuzz/corpus/fuzz-manifest/tar-manifest-only \
	tests/fuzz/corpus/fuzz-image/app-5.03-head \
	tests/fuzz/corpus/fuzz-image/app-6.05-head \
	tests/fuzz/corpus/fuzz-image/bootloader-gen2-head \
	tests/fuzz/corpus/fuzz-image/even-reset \
	tests/fuzz/corpus/fuzz-image/abcabcabc
EXTRA_DIST += $(FIRMWARE_FUZZ_CORPUS)
check_PROGRAMS += tests/fuzz/fuzz-manifest-replay tests/fuzz/fuzz-image-replay
TESTS += tests/fuzz/fuzz-manifest-replay tests/fuzz/fuzz-image-replay
tests_fuzz_fuzz_manifest_replay_SOURCES = tests/fuzz/fuzz-manifest.c tests/fuzz/fuzz-replay.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_manifest_replay_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(SODIUM_CFLAGS)
tests_fuzz_fuzz_manifest_replay_LDADD = $(VESCFW_LIBS)
tests_fuzz_fuzz_image_replay_SOURCES = tests/fuzz/fuzz-image.c tests/fuzz/fuzz-replay.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_image_replay_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(SODIUM_CFLAGS)
tests_fuzz_fuzz_image_replay_LDADD = $(VESCFW_LIBS)

if ENABLE_FUZZING
FIRMWARE_FUZZ_SOURCES = \
	common/crc.c firmware/heatshrink.c firmware/fwimage.c firmware/imageset.c
noinst_PROGRAMS += tests/fuzz/fuzz-manifest tests/fuzz/fuzz-image
tests_fuzz_fuzz_manifest_SOURCES = tests/fuzz/fuzz-manifest.c $(FIRMWARE_FUZZ_SOURCES)
tests_fuzz_fuzz_manifest_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(SODIUM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_manifest_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_manifest_LDADD = $(JANSSON_LIBS) $(SODIUM_LIBS)
tests_fuzz_fuzz_image_SOURCES = tests/fuzz/fuzz-image.c $(FIRMWARE_FUZZ_SOURCES)
tests_fuzz_fuzz_image_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(SODIUM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_image_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_image_LDADD = $(JANSSON_LIBS) $(SODIUM_LIBS)
endif
