# The state store: 1 M bans read from the SQLite state database and restored into the kernel at start
# (root; a network namespace of its own). See docs/benchmarks.md, "Restoring bans at start".
add_executable(bench_store_restore ${CMAKE_CURRENT_SOURCE_DIR}/bench_store_restore.cpp)
target_link_libraries(bench_store_restore PRIVATE strikeout_store strikeout_enforce strikeout_core strikeout_warnings)
