/* Control path of a SocketCAN interface through libsocketcan (netlink):
 * bitrate, sample point, restart-ms, manual restart, state.  libsocketcan
 * returns -1 with errno, sometimes without (and prints some refusals and
 * netlink errors to stderr itself); this wrapper is the only caller and
 * returns -errno (-EIO when errno is unset), checking first what
 * libsocketcan would refuse with a message.
 * The calls are blocking netlink round trips: use them at start-up and to
 * recover from bus-off, never per frame.  Needs CAP_NET_ADMIN to change
 * anything (units/vescd.service explains). */
#pragma once

#include <stdint.h>

typedef enum CanLinkState {
        CANLINK_ERROR_ACTIVE = 0,
        CANLINK_ERROR_WARNING = 1,
        CANLINK_ERROR_PASSIVE = 2,
        CANLINK_BUS_OFF = 3,
        CANLINK_STOPPED = 4,
        CANLINK_SLEEPING = 5,
} CanLinkState;

const char *canlink_state_to_string(CanLinkState s);

/* Stop, set bitrate (sample point 0.78 per spec §2.2/§17, falling back to
 * the kernel's default) and restart-ms, start. */
int canlink_configure(const char *ifname, uint32_t bitrate, uint32_t restart_ms);
/* Only when the link is in bus-off and restart-ms is 0; -EALREADY / -EBUSY
 * otherwise. */
int canlink_restart(const char *ifname);
int canlink_get_state(const char *ifname, CanLinkState *ret);
/* The bitrate the kernel reports (can_get_bittiming); -ENODATA for
 * interfaces without one (vcan). */
int canlink_get_bitrate(const char *ifname, uint32_t *ret);
