/* A first-order motor/battery/thermal model (see physics.h).  Numbers are
 * chosen to look like a hub motor on a 12S pack: 60 A for a few seconds
 * makes a visible temperature rise and a few volts of sag. */
#include <math.h>
#include <string.h>

#include "macro.h"
#include "physics.h"

#define STEP_USEC            10000u
#define ERPM_PER_VOLT        900.0    /* no-load ERPM per volt at duty 1 */
#define ACCEL_ERPM_PER_AMP_S 400.0    /* ERPM/s per amp of motor current */
#define DRAG_TAU_S           4.0      /* coasting: exponential part */
#define FRICTION_ERPM_S      1500.0   /* coasting: constant part */
#define RPM_GAIN_A_PER_ERPM  0.02     /* speed controller */
#define STOPPED_ERPM         100.0
#define FET_HEAT_K_PER_A2S   0.0008
#define MOTOR_HEAT_K_PER_A2S 0.0012
#define FET_TAU_S            60.0
#define MOTOR_TAU_S          180.0
#define VOLTAGE_CHECKS_PER_S 20000.0  /* the firmware checks v_in once per control cycle */

/**
 * physics_init() - a controller at rest on a charged battery
 * @p: model
 * @now: current time (µs)
 */
void physics_init(Physics *p, uint64_t now) {
        memset(p, 0, sizeof *p);
        p->now = now;
        p->last_cmd = now;
        p->timeout_usec = 1000 * 1000;
        p->timed_out = true;
        p->lim = (PhysLimits) {
                .current_max = 60, .current_min = -60,
                .in_current_max = 60, .in_current_min = -20,
                .erpm_min = -100000, .erpm_max = 100000,
                .current_max_scale = 1, .current_min_scale = 1,
                .duty_min = 0.005, .duty_max = 0.95,
                .watt_min = -1.5e6, .watt_max = 1.5e6,
        };
        /* hw 60 defaults (hw_60_core.h, mcconf_default.h) */
        p->flim = (PhysFaultLimits) {
                .min_vin = 8, .max_vin = 57, .abs_current_max = 150,
                .temp_fet_start = 85, .temp_fet_end = 100,
                .temp_motor_start = 85, .temp_motor_end = 100,
                .fault_stop_usec = 500000,
        };
        p->v_batt = 50.4;
        p->r_batt = 0.08;
        p->ambient = 25.0;
        p->v_in = p->v_batt;
        p->temp_fet = p->ambient;
        p->temp_motor = p->ambient;
}

static double sgn(double x) {
        return x > 0 ? 1 : x < 0 ? -1 : 0;
}

/* update_override_limits(): the current limit falls linearly from start
 * to end; at end - 0.1 it is zero (and the fault is raised). */
static double temp_derate(double t, double start, double end, double maxc) {
        if (t < start + 0.1)
                return maxc;
        if (t > end - 0.1 || end <= start)
                return 0;
        return maxc * (end - t) / (end - start);
}

static double motor_current_for(Physics *p) {
        double imax = p->lim.current_max * p->lim.current_max_scale;
        double imin = p->lim.current_min * p->lim.current_min_scale;
        double maxc = MAX(fabs(imax), fabs(imin)), m, i;

        m = MIN(temp_derate(p->temp_fet, p->flim.temp_fet_start, p->flim.temp_fet_end, maxc),
                temp_derate(p->temp_motor, p->flim.temp_motor_start, p->flim.temp_motor_end, maxc));
        imax = CLAMP(imax, -m, m);
        imin = CLAMP(imin, -m, m);

        switch (p->timed_out ? PHYS_RELEASED : p->mode) {
        case PHYS_CURRENT:
                i = p->setpoint;
                break;
        case PHYS_BRAKE:
        case PHYS_HANDBRAKE:
                /* Brake current opposes the motion. */
                i = -sgn(p->erpm) * fabs(p->setpoint);
                break;
        case PHYS_RPM:
                i = (p->setpoint - p->erpm) * RPM_GAIN_A_PER_ERPM;
                break;
        case PHYS_DUTY: {
                double target = p->setpoint * ERPM_PER_VOLT * p->v_in;
                i = (target - p->erpm) * RPM_GAIN_A_PER_ERPM;
                break;
        }
        default:
                return 0;
        }
        return CLAMP(i, imin, imax);
}

