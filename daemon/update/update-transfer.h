/* The transfer of one image (bootloader or upload stream) to one
 * controller: the chunk at the current position, its acknowledgement,
 * skipping erased chunks, chunk-size adaptation after timeouts, and the
 * retransmission timeout estimated from the measured round trip (as TCP
 * does: smoothed RTT + 4 × its variance, floored by the controller's
 * programming time, doubled after each timeout of the same chunk).
 *
 * Pure: no I/O, no clock (times are passed in).  The engine
 * (update-engine.c) encodes and sends what update_transfer_next() picks
 * and reports the outcome. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UPDATE_CHUNK_MAX        384u
#define UPDATE_CHUNK_MIN        96u
#define UPDATE_CHUNK_GROW_AFTER 8u   /* clean acks before doubling back */

/* Round-trip estimator (RFC 6298 gains: 1/8 and 1/4). */
typedef struct UpdateRtt {
        uint64_t srtt, rttvar;  /* usec */
        unsigned samples;
} UpdateRtt;

void update_rtt_sample(UpdateRtt *r, uint64_t rtt_usec);
/* srtt + 4 × rttvar, at least @floor, at most @ceiling; @ceiling before
 * the first sample. */
uint64_t update_rtt_timeout(const UpdateRtt *r, uint64_t floor, uint64_t ceiling);

typedef struct UpdateTransfer {
        const uint8_t *data;
        size_t len;
        uint32_t base;          /* flash offset of data[0] (0: the new-app buffer) */
        bool skip_erased;       /* upload stream: chunks of 0xFF the erase covered are not sent */
        size_t erased_end;
        size_t pos;             /* first byte not yet acknowledged */
        size_t chunk;           /* current chunk size */
        size_t inflight_len;    /* length of the chunk in flight */
        unsigned clean_acks;
        unsigned attempts;      /* sends of the chunk in flight */
        unsigned backoff;       /* consecutive timeouts of the chunk in flight */
        uint64_t sent_at;       /* time of its last send */
        uint64_t first_sent_at; /* time of its first send */
        /* statistics, for the loss estimate */
        uint64_t sends, timeouts;
} UpdateTransfer;

void update_transfer_start(UpdateTransfer *t, const uint8_t *data, size_t len, uint32_t base, bool skip_erased,
                           size_t erased_end);
/* Pick the next chunk (skipping erased ones, whose bytes are added to
 * *ret_skipped).  Returns false when everything is acknowledged. */
bool update_transfer_next(UpdateTransfer *t, size_t *ret_skipped);
uint32_t update_transfer_offset(const UpdateTransfer *t);
const uint8_t *update_transfer_chunk(const UpdateTransfer *t);
/* The chunk picked by update_transfer_next() is on its way. */
void update_transfer_sent(UpdateTransfer *t, uint64_t now_usec);
/* Its ack arrived: returns the bytes acknowledged.  An unambiguous ack (the
 * chunk was sent once) is a round-trip sample for @rtt (Karn's rule). */
size_t update_transfer_acked(UpdateTransfer *t, uint64_t now_usec, UpdateRtt *rtt);
/* No ack in time: the chunk shrinks (not below UPDATE_CHUNK_MIN) and the
 * next timeout doubles. */
void update_transfer_timed_out(UpdateTransfer *t);
/* A wrong ack: resend as is. */
void update_transfer_rejected(UpdateTransfer *t);
/* The timeout for the chunk in flight: the RTT estimate (floored by
 * @floor_usec) doubled per consecutive timeout, at most @ceiling_usec. */
uint64_t update_transfer_timeout(const UpdateTransfer *t, const UpdateRtt *rtt, uint64_t floor_usec,
                                 uint64_t ceiling_usec);
/* Fraction of sends that timed out so far (0 without sends). */
double update_transfer_loss(const UpdateTransfer *t);
