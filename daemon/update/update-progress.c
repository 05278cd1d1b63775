/* Job progress accounting (see update-progress.h). */

#include "update/update-progress.h"
#include "macro.h"

/**
 * fw_progress_start() - begin measuring
 * @p: the progress, zero-initialised or restored from a snapshot
 * @now_usec: the current time
 */
void fw_progress_start(FwProgress *p, uint64_t now_usec) {
        p->start_usec = now_usec;
        p->last_usec = now_usec;
}

/**
 * fw_progress_add() - add planned work to the total
 * @p: the progress
 * @units: weighted units (bytes on the bus plus fixed step weights)
 * @bytes: of which stream/bootloader bytes
 */
void fw_progress_add(FwProgress *p, uint64_t units, uint64_t bytes) {
        p->units_total += units;
        p->bytes_total += bytes;
}

/**
 * fw_progress_plan_transfer() - the planned time of bytes to transfer
 * @p: the progress
 * @bytes: bytes added (or about to be added) with fw_progress_add()
 * @usec: their planned transfer time, time-scaled
 *
 * Gives the rate the ETA uses before transfers are measured.
 */
void fw_progress_plan_transfer(FwProgress *p, uint64_t bytes, uint64_t usec) {
        p->plan_bytes += bytes;
        p->plan_usec += usec;
}

/**
 * fw_progress_advance() - record finished work
 * @p: the progress
 * @units: weighted units done
 * @bytes: of which stream/bootloader bytes
 * @now_usec: the current time
 *
 * Done never exceeds the total.  Bytes measure the transfer: the time since
 * the previous advance or step end is theirs (capped at
 * FW_PROGRESS_PAUSE_CAP times their planned time).
 */
void fw_progress_advance(FwProgress *p, uint64_t units, uint64_t bytes, uint64_t now_usec) {
        if (bytes > 0 && now_usec >= p->last_usec) {
                uint64_t dt = now_usec - p->last_usec;

                if (p->plan_bytes > 0) {
                        double cap = (double) FW_PROGRESS_PAUSE_CAP * (double) bytes * (double) p->plan_usec /
                                     (double) p->plan_bytes;
                        if ((double) dt > cap)
                                dt = (uint64_t) cap;
                }
                p->meas_bytes += bytes;
                p->meas_usec += dt;
        }
        p->units_done = MIN(p->units_done + units, p->units_total);
        p->bytes_done = MIN(p->bytes_done + bytes, p->bytes_total);
        if (units > 0 || bytes > 0) {
                p->last_usec = MAX(p->last_usec, now_usec);
                p->streaming = bytes > 0 && p->bytes_done < p->bytes_total;
        }
}

/**
 * fw_progress_percent() - the percentage to report
 * @p: the progress
 *
 * Return: 0-99 while running (never below the last value returned), 100
 * after fw_progress_finish().
 */
unsigned fw_progress_percent(FwProgress *p) {
        unsigned v;

        if (p->finished)
                return p->percent = 100;
        v = p->units_total ? (unsigned) (p->units_done * 100 / p->units_total) : 0;
        p->percent = MAX(p->percent, MIN(v, 99u));
        return p->percent;
}

/**
 * fw_progress_finish() - the job is done: 100 %
 * @p: the progress
 */
void fw_progress_finish(FwProgress *p) {
        p->units_done = p->units_total;
        p->bytes_done = p->bytes_total;
        p->finished = true;
        p->wait_usec = 0;
        p->percent = 100;
}

/**
 * fw_progress_eta_usec() - estimated time to completion
 * @p: the progress
 * @now_usec: the current time
 *
 * The planned steps without bytes still ahead (less the time since the
 * last step ended, when not within a transfer, as far as they go) plus the bytes left at the transfer
 * rate: the plan's before any transfer is measured, blended towards the
 * measured rate as acknowledged bytes come in (the plan weighs as
 * FW_PROGRESS_PRIOR_BYTES bytes).  A slow step (an erase) never sets the
 * transfer rate.  Without a plan, the average throughput since
 * fw_progress_start().
 *
 * Return: microseconds, 0 when finished, UINT64_MAX when not yet measurable.
 */
