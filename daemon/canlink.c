/* libsocketcan wrapper; see canlink.h. */
#include <errno.h>
#include <libsocketcan.h>

#include "canlink.h"
#include "log.h"

static int errno_or_eio(void) {
        return errno > 0 ? -errno : -EIO;
}

/**
 * canlink_configure() - (re)configure and start a CAN interface
 * @ifname: e.g. "can0"
 * @bitrate: bit/s
 * @restart_ms: automatic bus-off restart delay, 0 = off
 *
 * Returns: 0 or -errno (-EPERM without CAP_NET_ADMIN, -EOPNOTSUPP for
 * interfaces without a bitrate such as vcan).
 */
int canlink_configure(const char *ifname, uint32_t bitrate, uint32_t restart_ms) {
        errno = 0;
        if (can_do_stop(ifname) < 0)
                return log_error_errno(errno_or_eio(), "Failed to stop %s: %m", ifname);
        errno = 0;
        /* 0.78 matches the VESC's own timing (spec §2.2); some drivers refuse
         * an explicit sample point, then take the kernel's default */
        if (can_set_bitrate_samplepoint(ifname, bitrate, 780) < 0) {
                errno = 0;
                if (can_set_bitrate(ifname, bitrate) < 0)
                        return log_error_errno(errno_or_eio(), "Failed to set bitrate %u on %s: %m",
                                               (unsigned) bitrate, ifname);
        }
        errno = 0;
        if (can_set_restart_ms(ifname, restart_ms) < 0)
                return log_error_errno(errno_or_eio(), "Failed to set restart-ms on %s: %m", ifname);
        errno = 0;
        if (can_do_start(ifname) < 0)
                return log_error_errno(errno_or_eio(), "Failed to start %s: %m", ifname);
        log_info("CAN interface %s configured: %u bit/s, restart-ms %u", ifname, (unsigned) bitrate,
                 (unsigned) restart_ms);
        return 0;
}

/**
 * canlink_restart() - manual restart after bus-off
 * @ifname: the interface
 *
 * Returns: 0 or -errno.
 */
int canlink_restart(const char *ifname) {
        errno = 0;
        if (can_do_restart(ifname) < 0)
                return log_warning_errno(errno_or_eio(), "Failed to restart %s: %m", ifname);
        return 0;
}

/**
 * canlink_get_state() - controller state of the interface
 * @ifname: the interface
 * @ret: receives the state
 *
 * Returns: 0 or -errno.
 */
int canlink_get_state(const char *ifname, CanLinkState *ret) {
        int state;

        errno = 0;
        if (can_get_state(ifname, &state) < 0)
                return log_debug_errno(errno_or_eio(), "Failed to read the state of %s: %m", ifname);
        *ret = (CanLinkState) state;
        return 0;
}
