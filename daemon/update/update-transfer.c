/* Chunked image transfer and retransmission timeouts (see update-transfer.h). */
#include "update/update-plan.h"
#include "update/update-transfer.h"
#include "macro.h"

/**
 * update_rtt_sample() - feed one measured round trip
 * @r: the estimator
 * @rtt_usec: the sample
 */
void update_rtt_sample(UpdateRtt *r, uint64_t rtt_usec) {
        if (r->samples++ == 0) {
                r->srtt = rtt_usec;
                r->rttvar = rtt_usec / 2;
                return;
        }
        uint64_t d = r->srtt > rtt_usec ? r->srtt - rtt_usec : rtt_usec - r->srtt;
        r->rttvar = (3 * r->rttvar + d) / 4;
        r->srtt = (7 * r->srtt + rtt_usec) / 8;
}

/**
 * update_rtt_timeout() - the retransmission timeout
 * @r: the estimator
 * @floor: never less (the controller's own processing time)
 * @ceiling: never more, and the value before the first sample
 *
 * Return: srtt + 4 × rttvar clamped to [@floor, @ceiling].
 */
uint64_t update_rtt_timeout(const UpdateRtt *r, uint64_t floor, uint64_t ceiling) {
        if (r->samples == 0)
                return MAX(ceiling, floor);
        return CLAMP(r->srtt + 4 * r->rttvar, floor, MAX(ceiling, floor));
}

/**
 * update_transfer_start() - begin a transfer
 * @t: the transfer
 * @data: the bytes (borrowed)
 * @len: their number
 * @base: flash offset of @data[0]
 * @skip_erased: do not send chunks of 0xFF that the erase covered
 * @erased_end: bytes from offset 0 that the erase covered
 */
void update_transfer_start(UpdateTransfer *t, const uint8_t *data, size_t len, uint32_t base, bool skip_erased,
                           size_t erased_end) {
        *t = (UpdateTransfer) {
                .data = data,
                .len = len,
                .base = base,
                .skip_erased = skip_erased,
                .erased_end = erased_end,
                .chunk = UPDATE_CHUNK_MAX,
        };
}

/**
 * update_transfer_next() - pick the chunk to send
 * @t: the transfer
 * @ret_skipped: incremented by the bytes of skipped erased chunks
 *
 * Return: true with a chunk picked, false when the transfer is complete.
 */
bool update_transfer_next(UpdateTransfer *t, size_t *ret_skipped) {
        for (;;) {
                if (t->pos >= t->len) {
                        t->inflight_len = 0;
                        return false;
                }
                size_t len = MIN(t->chunk, t->len - t->pos);
                t->inflight_len = len;
                if (!t->skip_erased || !fw_chunk_skippable(t->data, t->pos, len, t->erased_end))
                        return true;
                if (ret_skipped)
                        *ret_skipped += len;
                t->pos += len;
                t->attempts = t->backoff = 0;
        }
}

uint32_t update_transfer_offset(const UpdateTransfer *t) {
        return t->base + (uint32_t) t->pos;
}

const uint8_t *update_transfer_chunk(const UpdateTransfer *t) {
        return t->data + t->pos;
}

void update_transfer_sent(UpdateTransfer *t, uint64_t now_usec) {
        if (t->attempts == 0)
                t->first_sent_at = now_usec;
        t->attempts++;
        t->sends++;
        t->sent_at = now_usec;
}

/**
 * update_transfer_acked() - the chunk in flight is acknowledged
 * @t: the transfer
 * @now_usec: when the ack arrived
 * @rtt: receives a sample if the ack is unambiguous (may be NULL)
 *
 * After UPDATE_CHUNK_GROW_AFTER clean acks in a row the chunk doubles back
 * towards UPDATE_CHUNK_MAX.
 *
 * Return: the bytes acknowledged.
 */
size_t update_transfer_acked(UpdateTransfer *t, uint64_t now_usec, UpdateRtt *rtt) {
        size_t n = t->inflight_len;

        if (rtt && t->attempts == 1 && now_usec >= t->sent_at)
                update_rtt_sample(rtt, now_usec - t->sent_at);
        if (t->attempts > 1)
                t->clean_acks = 0;
        else if (++t->clean_acks >= UPDATE_CHUNK_GROW_AFTER && t->chunk < UPDATE_CHUNK_MAX) {
                t->chunk = MIN(t->chunk * 2, (size_t) UPDATE_CHUNK_MAX);
                t->clean_acks = 0;
        }
        t->pos += n;
        t->inflight_len = 0;
        t->attempts = t->backoff = 0;
        return n;
}

void update_transfer_timed_out(UpdateTransfer *t) {
        t->timeouts++;
        t->clean_acks = 0;
        t->backoff++;
        if (t->chunk > UPDATE_CHUNK_MIN)
                t->chunk = MAX(t->chunk / 2, (size_t) UPDATE_CHUNK_MIN);
}

void update_transfer_rejected(UpdateTransfer *t) {
        t->clean_acks = 0;
}

/**
 * update_transfer_timeout() - how long to wait for the chunk's ack
 * @t: the transfer
 * @rtt: the round-trip estimate
 * @floor_usec: the least (controller's programming time and margin)
 * @ceiling_usec: the most (and the value before any measurement)
 *
 * Return: the RTT-based timeout doubled per consecutive timeout of this
 * chunk, within [@floor_usec, @ceiling_usec].
 */
uint64_t update_transfer_timeout(const UpdateTransfer *t, const UpdateRtt *rtt, uint64_t floor_usec,
                                 uint64_t ceiling_usec) {
        uint64_t rto = update_rtt_timeout(rtt, floor_usec, ceiling_usec);

        for (unsigned i = 0; i < t->backoff && rto < ceiling_usec; i++)
                rto *= 2;
        return MIN(rto, MAX(ceiling_usec, floor_usec));
}

double update_transfer_loss(const UpdateTransfer *t) {
        return t->sends ? (double) t->timeouts / (double) t->sends : 0.0;
}
