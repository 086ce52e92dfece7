#ifndef CVISION_H
#define CVISION_H

// Vigil's doorway to two C libraries: ONNX Runtime (inference) and libjpeg-turbo (JPEG codec).
// ONNX Runtime's C API is a table of function pointers; the few calls Vigil needs are wrapped
// here as plain functions so Swift code stays free of that table.

#include <stddef.h>
#include <stdint.h>
#include <turbojpeg.h>

typedef struct cv_session cv_session;

/// Opens a model for inference with `threads` intra-op threads. NULL on failure, with the reason in `error`.
cv_session *cv_session_create(const char *model_path, int threads, char *error, size_t error_size);
void cv_session_destroy(cv_session *session);

/// The runtime's version, e.g. "1.21.1".
const char *cv_runtime_version(void);

/// The shape of the model's first input; returns the number of dimensions (-1 on failure).
int cv_session_input_shape(cv_session *session, int64_t *dims, size_t max_dims);

/// The shape of the model's first output, as declared by the model (-1 for dynamic dimensions).
int cv_session_output_shape(cv_session *session, int64_t *dims, size_t max_dims);

/// The model's custom metadata value for `key` (e.g. Ultralytics' "names"), copied into `value`
/// (truncated to `value_size`); returns its full length, or -1 when the model has no such key.
int64_t cv_session_metadata(cv_session *session, const char *key, char *value, size_t value_size);

/// Runs the model on one float tensor and copies its first output into `output` (at most
/// `output_capacity` floats). Returns the number of floats of the output, or -1 with the reason
/// in `error`. The output's shape goes to `output_dims` (its length to `output_rank`).
int64_t cv_session_run(cv_session *session, const float *input, const int64_t *input_dims, size_t input_rank,
                       float *output, size_t output_capacity, int64_t *output_dims, size_t *output_rank,
                       char *error, size_t error_size);

/// How many outputs the model has.
size_t cv_session_output_count(cv_session *session);

/// Runs the model on one float tensor and copies all its outputs, in the model's order, one after
/// another into `output` (at most `output_capacity` floats); each output's value count goes to
/// `counts` (room for `max_outputs`). Returns the total number of floats, or -1 with the reason in `error`.
int64_t cv_session_run_all(cv_session *session, const float *input, const int64_t *input_dims, size_t input_rank,
                           float *output, size_t output_capacity, int64_t *counts, size_t max_outputs,
                           char *error, size_t error_size);

#endif
