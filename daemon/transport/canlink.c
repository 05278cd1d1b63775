/* libsocketcan wrapper; see canlink.h. */
#include <errno.h>
#include <libsocketcan.h>

#include "transport/canlink.h"
#include "core/log.h"
#include "macro.h"

static int errno_or_eio(void) {
        return errno > 0 ? -errno : -EIO;
}

static const char *const state_names[] = {
        [CANLINK_ERROR_ACTIVE] = "error-active",
        [CANLINK_ERROR_WARNING] = "error-warning",
        [CANLINK_ERROR_PASSIVE] = "error-passive",
        [CANLINK_BUS_OFF] = "bus-off",
        [CANLINK_STOPPED] = "stopped",
        [CANLINK_SLEEPING] = "sleeping",
};

/**
 * canlink_state_to_string() - name of a controller state
 * @s: the state
 *
 * Returns: a static string as ip(8) spells it in lower case; "unknown" when
 * out of range.
 */
const char *canlink_state_to_string(CanLinkState s) {
        return (unsigned) s < ELEMENTSOF(state_names) ? state_names[s] : "unknown";
}

/**
 * canlink_configure() - (re)configure and start a CAN interface
 * @ifname: e.g. "can0"
 * @bitrate: bit/s
 * @restart_ms: automatic bus-off restart delay, 0 = off
 *
 * The interface is stopped first, also when it is up at another bitrate:
 * the kernel refuses bit timing changes on a running link.  The failing
 * step is logged at debug level only; the caller decides what the failure
 * means and logs it once.
 *
 * Returns: 0 or -errno (-EPERM without CAP_NET_ADMIN, -EOPNOTSUPP for
 * interfaces without a bitrate such as vcan).
 */
int canlink_configure(const char *ifname, uint32_t bitrate, uint32_t restart_ms) {
        errno = 0;
        if (can_do_stop(ifname) < 0)
                return log_debug_errno(errno_or_eio(), "Failed to stop %s: %m", ifname);
        errno = 0;
        /* 0.78 matches the VESC's own timing (spec §2.2); some drivers refuse
         * an explicit sample point, then take the kernel's default */
        if (can_set_bitrate_samplepoint(ifname, bitrate, 780) < 0) {
                errno = 0;
                if (can_set_bitrate(ifname, bitrate) < 0)
                        return log_debug_errno(errno_or_eio(), "Failed to set bitrate %u on %s: %m",
                                               (unsigned) bitrate, ifname);
        }
        errno = 0;
        if (can_set_restart_ms(ifname, restart_ms) < 0)
                return log_debug_errno(errno_or_eio(), "Failed to set restart-ms on %s: %m", ifname);
        errno = 0;
        if (can_do_start(ifname) < 0)
                return log_debug_errno(errno_or_eio(), "Failed to start %s: %m", ifname);
        log_info("CAN interface %s configured: %u bit/s, restart-ms %u", ifname, (unsigned) bitrate,
                 (unsigned) restart_ms);
        return 0;
}

/**
 * canlink_restart() - manual restart after bus-off
 * @ifname: the interface
 *
 * Called once per bus-off error frame, never per frame.  libsocketcan's
 * can_do_restart() refuses a link that is not in bus-off or restarts by
 * itself, but then prints to stderr and leaves errno unset; so both are
 * checked here first and answered with an errno (a bus-off frame may also
 * be stale: the link was restarted by someone else meanwhile).  Failures
 * are logged here, as the caller only reacts to an event.
 *
 * Returns: 0 restarted, -EALREADY when the link is not in bus-off (nothing
 * to do), -EBUSY when the kernel restarts it (restart-ms > 0), other -errno.
 */
int canlink_restart(const char *ifname) {
        uint32_t restart_ms;
        int state;

        errno = 0;
        if (can_get_state(ifname, &state) < 0)
                return log_warning_errno(errno_or_eio(), "Failed to read the state of %s: %m", ifname);
        if (state != CANLINK_BUS_OFF) {
                log_info("CAN interface %s is %s, not in bus-off: not restarting it", ifname,
                         canlink_state_to_string((CanLinkState) state));
                return -EALREADY;
        }
        errno = 0;
        if (can_get_restart_ms(ifname, &restart_ms) < 0)
                return log_warning_errno(errno_or_eio(), "Failed to read restart-ms of %s: %m", ifname);
        if (restart_ms > 0) {
                log_info("CAN interface %s restarts itself after %u ms", ifname, (unsigned) restart_ms);
                return -EBUSY;
        }
        errno = 0;
        if (can_do_restart(ifname) < 0)
                return log_warning_errno(errno_or_eio(), "Failed to restart %s: %m", ifname);
        log_rl_info("CAN interface %s restarted after bus-off", ifname);
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

/**
 * canlink_get_bitrate() - the interface's bitrate
 * @ifname: the interface
 * @ret: bit/s
 *
 * Returns: 0, -ENODATA when it has none (vcan), or -errno.
 */
int canlink_get_bitrate(const char *ifname, uint32_t *ret) {
        struct can_bittiming bt = {};

        if (can_get_bittiming(ifname, &bt) < 0)
                return errno_or_eio();
        if (bt.bitrate == 0)
                return -ENODATA;
        *ret = bt.bitrate;
        return 0;
}