/* mc_interface_fault_stop() as the fault-stop thread handles it: the same
 * fault again only extends the time commands are ignored; a new one stops
 * the bridge and becomes the current fault. */
static void fault_stop(Physics *p, PhysFault f) {
        p->fault_until = p->now + p->flim.fault_stop_usec;
        if (p->fault == f)
                return;
        p->fault = f;
        p->mode = PHYS_RELEASED;
        p->setpoint = 0;
}

static void check_faults(Physics *p, double i, double dt) {
        const PhysFaultLimits *l = &p->flim;
        double checks = dt * VOLTAGE_CHECKS_PER_S, diff = 0;

        /* Input voltage: integrated error against the window, trips at 5 %
         * of l_max_vin, decays by 1 per check inside the window. */
        if (p->v_in < l->min_vin)
                diff = l->min_vin - p->v_in;
        else if (p->v_in > l->max_vin)
                diff = p->v_in - l->max_vin;
        if (diff > 1e-3) {
                p->v_wrong += diff * checks;
                if (p->v_wrong > l->max_vin * 0.05) {
                        fault_stop(p, p->v_in < l->min_vin ? PHYS_FAULT_UNDER_VOLTAGE : PHYS_FAULT_OVER_VOLTAGE);
                        p->v_wrong = l->max_vin * 0.05 * 2.0;
                }
        } else
                p->v_wrong = MAX(p->v_wrong - checks, 0.0);

        if (fabs(i) > l->abs_current_max)
                fault_stop(p, PHYS_FAULT_ABS_OVER_CURRENT);
        if (p->drv_pin)
                fault_stop(p, PHYS_FAULT_DRV);
        if (p->temp_fet > l->temp_fet_end - 0.1)
                fault_stop(p, PHYS_FAULT_OVER_TEMP_FET);
        if (p->temp_motor > l->temp_motor_end - 0.1)
                fault_stop(p, PHYS_FAULT_OVER_TEMP_MOTOR);

        /* m_ignore_iterations ran out: cleared unless the DRV pin holds it. */
        if (p->fault != PHYS_FAULT_NONE && p->now >= p->fault_until && !p->drv_pin)
                p->fault = PHYS_FAULT_NONE;
}

static void step(Physics *p, double dt) {
        double i, accel, p_in, di;
        bool switching;

        if (!p->timed_out && p->timeout_usec > 0 && p->now - p->last_cmd > p->timeout_usec) {
                /* spec §4.2: nothing for timeout_msec -> motor released */
                p->timed_out = true;
                p->mode = PHYS_RELEASED;
        }

        switching = !p->timed_out && p->mode != PHYS_RELEASED;
        i = motor_current_for(p);
        if (switching)
                i += p->load;
        check_faults(p, i, dt);
        if (p->mode == PHYS_RELEASED)
                i = 0;
        if (p->hold_erpm) {
                p->erpm = p->held_erpm;
        } else {
                accel = i * ACCEL_ERPM_PER_AMP_S;
                if (i == 0) {
                        double dec = fabs(p->erpm) / DRAG_TAU_S + FRICTION_ERPM_S;
                        double d = MIN(fabs(p->erpm), dec * dt);
                        p->erpm -= sgn(p->erpm) * d;
                } else
                        p->erpm += (accel - p->erpm / DRAG_TAU_S) * dt;
                p->erpm = CLAMP(p->erpm, p->lim.erpm_min, p->lim.erpm_max);
        }

        p->duty = p->v_in > 1 ? CLAMP(p->erpm / (ERPM_PER_VOLT * p->v_in), -1.0, 1.0) : 0;
        p->current = i;
        p->current_in = CLAMP(i * fabs(p->duty), p->lim.in_current_min, p->lim.in_current_max);
        p_in = p->current_in * p->v_in;
        if (p_in > p->lim.watt_max || p_in < p->lim.watt_min) {
                p_in = CLAMP(p_in, p->lim.watt_min, p->lim.watt_max);
                p->current_in = p->v_in > 1 ? p_in / p->v_in : 0;
        }
        p->v_in = p->v_batt - p->r_batt * p->current_in;

        di = p->current_in * dt / 3600.0;
        if (di >= 0) {
                p->ah += di;
                p->wh += di * p->v_in;
        } else {
                p->ah_charged -= di;
                p->wh_charged -= di * p->v_in;
        }

        /* 6 tachometer steps per electrical revolution (spec §5.1). */
        p->tacho_frac += p->erpm / 60.0 * 6.0 * dt;
        while (fabs(p->tacho_frac) >= 1.0) {
                int s = p->tacho_frac > 0 ? 1 : -1;
                p->tacho += s;
                p->tacho_abs += 1;
                p->tacho_frac -= s;
        }

        p->temp_fet += (FET_HEAT_K_PER_A2S * i * i - (p->temp_fet - p->ambient) / FET_TAU_S) * dt;
        p->temp_motor += (MOTOR_HEAT_K_PER_A2S * i * i - (p->temp_motor - p->ambient) / MOTOR_TAU_S) * dt;
}

