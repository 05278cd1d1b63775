/* The one table of vescd's error kinds: a stable D-Bus name
 * (org.vescd1.Error.<Name>), a stable JSON-RPC code and the errno the
 * daemon uses internally.  Both adapters render errors from it; the D-Bus
 * adapter builds its sd_bus_error_map from VESCD_ERRORS() and the JSON
 * adapter looks codes up with vescd_error_from_errno().  docs/errors.md
 * mirrors this list; names and numbers never change once released.
 *
 * Pure: no sd-bus, no jansson. */
#pragma once

#include <errno.h>

#define VESCD_ERROR_PREFIX "org.vescd1.Error."

/* X(Name, errno, json-code, description).  The first row whose errno
 * matches wins when mapping errno -> name; unknown errnos map to Failed.
 * Rows with errno 0 are never the result of an errno: they name how a
 * firmware job ended (a job snapshot's "error", its D-Bus Job.Error) and are
 * found by name (vescd_error_from_name()).  Failed stays last. */
#define VESCD_ERRORS(X)                                                                             \
        X(PermissionDenied, EPERM, 1001, "the caller is not root or in the admin group")           \
        X(NoSuchController, ENODEV, 1002, "no controller with that UUID, CAN id or object path")   \
        X(Busy, EBUSY, 1003, "another operation (e.g. a firmware update) holds the controller")    \
        X(Timeout, ETIMEDOUT, 1004, "the controller did not answer in time")                       \
        X(Offline, EHOSTDOWN, 1005, "the controller is offline")                                   \
        X(NotSupported, EOPNOTSUPP, 1006, "the controller's firmware does not support this")       \
        X(SignatureMismatch, EMEDIUMTYPE, 1007, "configuration signature does not match firmware") \
        X(InvalidArgument, EINVAL, 1008, "an argument is malformed or out of range")               \
        X(BadImage, ENOEXEC, 1009, "a firmware image or image set failed validation")              \
        X(IoError, EIO, 1010, "the CAN transport failed")                                          \
        X(Cancelled, ECANCELED, 1011, "the operation was cancelled")                               \
        X(Mismatch, EXDEV, 1012, "the board's motor controllers differ, or would after this")      \
        X(ProtocolError, EPROTO, 1013, "the controller sent an unexpected or malformed reply")     \
        X(QueueFull, ENOBUFS, 1014, "the transmit or request queue is full")                       \
        X(NotFound, ENOENT, 1015, "no such image set, job or file")                                \
        X(NotReady, EAGAIN, 1016, "the controller's identity is not known yet")                    \
        X(NothingToDo, EALREADY, 1017, "the controllers already run what was asked for")           \
        X(NeedsIntermediate, ENOPKG, 1018, "the update needs an intermediate firmware first")      \
        X(GateFailed, 0, 1019, "a safety gate (motor stopped, voltage, fault, inhibit) held the update back") \
        X(Bricked, 0, 1020, "the controller did not come back from the bootloader in time")       \
        X(BootloaderRefused, 0, 1021, "the bootloader kept the old firmware after the commit")    \
        X(WrongVersionAfterUpdate, 0, 1022, "the controller came back on a firmware that was not written") \
        X(ControllerLost, 0, 1023, "the controller stopped answering during the update")          \
        X(NotCommitted, 0, 1024, "stopped before its commit because another side failed")         \
        X(Refused, 0, 1025, "the controller refused an erase or write")                           \
        X(TooManyClients, EUSERS, 1026, "the JSON socket serves as many clients as it may")        \
        X(Failed, EIO, 1000, "any other failure")

typedef struct VescdError {
        const char *name;        /* "PermissionDenied" (without the prefix) */
        const char *bus_name;    /* "org.vescd1.Error.PermissionDenied" */
        int errno_value;         /* positive */
        int json_code;
        const char *description;
} VescdError;

const VescdError *vescd_error_table(unsigned *ret_n);
const VescdError *vescd_error_from_errno(int err);
const VescdError *vescd_error_from_name(const char *name);
