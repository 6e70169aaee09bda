# The detector: on_event throughput and memory per tracked address (bench/bench_engine.cpp).
add_executable(bench_engine ${CMAKE_CURRENT_SOURCE_DIR}/bench_engine.cpp)
target_link_libraries(bench_engine PRIVATE strikeout_core benchmark::benchmark strikeout_warnings)
