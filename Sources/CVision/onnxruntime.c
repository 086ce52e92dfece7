#include "CVision.h"

#include <onnxruntime_c_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cv_session {
    const OrtApi *api;
    OrtEnv *env;
    OrtSession *session;
    OrtMemoryInfo *memory;
    char *input_name;
    char **output_names;
    size_t output_count;
};

static const OrtApi *ort(void) {
    return OrtGetApiBase()->GetApi(ORT_API_VERSION);
}

/// Copies the status's message to `error` and releases it; returns 1 when there was an error.
static int failed(const OrtApi *api, OrtStatus *status, char *error, size_t error_size) {
    if (status == NULL) return 0;
    if (error && error_size) snprintf(error, error_size, "%s", api->GetErrorMessage(status));
    api->ReleaseStatus(status);
    return 1;
}

const char *cv_runtime_version(void) {
    return OrtGetApiBase()->GetVersionString();
}

void cv_session_destroy(cv_session *s) {
    if (!s) return;
    OrtAllocator *allocator = NULL;
    if (s->api->GetAllocatorWithDefaultOptions(&allocator) == NULL && allocator) {
        if (s->input_name) allocator->Free(allocator, s->input_name);
        for (size_t i = 0; s->output_names && i < s->output_count; i++) {
            if (s->output_names[i]) allocator->Free(allocator, s->output_names[i]);
        }
    }
    free(s->output_names);
    if (s->memory) s->api->ReleaseMemoryInfo(s->memory);
    if (s->session) s->api->ReleaseSession(s->session);
    if (s->env) s->api->ReleaseEnv(s->env);
    free(s);
}

cv_session *cv_session_create(const char *model_path, int threads, char *error, size_t error_size) {
    const OrtApi *api = ort();
    if (!api) {
        snprintf(error, error_size, "the ONNX Runtime library does not offer API version %d", ORT_API_VERSION);
        return NULL;
    }
    cv_session *s = calloc(1, sizeof(cv_session));
    if (!s) return NULL;
    s->api = api;
    OrtSessionOptions *options = NULL;
    if (failed(api, api->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "vigil", &s->env), error, error_size)
        || failed(api, api->CreateSessionOptions(&options), error, error_size)
        || failed(api, api->SetIntraOpNumThreads(options, threads), error, error_size)
        || failed(api, api->SetInterOpNumThreads(options, 1), error, error_size)
        || failed(api, api->SetSessionGraphOptimizationLevel(options, ORT_ENABLE_ALL), error, error_size)
        || failed(api, api->CreateSession(s->env, model_path, options, &s->session), error, error_size)
        || failed(api, api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &s->memory), error, error_size)) {
        if (options) api->ReleaseSessionOptions(options);
        cv_session_destroy(s);
        return NULL;
    }
    api->ReleaseSessionOptions(options);
    OrtAllocator *allocator = NULL;
    size_t outputs = 0;
    if (failed(api, api->GetAllocatorWithDefaultOptions(&allocator), error, error_size)
        || failed(api, api->SessionGetInputName(s->session, 0, allocator, &s->input_name), error, error_size)
        || failed(api, api->SessionGetOutputCount(s->session, &outputs), error, error_size)) {
        cv_session_destroy(s);
        return NULL;
    }
    s->output_names = calloc(outputs ? outputs : 1, sizeof(char *));
    if (!s->output_names) {
        cv_session_destroy(s);
        return NULL;
    }
    s->output_count = outputs;
    for (size_t i = 0; i < outputs; i++) {
        if (failed(api, api->SessionGetOutputName(s->session, i, allocator, &s->output_names[i]), error, error_size)) {
            cv_session_destroy(s);
            return NULL;
        }
    }
    return s;
}

/// The static shape of the model's first input or output (dynamic dimensions are -1).
static int tensor_shape(cv_session *s, int output, int64_t *dims, size_t max_dims) {
    const OrtApi *api = s->api;
    OrtTypeInfo *info = NULL;
    const OrtTensorTypeAndShapeInfo *tensor = NULL;
    size_t count = 0;
    OrtStatus *status = output ? api->SessionGetOutputTypeInfo(s->session, 0, &info) : api->SessionGetInputTypeInfo(s->session, 0, &info);
    if (failed(api, status, NULL, 0)) return -1;
    int result = -1;
    if (!failed(api, api->CastTypeInfoToTensorInfo(info, &tensor), NULL, 0) && tensor
        && !failed(api, api->GetDimensionsCount(tensor, &count), NULL, 0) && count <= max_dims
        && !failed(api, api->GetDimensions(tensor, dims, count), NULL, 0)) {
        result = (int)count;
    }
    api->ReleaseTypeInfo(info);
    return result;
}

int cv_session_input_shape(cv_session *s, int64_t *dims, size_t max_dims) {
    return tensor_shape(s, 0, dims, max_dims);
}

int cv_session_output_shape(cv_session *s, int64_t *dims, size_t max_dims) {
    return tensor_shape(s, 1, dims, max_dims);
}

