# The enforcer's fuzz target: NFLOG messages carrying packets an attacker wrote
# (corpus: fuzz/corpus/enforce_nflog/).
strikeout_fuzzer(enforce_nflog SOURCE ${PROJECT_SOURCE_DIR}/fuzz/enforce_nflog.cpp LIBS strikeout_enforce_pure)
