/* The transport kinds vescd offers, and the bus-off restart through
 * libsocketcan (transport/canlink.c). */
#include "macro.h"
#include "transport/canlink.h"
#include "transport/transports.h"

static const TransportOps *const kinds[] = { &transport_vbus_ops, &transport_socketcan_ops };

const TransportKinds transport_kinds = {
        .ops = kinds,
        .n_ops = ELEMENTSOF(kinds),
        .link_restart = canlink_restart,
        .link_bitrate = canlink_get_bitrate,
};
