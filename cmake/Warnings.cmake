# One warning set for every target of ours; -Werror in CI (STRIKEOUT_WERROR=ON).
# Not -Wnull-dereference: GCC 12 reports false positives inside libstdc++ and Asio at -O2.
# -Wno-restrict: GCC 12 at -O3 reports a false overlap in libstdc++'s string concatenation
# (GCC bug 105329); the warning is not reliable there.
add_library(strikeout_warnings INTERFACE)
target_compile_options(strikeout_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wimplicit-fallthrough -Wno-restrict
  $<$<BOOL:${STRIKEOUT_WERROR}>:-Werror>)
