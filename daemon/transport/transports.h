/* The concrete CAN transports of this build (vbus, socketcan) and the
 * kernel link control, handed to the core as one TransportKinds table so
 * that daemon/core never links against an implementation. */
#pragma once

#include "core/transport.h"

extern const TransportOps transport_vbus_ops;
extern const TransportOps transport_socketcan_ops;

extern const TransportKinds transport_kinds;
