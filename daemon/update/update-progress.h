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
        uint64_t start_usec;               /* first fw_progress_start(), for the ETA */
        uint64_t wait_usec;                /* known waits still ahead: copy, reboot, confirm */
        bool finished;
} FwProgress;

void fw_progress_start(FwProgress *p, uint64_t now_usec);
void fw_progress_add(FwProgress *p, uint64_t units, uint64_t bytes);
void fw_progress_advance(FwProgress *p, uint64_t units, uint64_t bytes);
unsigned fw_progress_percent(FwProgress *p);
void fw_progress_finish(FwProgress *p);
uint64_t fw_progress_eta_usec(const FwProgress *p, uint64_t now_usec);
/* A side's bootloader copy, reboot and confirmation are ahead (add) or
 * behind (done): the ETA never drops below the waits still ahead. */
void fw_progress_add_wait(FwProgress *p, uint64_t usec);
void fw_progress_wait_done(FwProgress *p, uint64_t usec);

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
        uint64_t total_usec;
} FwEstimate;

void fw_estimate_side(size_t stream_len, size_t raw_size, size_t bootloader_len, bool bootloader, uint32_t bitrate,
                      FwEstimate *ret);
