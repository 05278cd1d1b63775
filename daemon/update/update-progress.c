/* Job progress accounting (see update-progress.h). */

#include "update/update-progress.h"
#include "macro.h"

/**
 * fw_progress_start() - begin measuring
 * @p: the progress, zero-initialised or restored from a snapshot
 * @now_usec: the current time; the ETA is measured from here
 */
void fw_progress_start(FwProgress *p, uint64_t now_usec) {
        p->start_usec = now_usec;
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
 * fw_progress_advance() - record finished work
 * @p: the progress
 * @units: weighted units done
 * @bytes: of which stream/bootloader bytes
 *
 * Done never exceeds the total.
 */
void fw_progress_advance(FwProgress *p, uint64_t units, uint64_t bytes) {
        p->units_done = MIN(p->units_done + units, p->units_total);
        p->bytes_done = MIN(p->bytes_done + bytes, p->bytes_total);
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
        p->percent = 100;
}

/**
 * fw_progress_eta_usec() - estimated time to completion
 * @p: the progress
 * @now_usec: the current time
 *
 * Uses the average throughput in units per second since fw_progress_start(),
 * so waits (erase, reboot) count at the rate the job actually achieved.
 *
 * Return: microseconds, 0 when finished, UINT64_MAX when not yet measurable.
 */
uint64_t fw_progress_eta_usec(const FwProgress *p, uint64_t now_usec) {
        uint64_t elapsed, left;

        if (p->finished)
                return 0;
        if (p->units_done == 0 || now_usec <= p->start_usec)
                return UINT64_MAX;
        elapsed = now_usec - p->start_usec;
        left = p->units_total - p->units_done;
        return (uint64_t) ((double) elapsed * (double) left / (double) p->units_done);
}
