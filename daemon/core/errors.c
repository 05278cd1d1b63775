/* Lookup helpers over the VESCD_ERRORS() table (see errors.h). */
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "macro.h"

#define VESCD_ERROR_ROW(n, e, code, desc) { #n, VESCD_ERROR_PREFIX #n, e, code, desc },

static const VescdError error_table[] = {
        VESCD_ERRORS(VESCD_ERROR_ROW)
};

/**
 * vescd_error_table() - the whole error table
 * @ret_n: receives the number of rows
 *
 * Returns: the static table (never NULL); the last row is "Failed".
 */
const VescdError *vescd_error_table(unsigned *ret_n) {
        if (ret_n)
                *ret_n = ELEMENTSOF(error_table);
        return error_table;
}

/**
 * vescd_error_from_errno() - error kind for an errno
 * @err: errno value, positive or negative
 *
 * EACCES is folded into PermissionDenied and EBADMSG into ProtocolError;
 * anything not in the table maps to Failed.
 *
 * Returns: a row of the static table (never NULL).
 */
const VescdError *vescd_error_from_errno(int err) {
        err = abs(err);
        if (err == EACCES)
                err = EPERM;
        else if (err == EBADMSG)
                err = EPROTO;
        else if (err == ENOTSUP)
                err = EOPNOTSUPP;
        for (size_t i = 0; err != 0 && i < ELEMENTSOF(error_table); i++)
                if (error_table[i].errno_value == err)
                        return &error_table[i];
        return &error_table[ELEMENTSOF(error_table) - 1];
}

/**
 * vescd_error_from_name() - error kind by short or full D-Bus name
 * @name: "Timeout" or "org.vescd1.Error.Timeout"
 *
 * Returns: the row, or NULL if the name is unknown.
 */
const VescdError *vescd_error_from_name(const char *name) {
        if (!name)
                return NULL;
        if (strncmp(name, VESCD_ERROR_PREFIX, strlen(VESCD_ERROR_PREFIX)) == 0)
                name += strlen(VESCD_ERROR_PREFIX);
        for (size_t i = 0; i < ELEMENTSOF(error_table); i++)
                if (strcmp(error_table[i].name, name) == 0)
                        return &error_table[i];
        return NULL;
}
