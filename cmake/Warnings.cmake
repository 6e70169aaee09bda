# One warning set for every target of ours; -Werror in CI (STRIKEOUT_WERROR=ON).
add_library(strikeout_warnings INTERFACE)
target_compile_options(strikeout_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  $<$<BOOL:${STRIKEOUT_WERROR}>:-Werror>)
