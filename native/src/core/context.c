/* context.c — cnn_context: per-call configuration (ISA, thread budget) and reusable scratch. */
#include <stdlib.h>
#include <string.h>

#include "cnn_internal.h"

cnn_status cnn_isa_is_supported(cnn_isa isa, int32_t* out_supported) {
    CNN_CHECK_RANGE("isa", (int)isa, CNN_ISA_AUTO, CNN_ISA_AVX512);
    CNN_CHECK_NOT_NULL(out_supported);
    switch (isa) {
        case CNN_ISA_AVX2: *out_supported = cnn_cpu_has_avx2(); break;
        case CNN_ISA_AVX512: *out_supported = cnn_cpu_has_avx512(); break;
        default: *out_supported = 1; break;
    }
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_get_hardware_threads(int32_t* out_threads) {
    CNN_CHECK_NOT_NULL(out_threads);
    *out_threads = cnn_cpu_hardware_threads();
    return CNN_STATUS_SUCCESS;
}

static cnn_isa best_isa(void) {
    if (cnn_cpu_has_avx512()) return CNN_ISA_AVX512;
    if (cnn_cpu_has_avx2()) return CNN_ISA_AVX2;
    return CNN_ISA_REFERENCE;
}

/* Resolves AUTO and checks support; does not touch the context on failure. */
static cnn_status resolve_isa(const char* function, cnn_isa requested, cnn_isa* out) {
    /* Not CNN_CHECK_RANGE: its message would name this helper, not the API function called. */
    if ((int)requested < CNN_ISA_AUTO || (int)requested > CNN_ISA_AVX512)
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT, "%s: isa = %d is out of range [%d, %d]",
                             function, (int)requested, (int)CNN_ISA_AUTO, (int)CNN_ISA_AVX512);
    cnn_isa isa = requested == CNN_ISA_AUTO ? best_isa() : requested;
    int32_t supported = 0;
    cnn_isa_is_supported(isa, &supported);
    if (!supported)
        return cnn_set_error(CNN_STATUS_UNSUPPORTED, "%s: this CPU does not support %s", function,
                             isa == CNN_ISA_AVX512 ? "AVX-512 (F/BW/DQ/VL)" : "AVX2 + FMA");
    *out = isa;
    return CNN_STATUS_SUCCESS;
}

/* CNN_ISA / CNN_NUM_THREADS: defaults for new contexts, so a whole process (a test run, a
 * benchmark) can be pinned to one path without code changes. A malformed value is an error, not
 * silently ignored. */
static cnn_status env_defaults(cnn_isa* isa, int32_t* threads) {
    const char* s = getenv("CNN_ISA");
    *isa = CNN_ISA_AUTO;
    if (s != NULL && s[0] != '\0') {
        if (strcmp(s, "auto") == 0) *isa = CNN_ISA_AUTO;
        else if (strcmp(s, "reference") == 0) *isa = CNN_ISA_REFERENCE;
        else if (strcmp(s, "avx2") == 0) *isa = CNN_ISA_AVX2;
        else if (strcmp(s, "avx512") == 0) *isa = CNN_ISA_AVX512;
        else
            return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                                 "cnn_context_create: environment variable CNN_ISA = '%.32s' is "
                                 "not one of auto, reference, avx2, avx512", s);
    }
    const char* t = getenv("CNN_NUM_THREADS");
    *threads = cnn_cpu_hardware_threads();
    if (t != NULL && t[0] != '\0') {
        char* end = NULL;
        long v = strtol(t, &end, 10);
        if (end == t || *end != '\0' || v < 1 || v > CNN_MAX_THREADS)
            return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                                 "cnn_context_create: environment variable CNN_NUM_THREADS = "
                                 "'%.32s' is not an integer in [1, %d]", t, CNN_MAX_THREADS);
        *threads = (int32_t)v;
    }
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_context_create(cnn_context** out_context) {
    CNN_CHECK_NOT_NULL(out_context);
    cnn_isa requested = CNN_ISA_AUTO;
    int32_t threads = 1;
    cnn_status st = env_defaults(&requested, &threads);
    if (st != CNN_STATUS_SUCCESS) return st;
    cnn_isa isa = CNN_ISA_REFERENCE;
    st = resolve_isa("cnn_context_create (CNN_ISA)", requested, &isa);
    if (st != CNN_STATUS_SUCCESS) return st;
    cnn_context* ctx = (cnn_context*)cnn_aligned_malloc(sizeof(cnn_context));
    if (ctx == NULL)
        return cnn_set_error(CNN_STATUS_OUT_OF_MEMORY, "cnn_context_create: out of memory");
    memset(ctx, 0, sizeof *ctx);
    ctx->num_threads = threads;
    ctx->isa = isa;
    ctx->kernels = cnn_kernels_for_isa(isa);
    *out_context = ctx;
    return CNN_STATUS_SUCCESS;
}

void cnn_context_destroy(cnn_context* context) {
    if (context == NULL) return;
    cnn_aligned_free(context->scratch);
    cnn_aligned_free(context->outer_scratch);
    cnn_aligned_free(context);
}

cnn_status cnn_context_set_num_threads(cnn_context* context, int32_t num_threads) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_RANGE("num_threads", num_threads, 0, CNN_MAX_THREADS);
    context->num_threads = num_threads == 0 ? cnn_cpu_hardware_threads() : num_threads;
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_context_get_num_threads(const cnn_context* context, int32_t* out_num_threads) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(out_num_threads);
    *out_num_threads = context->num_threads;
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_context_set_isa(cnn_context* context, cnn_isa isa) {
    CNN_CHECK_NOT_NULL(context);
    cnn_isa resolved;
    cnn_status st = resolve_isa(__func__, isa, &resolved);
    if (st != CNN_STATUS_SUCCESS) return st;
    context->isa = resolved;
    context->kernels = cnn_kernels_for_isa(resolved);
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_context_get_isa(const cnn_context* context, cnn_isa* out_isa) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(out_isa);
    *out_isa = context->isa;
    return CNN_STATUS_SUCCESS;
}

static void* grow_scratch(void** scratch, size_t* scratch_bytes, size_t bytes) {
    if (bytes <= *scratch_bytes) return *scratch;
    /* Grow geometrically so a sequence of growing layers settles after a few calls. */
    size_t want = *scratch_bytes * 2 > bytes ? *scratch_bytes * 2 : bytes;
    void* p = cnn_aligned_malloc(want);
    if (p == NULL && want > bytes) {
        want = bytes;
        p = cnn_aligned_malloc(want);
    }
    if (p == NULL) {
        cnn_set_error(CNN_STATUS_OUT_OF_MEMORY, "scratch memory of %zu bytes could not be allocated",
                      bytes);
        return NULL;
    }
    cnn_aligned_free(*scratch);
    *scratch = p;
    *scratch_bytes = want;
    return p;
}

void* cnn_context_scratch(cnn_context* context, size_t bytes) {
    return grow_scratch(&context->scratch, &context->scratch_bytes, bytes);
}

void* cnn_context_outer_scratch(cnn_context* context, size_t bytes) {
    return grow_scratch(&context->outer_scratch, &context->outer_scratch_bytes, bytes);
}
