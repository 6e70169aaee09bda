# The command-line tool's own parsers of outside files: fail2ban's configuration (import fail2ban).
# Corpus: fuzz/corpus/import_fail2ban/ (Debian 12's jail.conf and filters, a custom jail, odd cases).
strikeout_fuzzer(import_fail2ban SOURCE ${PROJECT_SOURCE_DIR}/fuzz/import_fail2ban.cpp LIBS strikeout_app)
