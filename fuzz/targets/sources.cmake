# The log sources' fuzz targets (corpus: fuzz/corpus/sources_positions/): the positions state file,
# which an operator may edit and a damaged disk may cut short.
strikeout_fuzzer(sources_positions SOURCE ${PROJECT_SOURCE_DIR}/fuzz/sources_positions.cpp LIBS strikeout_sources)
