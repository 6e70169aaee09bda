# The decoy's fuzz target: the SMTP conversation and its parsers (command lines, base64, AUTH PLAIN)
# on attacker bytes (corpus: fuzz/corpus/decoy_smtp/).
strikeout_fuzzer(decoy_smtp SOURCE ${PROJECT_SOURCE_DIR}/fuzz/decoy_smtp.cpp LIBS strikeout_decoy_pure)
