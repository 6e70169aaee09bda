# Matcher micro-benchmarks (ns per line for typical Postfix lines and a realistic mix).
add_executable(bench_matchers ${PROJECT_SOURCE_DIR}/bench/bench_matchers.cpp)
target_link_libraries(bench_matchers PRIVATE strikeout_logs benchmark::benchmark strikeout_warnings)
