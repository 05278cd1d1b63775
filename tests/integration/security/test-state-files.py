#!/usr/bin/python3
"""Hostile or corrupted job files in the state directory at start-up.

1. A job file whose engine snapshot vescd cannot resume (here: an unknown
   snapshot format) is renamed *.failed, and the job is not left behind
   as "running": it must not hold its controllers (a new Repair is
   accepted, not refused with Busy).
2. Copies of a live job file (same controllers, another number; and a
   file whose name does not match the job number inside) are refused:
   exactly one job resumes, it ends done, and no second job drives the
   same controller."""
import json
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "update"))
import dbus  # noqa: E402
from update_harness import (MANAGER_IFACE, MANAGER_PATH, UpdateHarness, fail, imageset, log)  # noqa: E402

TIME_SCALE = "0.2"


def jobs_dir(h):
    return os.path.join(h.tmp, "firmware", "jobs")


def write_job(h, name, doc):
    with open(os.path.join(jobs_dir(h), name), "w") as f:
        json.dump(doc, f)


def read_job(h, name):
    with open(os.path.join(jobs_dir(h), name)) as f:
        return json.load(f)


def running_jobs(h):
    return [str(p) for p in h.prop(MANAGER_PATH, MANAGER_IFACE, "Jobs")
            if str(h.job_prop(p, "State")) == "running"]


def start_repair_and_kill(h, set_id):
    job = str(h.mgr("Repair", set_id, {}))
    h.wait_job_phase(job, ("writing",))
    h.kill_vescd()
    return job


def main():
    tar = imageset("vesc-5.03-test") + ".tar"
    with UpdateHarness(board="dual-mismatch", time_scale=TIME_SCALE) as h:
        h.wait_both()
        set_id = h.install(tar)

        # --- 1: a snapshot the engine refuses
        job1 = start_repair_and_kill(h, set_id)
        doc = read_job(h, "job-1.json")
        doc["engine"]["format"] = 999
        write_job(h, "job-1.json", doc)
        h.restart_vescd()
        h.wait_both()
        if running_jobs(h):
            fail("a job with an unusable snapshot is reported running: %s" % running_jobs(h))
        if not os.path.exists(os.path.join(jobs_dir(h), "job-1.json.failed")):
            fail("the unusable job file was not set aside: %s" % os.listdir(jobs_dir(h)))
        try:
            job2 = str(h.mgr("Repair", set_id, {}))
        except dbus.exceptions.DBusException as e:
            fail("the refused job still holds its controllers: %s\n%s" % (e, h.vescd_log()))
        if job2 == job1:
            fail("the new job reuses the refused job's number %s" % job1)
        log("unusable snapshot set aside; a new job %s was accepted" % job2)

        # --- 2: copies of a live job file
        h.wait_job_phase(job2, ("writing",))
        h.kill_vescd()
        n = int(job2.rsplit("/", 1)[1])
        live = read_job(h, "job-%d.json" % n)
        copy = dict(live, id=n + 1)
        write_job(h, "job-%d.json" % (n + 1), copy)      # same controllers, another number
        write_job(h, "job-%d.json" % (n + 50), live)     # name does not match the number inside
        h.restart_vescd()
        h.wait_until(lambda: job2 in [str(p) for p in h.prop(MANAGER_PATH, MANAGER_IFACE, "Jobs")],
                     "%s reported again" % job2)
        if running_jobs(h) != [job2]:
            fail("running jobs after the restart: %s, expected only %s\n%s" % (running_jobs(h), job2, h.vescd_log()))
        left = sorted(os.listdir(jobs_dir(h)))
        for bad in ("job-%d.json.failed" % (n + 1), "job-%d.json.failed" % (n + 50)):
            if bad not in left:
                fail("%s missing: the copy was not refused (%s)" % (bad, left))
        state, err, report = h.wait_job_end(job2)
        if state != "done":
            fail("the resumed job ended %s %s\n%s" % (state, err, h.vescd_log()))
        log("copies refused; %s resumed alone and ended done" % job2)
        h.stop_vescd()
    print("PASS")


if __name__ == "__main__":
    main()
