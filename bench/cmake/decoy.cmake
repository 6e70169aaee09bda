# The decoy: connections held at once and memory per connection (bench/decoy/hold_connections.cpp,
# driven by bench/decoy/run). See docs/benchmarks.md, "Decoy connections held".
add_executable(bench_decoy_hold ${PROJECT_SOURCE_DIR}/bench/decoy/hold_connections.cpp)
target_link_libraries(bench_decoy_hold PRIVATE strikeout_warnings)
