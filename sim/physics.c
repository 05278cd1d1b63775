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

static double motor_current_for(Physics *p) {
        double imax = p->lim.current_max * p->lim.current_max_scale;
        double imin = p->lim.current_min * p->lim.current_min_scale;
        double i;

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

static void step(Physics *p, double dt) {
        double i, accel, p_in, di;

        if (!p->timed_out && p->timeout_usec > 0 && p->now - p->last_cmd > p->timeout_usec) {
                /* spec §4.2: nothing for timeout_msec -> motor released */
                p->timed_out = true;
                p->mode = PHYS_RELEASED;
        }

        i = motor_current_for(p);
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
 * physics_stopped() - whether the motor counts as stopped
 * @p: model
 *
 * Returns true when |ERPM| is below the firmware's threshold.
 */
bool physics_stopped(const Physics *p) {
        return fabs(p->erpm) < STOPPED_ERPM;
}
