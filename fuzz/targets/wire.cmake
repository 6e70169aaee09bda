# The wire sensor's parsers of outside bytes (see docs/wire.md).
strikeout_fuzzer(wire_packet SOURCE ${PROJECT_SOURCE_DIR}/fuzz/wire_packet.cpp LIBS strikeout_wire)
strikeout_fuzzer(wire_smtp SOURCE ${PROJECT_SOURCE_DIR}/fuzz/wire_smtp.cpp LIBS strikeout_wire)
strikeout_fuzzer(wire_pcap SOURCE ${PROJECT_SOURCE_DIR}/fuzz/wire_pcap.cpp LIBS strikeout_wire)
