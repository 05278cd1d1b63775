/* A deliberately simple motor + battery model for one simulated controller:
 * enough for telemetry that moves plausibly (ERPM, motor/input current,
 * duty, input voltage sagging under load, FET/motor temperatures rising with
 * current, tachometer, Ah/Wh counters) and for the behaviours the protocol
 * depends on: the command timeout releases the motor (spec §4.2), limits
 * from the configuration and from SET_MCCONF_TEMP clamp the commands, a
 * released motor coasts down (ERASE_NEW_APP waits for it on 5.03+), and the
 * faults the firmware raises from these quantities (mc_interface.c: input
 * voltage outside l_min_vin..l_max_vin, |motor current| above
 * l_abs_current_max, FET/motor temperature at l_temp_*_end, the DRV fault
 * pin), set and cleared as the firmware does.
 *
 * Pure: time is an argument (µs, any monotonic origin). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef enum PhysMode {
        PHYS_RELEASED = 0,
        PHYS_CURRENT,
        PHYS_BRAKE,
        PHYS_RPM,
        PHYS_DUTY,
        PHYS_HANDBRAKE,
} PhysMode;

typedef struct PhysLimits {
        double current_max, current_min;    /* motor, A (min negative) */
        double in_current_max, in_current_min;
        double erpm_min, erpm_max;
        double current_max_scale, current_min_scale; /* SET_MCCONF_TEMP */
        double duty_min, duty_max;
        double watt_min, watt_max;
} PhysLimits;

/* mc_fault_code values (spec §12.12) the model raises. */
typedef enum PhysFault {
        PHYS_FAULT_NONE = 0,
        PHYS_FAULT_OVER_VOLTAGE = 1,
        PHYS_FAULT_UNDER_VOLTAGE = 2,
        PHYS_FAULT_DRV = 3,
        PHYS_FAULT_ABS_OVER_CURRENT = 4,
        PHYS_FAULT_OVER_TEMP_FET = 5,
        PHYS_FAULT_OVER_TEMP_MOTOR = 6,
} PhysFault;

/* The configured limits the fault checks compare against (MCCONF). */
typedef struct PhysFaultLimits {
        double min_vin, max_vin;
        double abs_current_max;
        double temp_fet_start, temp_fet_end;
        double temp_motor_start, temp_motor_end;
        uint64_t fault_stop_usec;          /* m_fault_stop_time_ms */
} PhysFaultLimits;

typedef struct Physics {
        uint64_t now;              /* time of the state below */
        uint64_t last_cmd;         /* last SET_* / ALIVE */
        uint64_t timeout_usec;     /* 0 = never */
        bool timed_out;
        PhysMode mode;
        double setpoint;

        /* forced by the control socket: the vehicle is pushed at this ERPM */
        bool hold_erpm;
        double held_erpm;

        PhysLimits lim;
        PhysFaultLimits flim;
        double v_batt, r_batt, ambient;

        /* forced by the control socket */
        double load;               /* unregulated phase current while the bridge switches, A */
        bool drv_pin;              /* the gate driver's fault output */

        /* fault state as mc_interface.c keeps it */
        PhysFault fault;           /* m_fault_now */
        uint64_t fault_until;      /* end of m_ignore_iterations: commands ignored, then cleared */
        double v_wrong;            /* wrong_voltage_integrator */

        double erpm, duty, current, current_in;
        double v_in, temp_fet, temp_motor;
        double tacho_frac;
        int32_t tacho, tacho_abs;
        double ah, ah_charged, wh, wh_charged;
} Physics;

void physics_init(Physics *p, uint64_t now);
/* Integrate the model up to now. */
void physics_advance(Physics *p, uint64_t now);
/* A SET_* command (resets the command timeout). */
void physics_command(Physics *p, PhysMode mode, double value, uint64_t now);
/* COMM_ALIVE: only resets the timeout. */
void physics_alive(Physics *p, uint64_t now);
/* Release the motor (flash operations, jump, timeout). */
void physics_release(Physics *p, uint64_t now);
/* The fault code GET_VALUES reports (model brought up to date first). */
PhysFault physics_fault(Physics *p, uint64_t now);
/* The name of a fault code ("NONE", "UNDER_VOLTAGE", ...). */
const char *physics_fault_name(PhysFault f);
/* |ERPM| below the firmware's "stopped" threshold. */
bool physics_stopped(const Physics *p);