uint64_t fw_progress_eta_usec(const FwProgress *p, uint64_t now_usec) {
        uint64_t left = p->bytes_total - MIN(p->bytes_done, p->bytes_total), since;
        double per_byte, xfer;

        if (p->finished)
                return 0;
        if (p->plan_bytes > 0)
                per_byte = ((double) p->plan_usec / (double) p->plan_bytes * FW_PROGRESS_PRIOR_BYTES +
                            (double) p->meas_usec) /
                           (double) (FW_PROGRESS_PRIOR_BYTES + p->meas_bytes);
        else if (p->wait_usec == 0) {
                /* no plan at all: the average throughput so far */
                if (p->units_done == 0 || now_usec <= p->start_usec)
                        return UINT64_MAX;
                return (uint64_t) ((double) (now_usec - p->start_usec) * (double) (p->units_total - p->units_done) /
                                   (double) p->units_done);
        } else if (p->meas_bytes > 0)
                per_byte = (double) p->meas_usec / (double) p->meas_bytes;
        else if (left > 0)
                return UINT64_MAX;
        else
                per_byte = 0;
        xfer = per_byte * (double) left;
        /* in a step without bytes (not within a transfer: a pause there is
         * not a step's progress) */
        since = !p->streaming && now_usec > p->last_usec ? now_usec - p->last_usec : 0;
        return (uint64_t) xfer + p->wait_usec - MIN(since, p->wait_usec);
}

/**
 * fw_progress_add_wait() - a step without bytes is ahead
 * @p: the progress
 * @usec: its planned duration (fw_estimate_side(), time-scaled)
 */
void fw_progress_add_wait(FwProgress *p, uint64_t usec) {
        p->wait_usec += usec;
}

/**
 * fw_progress_wait_done() - a step without bytes is over
 * @p: the progress
 * @usec: what fw_progress_add_wait() added for it
 * @now_usec: the current time
 */
void fw_progress_wait_done(FwProgress *p, uint64_t usec, uint64_t now_usec) {
        p->wait_usec = p->wait_usec > usec ? p->wait_usec - usec : 0;
        p->last_usec = MAX(p->last_usec, now_usec);
        p->streaming = false;
}

#define EST_SECTOR_BYTES        131072u
#define EST_ERASE_128K_USEC     1000000u   /* sectors 8-11 */
#define EST_ERASE_APP_USEC      4550000u   /* sectors 0-7: 4 × 16 KiB, 64 KiB, 3 × 128 KiB */
#define EST_PROGRAM_NSEC_BYTE   16000u     /* byte programming at x8 parallelism */
#define EST_CHUNK               384u
#define EST_FRAME_BITS          144u       /* an extended frame with 8 data bytes, stuffing included */
#define EST_REBOOT_USEC         2500000u   /* application start after the copy, NOTIFY_BOOT */
#define EST_CONFIRM_USEC        1000000u   /* FW_VERSION and configuration reads */

/* CAN frames of one COMM payload of n bytes sent through the receive
 * buffer: 7 bytes per FILL frame up to 255, 6 per long FILL frame after,
 * one PROCESS frame. */
static uint64_t payload_frames(size_t n) {
        size_t first = n < 255 ? n : 255, rest = n - first;

        return (first + 6) / 7 + (rest + 5) / 6 + 1;
}

static uint64_t transfer_usec(size_t bytes, uint32_t bitrate) {
        uint64_t chunks = (bytes + EST_CHUNK - 1) / EST_CHUNK;
        /* the write (offset + data) and its ack, one short frame */
        uint64_t bits = chunks * (payload_frames(EST_CHUNK + 5) + 1) * EST_FRAME_BITS;

        return bits * 1000000u / bitrate + (uint64_t) bytes * EST_PROGRAM_NSEC_BYTE / 1000u;
}

/**
 * fw_estimate_side() - the nominal duration of one side's update
 * @stream_len: the upload stream (header included)
 * @raw_size: the application image (what the bootloader programs)
 * @bootloader_len: the set's bootloader, when the job installs it
 * @bootloader: the job installs the bootloader first
 * @bitrate: the bus's bitrate (0: 500 kbit/s)
 * @ret: per phase and in total
 */
void fw_estimate_side(size_t stream_len, size_t raw_size, size_t bootloader_len, bool bootloader, uint32_t bitrate,
                      FwEstimate *ret) {
        if (bitrate == 0)
                bitrate = 500000u;
        *ret = (FwEstimate) {
                .erase_usec = (uint64_t) MAX((stream_len + EST_SECTOR_BYTES - 1) / EST_SECTOR_BYTES, (size_t) 1) *
                              EST_ERASE_128K_USEC,
                .transfer_usec = transfer_usec(stream_len, bitrate),
                .bootloader_usec = bootloader ? EST_ERASE_128K_USEC + transfer_usec(bootloader_len, bitrate) : 0,
                .bootloader_erase_usec = bootloader ? EST_ERASE_128K_USEC : 0,
                .copy_usec = EST_ERASE_APP_USEC + (uint64_t) raw_size * EST_PROGRAM_NSEC_BYTE / 1000u,
                .reboot_usec = EST_REBOOT_USEC,
                .confirm_usec = EST_CONFIRM_USEC,
        };
        ret->total_usec = ret->erase_usec + ret->transfer_usec + ret->bootloader_usec + ret->copy_usec +
                          ret->reboot_usec + ret->confirm_usec;
}
