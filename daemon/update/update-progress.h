/* Progress of an update job: one percentage over the whole job, weighted by
 * the bytes that go over the bus plus fixed weights for the steps that take
 * time without bytes (erase, reboot).  Work found later (a re-staged side)
 * is added to the total; the reported percentage never decreases and
 * reaches 100 only when the job is done.  Pure. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct FwProgress {
        uint64_t units_total, units_done;  /* weighted work */
        uint64_t bytes_total, bytes_done;  /* stream and bootloader bytes only */
        unsigned percent;                  /* last reported */
        uint64_t start_usec;               /* first fw_progress_start(), for the ETA */
        bool finished;
} FwProgress;

void fw_progress_start(FwProgress *p, uint64_t now_usec);
void fw_progress_add(FwProgress *p, uint64_t units, uint64_t bytes);
void fw_progress_advance(FwProgress *p, uint64_t units, uint64_t bytes);
unsigned fw_progress_percent(FwProgress *p);
void fw_progress_finish(FwProgress *p);
uint64_t fw_progress_eta_usec(const FwProgress *p, uint64_t now_usec);
