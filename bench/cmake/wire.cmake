# The wire sensor over a capture file (bench/wire/pcap_throughput.cpp), with the capture generator
# (bench/wire/gen_capture.cpp); bench/wire-vs-tcpdump runs them beside tcpdump. See docs/benchmarks.md.
add_executable(bench_wire_gen_capture ${PROJECT_SOURCE_DIR}/bench/wire/gen_capture.cpp)
target_include_directories(bench_wire_gen_capture PRIVATE ${PROJECT_SOURCE_DIR}/tests/wire)
target_link_libraries(bench_wire_gen_capture PRIVATE strikeout_core PkgConfig::PCAP strikeout_warnings)
add_executable(bench_wire_pcap ${PROJECT_SOURCE_DIR}/bench/wire/pcap_throughput.cpp)
target_link_libraries(bench_wire_pcap PRIVATE strikeout_wire strikeout_warnings)
