# The log layer's fuzz targets: every byte of a mail log may come from a client (usernames, HELO
# names) or from a damaged file. Corpora: fuzz/corpus/logs_*/ (seeded from tests/fixtures/logs).
strikeout_fuzzer(logs_decode SOURCE ${PROJECT_SOURCE_DIR}/fuzz/logs_decode.cpp LIBS strikeout_logs)
strikeout_fuzzer(logs_timestamp SOURCE ${PROJECT_SOURCE_DIR}/fuzz/logs_timestamp.cpp LIBS strikeout_logs)
strikeout_fuzzer(logs_tzif SOURCE ${PROJECT_SOURCE_DIR}/fuzz/logs_tzif.cpp LIBS strikeout_logs)
strikeout_fuzzer(logs_custom SOURCE ${PROJECT_SOURCE_DIR}/fuzz/logs_custom.cpp LIBS strikeout_logs)
