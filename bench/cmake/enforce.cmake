# Bans into the kernel: 1 M bans loaded in one go by the enforcer, beside `nft -f` loading the same
# elements, in a network namespace of its own (needs root). See docs/benchmarks.md.
add_executable(bench_nft_bulk ${CMAKE_CURRENT_SOURCE_DIR}/bench_nft_bulk.cpp)
target_link_libraries(bench_nft_bulk PRIVATE strikeout_enforce strikeout_warnings)
