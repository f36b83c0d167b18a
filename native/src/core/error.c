/* error.c — the thread-local error message, the version string and overflow-checked sizes. */
#include <stdarg.h>
#include <stdio.h>

#include "cnn_internal.h"

#ifndef CNN_VERSION_STRING
#  define CNN_VERSION_STRING "0.0.0"
#endif

static CNN_THREAD_LOCAL char g_last_error[512];

cnn_status cnn_set_error(cnn_status status, const char* format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(g_last_error, sizeof g_last_error, format, args);
    va_end(args);
    return status;
}

const char* cnn_get_last_error(void) { return g_last_error; }

const char* cnn_get_version(void) { return CNN_VERSION_STRING; }

int cnn_checked_product(const char* function, const char* what, int64_t* out, int count, ...) {
    /* Elements are floats: the product must stay below CNN_MAX_ALLOC_BYTES / 4 so that byte
     * sizes and every index computed from it fit in int64 (and size_t) without overflow. */
    const int64_t limit = CNN_MAX_ALLOC_BYTES / (int64_t)sizeof(float);
    int64_t product = 1;
    va_list args;
    va_start(args, count);
    for (int i = 0; i < count; i++) {
        int64_t factor = va_arg(args, int64_t);
        if (factor < 0 || (factor != 0 && product > limit / factor)) {
            va_end(args);
            cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                          "%s: %s is too large (more than %lld elements)", function, what,
                          (long long)limit);
            return 0;
        }
        product *= factor;
    }
    va_end(args);
    *out = product;
    return 1;
}
