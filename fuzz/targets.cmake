# Each layer's owner declares its fuzz targets in fuzz/targets/<layer>.cmake with strikeout_fuzzer().
file(GLOB _strikeout_fuzz_target_files CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/targets/*.cmake)
list(SORT _strikeout_fuzz_target_files)
foreach(f IN LISTS _strikeout_fuzz_target_files)
  include(${f})
endforeach()