/**
 * physics_advance() - integrate the model up to a time
 * @p: model
 * @now: target time (µs); earlier times are ignored
 *
 * Fixed 10 ms steps; long idle gaps use coarser steps (at most 2000 per call).
 */
void physics_advance(Physics *p, uint64_t now) {
        uint64_t span, stepu;

        if (now <= p->now)
                return;
        span = now - p->now;
        stepu = MAX((uint64_t) STEP_USEC, span / 2000);
        while (p->now < now) {
                uint64_t d = MIN(stepu, now - p->now);
                p->now += d;
                step(p, (double) d / 1e6);
        }
}

/**
 * physics_command() - apply a SET_* command
 * @p: model
 * @mode: what is commanded
 * @value: A, ERPM or duty
 * @now: time of the command
 */
void physics_command(Physics *p, PhysMode mode, double value, uint64_t now) {
        physics_advance(p, now);
        /* mc_interface_try_input(): ignored while a fault stop lasts; the
         * command timeout is reset all the same. */
        if (now < p->fault_until) {
                p->last_cmd = now;
                p->timed_out = false;
                return;
        }
        p->mode = mode;
        p->setpoint = value;
        p->last_cmd = now;
        p->timed_out = false;
        /* A zero current command releases the motor, as in the firmware. */
        if ((mode == PHYS_CURRENT || mode == PHYS_BRAKE) && value == 0)
                p->mode = PHYS_RELEASED;
}

/**
 * physics_alive() - COMM_ALIVE: keep the current command alive
 * @p: model
 * @now: time
 */
void physics_alive(Physics *p, uint64_t now) {
        physics_advance(p, now);
        p->last_cmd = now;
        p->timed_out = false;
}

/**
 * physics_release() - release the motor
 * @p: model
 * @now: time
 */
void physics_release(Physics *p, uint64_t now) {
        physics_advance(p, now);
        p->mode = PHYS_RELEASED;
        p->setpoint = 0;
}

/**
 * physics_fault() - the current fault code
 * @p: model (advanced to now first)
 * @now: time
 *
 * Returns what GET_VALUES reports (mc_interface_get_fault()).
 */
PhysFault physics_fault(Physics *p, uint64_t now) {
        physics_advance(p, now);
        return p->fault;
}

/**
 * physics_fault_name() - the firmware's name of a fault code, without the
 * FAULT_CODE_ prefix
 * @f: fault code
 *
 * Returns a static string ("UNKNOWN" for codes the model never raises).
 */
const char *physics_fault_name(PhysFault f) {
        static const char *const names[] = {
                [PHYS_FAULT_NONE] = "NONE",
                [PHYS_FAULT_OVER_VOLTAGE] = "OVER_VOLTAGE",
                [PHYS_FAULT_UNDER_VOLTAGE] = "UNDER_VOLTAGE",
                [PHYS_FAULT_DRV] = "DRV",
                [PHYS_FAULT_ABS_OVER_CURRENT] = "ABS_OVER_CURRENT",
                [PHYS_FAULT_OVER_TEMP_FET] = "OVER_TEMP_FET",
                [PHYS_FAULT_OVER_TEMP_MOTOR] = "OVER_TEMP_MOTOR",
        };

        if ((unsigned) f < ELEMENTSOF(names) && names[f])
                return names[f];
        return "UNKNOWN";
}

/**
 * physics_stopped() - whether the motor counts as stopped
 * @p: model
 *
 * Returns true when |ERPM| is below the firmware's threshold.
 */
bool physics_stopped(const Physics *p) {
        return fabs(p->erpm) < STOPPED_ERPM;
}
