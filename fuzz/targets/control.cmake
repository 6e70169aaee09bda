# The control socket's and the metrics endpoint's parsers of outside bytes (corpus:
# fuzz/corpus/control_request/, fuzz/corpus/metrics_http/).
strikeout_fuzzer(control_request SOURCE ${PROJECT_SOURCE_DIR}/fuzz/control_request.cpp LIBS strikeout_control_protocol)
strikeout_fuzzer(metrics_http SOURCE ${PROJECT_SOURCE_DIR}/fuzz/metrics_http.cpp LIBS strikeout_metrics_pure)
