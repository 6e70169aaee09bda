# The wire sensor's commands (replay --pcap, probe, export). Included from tests/app/CMakeLists.txt
# once src/app builds pcap_replay.cpp, probe.cpp and export.cpp into strikeout_app; until then
# tests/wire/CMakeLists.txt includes it with a scratch library (STRIKEOUT_WIRE_APP_LIB).
if(NOT DEFINED STRIKEOUT_WIRE_APP_LIB)
  set(STRIKEOUT_WIRE_APP_LIB strikeout_app strikeout_wire)
endif()
set(_wire_app_dir ${PROJECT_SOURCE_DIR}/tests/app)

strikeout_test(app_pcap_replay_test component
  SOURCES ${_wire_app_dir}/pcap_replay_test.cpp
  LIBS ${STRIKEOUT_WIRE_APP_LIB} strikeout_core PkgConfig::PCAP)
target_include_directories(app_pcap_replay_test PRIVATE ${PROJECT_SOURCE_DIR}/tests/wire)

strikeout_test(app_export_test unit
  SOURCES ${_wire_app_dir}/export_test.cpp
  LIBS ${STRIKEOUT_WIRE_APP_LIB} strikeout_config)

# Loads the exports with nft -f and iptables-restore in a network namespace of its own (root).
strikeout_test(app_export_kernel_test kernel
  SOURCES ${_wire_app_dir}/export_kernel_test.cpp
  LIBS ${STRIKEOUT_WIRE_APP_LIB} strikeout_config Threads::Threads)

# probe against fake SMTP servers on loopback.
strikeout_test(app_probe_test component
  SOURCES ${_wire_app_dir}/probe_test.cpp
  LIBS ${STRIKEOUT_WIRE_APP_LIB} nlohmann_json::nlohmann_json Threads::Threads)
if(TARGET PkgConfig::OPENSSL)
  target_compile_definitions(app_probe_test PRIVATE STRIKEOUT_HAVE_OPENSSL=1)
endif()
