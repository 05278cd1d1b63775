/* Test harness for vesc-sim: start it on a temporary vbus, be one raw
 * SOCK_SEQPACKET member of that bus (no simbus code), talk to the
 * controllers with nothing but the protocol codec, and drive the control
 * socket.  Every wait is bounded; nothing sleeps and hopes. */
#pragma once

#include <linux/can.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/vesc-buffer.h"

#define HARNESS_OWN_ID 253

typedef struct Harness {
        pid_t pid;
        int out_fd;          /* vesc-sim's stdout */
        int sock;            /* our bus membership */
        char dir[256];
        char bus_path[300];
        char ctl_path[300];
        VescReassembler ra;
} Harness;

/* Start $top_builddir/sim/vesc-sim --vbus DIR/bus --control DIR/ctl --board
 * board [extra...] (NULL-terminated) and wait for "vesc-sim: ready".
 * Returns 0, or -errno; 77 via harness_skip() when vesc-sim is missing. */
int harness_start(Harness *h, const char *board, const char *const *extra);
/* SIGTERM, wait (bounded), clean up.  Returns vesc-sim's exit status or -errno. */
int harness_stop(Harness *h);
/* cmocka setup: harness_start() into h, then *state = h.  0, or -1. */
int harness_setup(void **state, Harness *h, const char *board, const char *const *extra);
/* cmocka teardown: harness_stop(*state); 0 only when vesc-sim exited 0 on
 * SIGTERM, as it must. */
int harness_teardown(void **state);

uint64_t harness_now_usec(void);

int harness_send(Harness *h, const struct can_frame *f);
/* Next frame within timeout_ms; 0 on success, -ETIMEDOUT. */
int harness_recv(Harness *h, struct can_frame *f, int timeout_ms);

/* Send payload to dest as a buffer transfer (mode 0) from `sender`. */
int harness_send_buffer(Harness *h, uint8_t dest, uint8_t sender, uint8_t mode, const uint8_t *p, size_t n);
/* Wait for a complete buffered reply addressed to HARNESS_OWN_ID whose first
 * byte is cmd (other traffic is skipped).  *ret_from = byte 0 of PROCESS.
 * Returns the length, -ETIMEDOUT. */
ssize_t harness_wait_reply(Harness *h, uint8_t cmd, uint8_t *buf, size_t size, uint8_t *ret_from, int timeout_ms);
/* Request from HARNESS_OWN_ID with mode 0 and wait for the reply. */
ssize_t harness_request(Harness *h, uint8_t dest, const uint8_t *p, size_t n, uint8_t *buf, size_t size,
                        int timeout_ms);

/* PING dest from `from`; waits for a PONG addressed to `from`.  Returns the
 * PONG's DLC and fills data, or -ETIMEDOUT. */
int harness_ping(Harness *h, uint8_t dest, uint8_t from, uint8_t data[8], int timeout_ms);

/* One control-socket command; reply line without newline into buf. */
int harness_control(Harness *h, const char *cmd, char *buf, size_t size);
/* Poll "status" until `needle` appears in it (bounded).  0 or -ETIMEDOUT. */
int harness_wait_status(Harness *h, const char *needle, int timeout_ms);

/* Exit 77 with a message (automake SKIP). */
_Noreturn void harness_skip(const char *why);
