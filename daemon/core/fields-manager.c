/* The Manager's field table (see fields.h): the daemon-wide properties,
 * read from the daemon context, its transport and its board view. */
#include <stdlib.h>
#include <string.h>

#include "core/daemon.h"
#include "core/fields.h"
#include "core/render.h"
#include "core/transport.h"
#include "macro.h"

#define DMN(o) ((Daemon *) (o))

FIELD_GETTER(get_version, s, PACKAGE_VERSION)
FIELD_GETTER(get_transport, s, transport_spec(daemon_transport(DMN(o))))
FIELD_GETTER(get_can_id, u, (uint8_t) daemon_config(DMN(o))->can_id)
FIELD_GETTER(get_bus_state, s, transport_bus_state_to_string(transport_bus_state(daemon_transport(DMN(o)))))

/* FIELD_OWNED_STRV: the object paths, NULL on ENOMEM (shown empty) */
static bool get_controllers(const void *o, FieldValue *ret) {
        Controller *const *cs;
        size_t n = daemon_controllers(DMN(o), &cs);
        char **v = calloc(n + 1, sizeof(char *));

        ret->strv = v;
        if (!v)
                return true;
        for (size_t i = 0; i < n; i++) {
                char path[RENDER_CONTROLLER_PATH_MAX];
                render_controller_path(cs[i], path);
                v[i] = strdup(path);
                if (!v[i])
                        break;
        }
        return true;
}

FIELD_GETTER(get_mismatch, b, daemon_board(DMN(o))->mismatch)
FIELD_GETTER(get_mismatch_reasons, strv, daemon_board(DMN(o))->reasons)
FIELD_GETTER(get_mismatch_reason, s, board_mismatch_reason(daemon_board(DMN(o))))
FIELD_GETTER(get_actions, strv, daemon_board(DMN(o))->actions)
FIELD_GETTER(get_board_state, s, board_state_to_string(daemon_board(DMN(o))->state))
FIELD_GETTER(get_board_state_reasons, strv, daemon_board(DMN(o))->state_reasons)
FIELD_GETTER(get_inhibited, b, daemon_inhibited(DMN(o), NULL))

static bool get_inhibit_reason(const void *o, FieldValue *ret) {
        (void) daemon_inhibited(DMN(o), &ret->s);
        return true;
}

FIELD_GETTER(get_scanning, b, daemon_scanning(DMN(o)))
FIELD_GETTER(get_ride_mode, s, daemon_ride_mode(DMN(o)))

static TransportStats stats(const void *o) {
        TransportStats s;

        transport_get_stats(daemon_transport(DMN(o)), &s);
        return s;
}

FIELD_GETTER(get_rx_frames, u, stats(o).rx_frames)
FIELD_GETTER(get_tx_frames, u, stats(o).tx_frames)
FIELD_GETTER(get_tx_retries, u, stats(o).tx_retries)
FIELD_GETTER(get_tx_dropped, u, stats(o).tx_dropped)
FIELD_GETTER(get_rx_dropped, u, stats(o).rx_dropped)
FIELD_GETTER(get_error_frames, u, stats(o).error_frames)
FIELD_GETTER(get_bus_off_count, u, stats(o).bus_off)

/* The firmware manager's members (Jobs, …) are not the core's: the D-Bus
 * adapter lists them itself (BUS_MANAGER_FIRMWARE_MEMBERS). */
static const Field manager_fields[] = {
        { "Version", "s", DAEMON_CHANGED_BUS_STATE, FIELD_CONST, get_version },
        { "Transport", "s", DAEMON_CHANGED_BUS_STATE, FIELD_CONST, get_transport },
        { "CanId", "y", DAEMON_CHANGED_BUS_STATE, FIELD_CONST, get_can_id },
        { "BusState", "s", DAEMON_CHANGED_BUS_STATE, 0, get_bus_state },
        { "Controllers", "ao", DAEMON_CHANGED_CONTROLLERS, FIELD_OWNED_STRV, get_controllers },
        { "Mismatch", "b", DAEMON_CHANGED_BOARD, 0, get_mismatch },
        { "MismatchReasons", "as", DAEMON_CHANGED_BOARD, 0, get_mismatch_reasons },
        { "MismatchReason", "s", DAEMON_CHANGED_BOARD, 0, get_mismatch_reason },
        { "Actions", "as", DAEMON_CHANGED_BOARD, 0, get_actions },
        { "BoardState", "s", DAEMON_CHANGED_BOARD, 0, get_board_state },
        { "BoardStateReasons", "as", DAEMON_CHANGED_BOARD, 0, get_board_state_reasons },
        { "Scanning", "b", DAEMON_CHANGED_SCANNING, 0, get_scanning },
        { "RideMode", "s", DAEMON_CHANGED_RIDE_MODE, 0, get_ride_mode },
        { "Inhibited", "b", DAEMON_CHANGED_INHIBIT, 0, get_inhibited },
        { "InhibitReason", "s", DAEMON_CHANGED_INHIBIT, 0, get_inhibit_reason },
        { "RxFrames", "t", DAEMON_CHANGED_COUNTERS, FIELD_ON_REQUEST, get_rx_frames },
        { "TxFrames", "t", DAEMON_CHANGED_COUNTERS, FIELD_ON_REQUEST, get_tx_frames },
        { "TxRetries", "t", DAEMON_CHANGED_COUNTERS, FIELD_ON_REQUEST, get_tx_retries },
        { "TxDropped", "t", DAEMON_CHANGED_COUNTERS, FIELD_ON_REQUEST, get_tx_dropped },
        { "RxDropped", "t", DAEMON_CHANGED_COUNTERS, FIELD_ON_REQUEST, get_rx_dropped },
        { "ErrorFrames", "t", DAEMON_CHANGED_COUNTERS, FIELD_ON_REQUEST, get_error_frames },
        { "BusOffCount", "t", DAEMON_CHANGED_COUNTERS, FIELD_ON_REQUEST, get_bus_off_count },
};

const FieldTable manager_field_table = FIELD_TABLE("Manager", manager_fields);
