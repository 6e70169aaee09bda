# The state store's fuzz targets (corpus: fuzz/corpus/store_codec/): the decoders of the columns the
# state database holds (window timestamps, campaign sources, pairing reports, address text).
strikeout_fuzzer(store_codec SOURCE ${PROJECT_SOURCE_DIR}/fuzz/store_codec.cpp LIBS strikeout_store_codec)
