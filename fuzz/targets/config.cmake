# The configuration layer's fuzz targets (corpus: fuzz/corpus/config_load/).
strikeout_fuzzer(config_load SOURCE ${PROJECT_SOURCE_DIR}/fuzz/config_load.cpp LIBS strikeout_config)
