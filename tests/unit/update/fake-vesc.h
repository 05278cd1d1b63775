/* A scripted fake VESC for the update-engine tests: it answers the flash
 * commands the way the firmware does (erase covers whole sectors, writes
 * program bits, 5.00+ echo the offset, ERASE_BOOTLOADER needs 3.59+), and
 * its bootloader checks the staged header and CRC at JUMP, refusing a
 * compressed stream unless a generation-2 bootloader was written.  Faults
 * are injected through plain fields.  Pure: the test's event loop carries
 * its replies. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "update/update-engine.h"

typedef struct FakeReply {
        bool any;
        uint8_t from_id;          /* the replier's id (after a SET_APPCONF: the new one) */
        uint64_t delay_usec;
        size_t len;
        uint8_t data[512];
} FakeReply;

typedef struct FakeVesc {
        FwIdentity id;            /* uuid, can id, running firmware */
        int bl_gen;               /* 0 = broken/erased, 1 = old, 2 = heatshrink */
        uint8_t *newapp;          /* sectors 8-10 */
        uint8_t *bl;              /* sector 11 */
        uint8_t mcconf[512], appconf[512];
        size_t mcconf_len, appconf_len;
        FwTelemetry tel;

        const FwImage *known[4];  /* what the fake's bootloader can install (by exact stream) */
        const uint8_t *set_bootloader;  /* a written copy of this counts as generation 2 */
        size_t set_bootloader_len;

        /* faults */
        double frame_loss;        /* per CAN frame, requests and replies */
        bool loss_writes_only;    /* ... of WRITE_NEW_APP_DATA only */
        uint64_t rng;
        int64_t wrong_echo_at;    /* echo a wrong offset once for this offset, -1 none */
        int64_t refuse_write_at;  /* ok = 0 for this offset, -1 none */
        unsigned lose_jumps;      /* JUMPs that never arrive */
        bool refuse_install;      /* the bootloader rejects every image */
        bool never_back;          /* silent forever after a JUMP */
        int new_id_after_reboot;  /* -1: keep */
        bool lose_set_appconf;    /* every SET_APPCONF is lost: not stored, not acked */
        uint64_t set_conf_usec;   /* SET_*CONF's store pause before the ack (0: 200 ms) */
        uint64_t install_usec;    /* JUMP to answering again after an install (0: 6 s) */

        /* state */
        bool losing;              /* the current exchange may lose frames */
        bool down;                /* rebooting, bootloader running, or dead */
        uint64_t back_after_usec; /* set by a JUMP: how long until it answers again */

        /* observations */
        unsigned erases, bl_erases, writes, jumps, installs, ff_writes, set_confs;
        size_t min_write_len;
        unsigned writes_at[8];    /* times a given watched offset was written */
        int64_t watch_offset;
} FakeVesc;

void fake_vesc_init(FakeVesc *f, const char *uuid_hex, uint8_t can_id, uint8_t major, uint8_t minor, int bl_gen,
                    uint64_t seed);
void fake_vesc_done(FakeVesc *f);
/* Change what the fake runs (and its configuration to that version's). */
void fake_vesc_set(FakeVesc *f, uint8_t can_id, uint8_t major, uint8_t minor);
/* A request arrives (mode 0 or 2); fills *ret when a reply is sent. */
void fake_vesc_receive(FakeVesc *f, const uint8_t *p, size_t n, uint8_t mode, FakeReply *ret);
/* The controller comes back after a JUMP: returns true if it does. */
bool fake_vesc_wake(FakeVesc *f);
bool fake_vesc_lose(FakeVesc *f, size_t payload_len);
