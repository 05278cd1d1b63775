/* Progress of an update job: one percentage over the whole job, weighted by
 * the bytes that go over the bus plus fixed weights for the steps that take
 * time without bytes (erase, reboot).  Work found later (a re-staged side)
 * is added to the total; the reported percentage never decreases and
 * reaches 100 only when the job is done.  Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct FwProgress {
        uint64_t units_total, units_done;  /* weighted work */
        uint64_t bytes_total, bytes_done;  /* stream and bootloader bytes only */
        unsigned percent;                  /* last reported */
        uint64_t start_usec;               /* first fw_progress_start() */
        /* The ETA: the planned duration of the steps without bytes still
         * ahead (erase, copy, reboot, confirm), plus the bytes left at the
         * transfer rate.  The rate is the plan's until transfers are
         * measured, then the measurement (the plan counts as
         * FW_PROGRESS_PRIOR_BYTES of it). */
        uint64_t wait_usec;                /* planned steps without bytes still ahead */
        uint64_t plan_bytes, plan_usec;    /* the plan's transfer: bytes and their time */
        uint64_t meas_bytes, meas_usec;    /* measured transfer: acked bytes and the time to them */
        uint64_t last_usec;                /* the last advance or step end */
        bool streaming;                    /* the last advance was bytes, more are ahead */
        bool finished;
} FwProgress;

/* How many bytes of measurement the plan's transfer rate is worth. */
#define FW_PROGRESS_PRIOR_BYTES 16384u
/* One interval between acknowledgements counts at most this many times
 * the planned time of its bytes: a pause (a configuration store, a
 * retransmission timeout) is not extrapolated onto the whole transfer. */
#define FW_PROGRESS_PAUSE_CAP   8u

void fw_progress_start(FwProgress *p, uint64_t now_usec);
void fw_progress_add(FwProgress *p, uint64_t units, uint64_t bytes);
/* Bytes added with fw_progress_add() take usec to transfer, as planned
 * (fw_estimate_side(), time-scaled). */
void fw_progress_plan_transfer(FwProgress *p, uint64_t bytes, uint64_t usec);
/* Work done at now_usec; bytes > 0 measures the transfer rate over the
 * time since the previous advance or step end. */
void fw_progress_advance(FwProgress *p, uint64_t units, uint64_t bytes, uint64_t now_usec);
unsigned fw_progress_percent(FwProgress *p);
void fw_progress_finish(FwProgress *p);
uint64_t fw_progress_eta_usec(const FwProgress *p, uint64_t now_usec);
/* A step without bytes (an erase; a side's bootloader copy, reboot and
 * confirmation) is ahead (add, its planned time-scaled duration) or
 * behind (done, the same figure).  Outside a transfer the ETA counts down
 * through the steps ahead; within one it holds while nothing is acked. */
void fw_progress_add_wait(FwProgress *p, uint64_t usec);
void fw_progress_wait_done(FwProgress *p, uint64_t usec, uint64_t now_usec);

/* What a side's update costs, phase by phase, before it starts (PlanUpdate's
 * estimate): the erase of the staging buffer (1 s per 128 KiB sector, the
 * datasheet's figure), the transfer (every 384-byte write as CAN frames at
 * the bus's bitrate, plus the flash programming of its bytes), the
 * bootloader's own erase and write when the job installs it, the
 * bootloader's copy (erasing the application sectors 0-7 and programming
 * the image), the reboot and the confirmation.  Nominal: the time scale
 * does not apply.  Pure. */
typedef struct FwEstimate {
        uint64_t erase_usec, transfer_usec, bootloader_usec, copy_usec, reboot_usec, confirm_usec;
        uint64_t bootloader_erase_usec;    /* of bootloader_usec: its erase */
        uint64_t total_usec;
} FwEstimate;

void fw_estimate_side(size_t stream_len, size_t raw_size, size_t bootloader_len, bool bootloader, uint32_t bitrate,
                      FwEstimate *ret);