int64_t cv_session_metadata(cv_session *s, const char *key, char *value, size_t value_size) {
    const OrtApi *api = s->api;
    OrtModelMetadata *metadata = NULL;
    OrtAllocator *allocator = NULL;
    char *found = NULL;
    int64_t result = -1;
    if (failed(api, api->GetAllocatorWithDefaultOptions(&allocator), NULL, 0)
        || failed(api, api->SessionGetModelMetadata(s->session, &metadata), NULL, 0)) {
        return -1;
    }
    if (!failed(api, api->ModelMetadataLookupCustomMetadataMap(metadata, allocator, key, &found), NULL, 0) && found) {
        result = (int64_t)strlen(found);
        if (value && value_size) snprintf(value, value_size, "%s", found);
        allocator->Free(allocator, found);
    }
    api->ReleaseModelMetadata(metadata);
    return result;
}

/// Runs the model on one float tensor and copies its first `wanted` outputs, one after another,
/// into `output`; each output's value count goes to `counts` (and the first one's shape to
/// `first_dims`, its rank to `first_rank`, when given). Returns the total count, or -1.
static int64_t run_outputs(cv_session *s, const float *input, const int64_t *input_dims, size_t input_rank, size_t wanted,
                           float *output, size_t output_capacity, int64_t *counts, int64_t *first_dims, size_t *first_rank,
                           char *error, size_t error_size) {
    const OrtApi *api = s->api;
    if (wanted == 0 || wanted > s->output_count) {
        snprintf(error, error_size, "the model has %zu outputs; %zu were asked for", s->output_count, wanted);
        return -1;
    }
    size_t elements = 1;
    for (size_t i = 0; i < input_rank; i++) elements *= (size_t)input_dims[i];
    OrtValue *input_value = NULL;
    OrtValue **output_values = calloc(wanted, sizeof(OrtValue *));
    if (!output_values) return -1;
    int64_t result = -1;
    if (failed(api, api->CreateTensorWithDataAsOrtValue(s->memory, (void *)input, elements * sizeof(float), input_dims, input_rank,
                                                        ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &input_value), error, error_size)) {
        free(output_values);
        return -1;
    }
    const char *input_names[] = {s->input_name};
    if (!failed(api, api->Run(s->session, NULL, input_names, (const OrtValue *const *)&input_value, 1,
                              (const char *const *)s->output_names, wanted, output_values), error, error_size)) {
        size_t used = 0;
        int ok = 1;
        for (size_t o = 0; o < wanted && ok; o++) {
            OrtTensorTypeAndShapeInfo *shape = NULL;
            size_t count = 0, rank = 0;
            float *data = NULL;
            ok = 0;
            if (!failed(api, api->GetTensorTypeAndShape(output_values[o], &shape), error, error_size)) {
                if (!failed(api, api->GetTensorShapeElementCount(shape, &count), error, error_size)
                    && !failed(api, api->GetDimensionsCount(shape, &rank), error, error_size)
                    && !failed(api, api->GetTensorMutableData(output_values[o], (void **)&data), error, error_size)) {
                    if (used + count > output_capacity) {
                        snprintf(error, error_size, "the model's outputs have more than the %zu values expected", output_capacity);
                    } else if (o == 0 && first_dims && first_rank
                               && (rank > *first_rank || failed(api, api->GetDimensions(shape, first_dims, rank), error, error_size))) {
                        if (rank > *first_rank) snprintf(error, error_size, "the model's output has %zu dimensions, more than expected", rank);
                    } else {
                        if (o == 0 && first_rank) *first_rank = rank;
                        memcpy(output + used, data, count * sizeof(float));
                        counts[o] = (int64_t)count;
                        used += count;
                        ok = 1;
                    }
                }
                api->ReleaseTensorTypeAndShapeInfo(shape);
            }
        }
        if (ok) result = (int64_t)used;
    }
    for (size_t o = 0; o < wanted; o++) {
        if (output_values[o]) api->ReleaseValue(output_values[o]);
    }
    free(output_values);
    api->ReleaseValue(input_value);
    return result;
}

int64_t cv_session_run(cv_session *s, const float *input, const int64_t *input_dims, size_t input_rank,
                       float *output, size_t output_capacity, int64_t *output_dims, size_t *output_rank,
                       char *error, size_t error_size) {
    int64_t count = 0;
    return run_outputs(s, input, input_dims, input_rank, 1, output, output_capacity, &count, output_dims, output_rank,
                       error, error_size);
}

size_t cv_session_output_count(cv_session *s) {
    return s->output_count;
}

int64_t cv_session_run_all(cv_session *s, const float *input, const int64_t *input_dims, size_t input_rank,
                           float *output, size_t output_capacity, int64_t *counts, size_t max_outputs,
                           char *error, size_t error_size) {
    if (max_outputs < s->output_count) {
        snprintf(error, error_size, "the model has %zu outputs, more than the %zu expected", s->output_count, max_outputs);
        return -1;
    }
    return run_outputs(s, input, input_dims, input_rank, s->output_count, output, output_capacity, counts, NULL, NULL,
                       error, error_size);
}
