# cmake -DEXAMPLE=<program> -DSOURCE=<program.c> -P run_example.cmake
# Runs an example; fails if it exits non-zero, or if its source comment has an
# "Expected output:" block and the program's standard output differs from it.
execute_process(COMMAND "${EXAMPLE}" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message("${out}")
if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "${EXAMPLE} exited with ${rc}")
endif()

file(READ "${SOURCE}" text)
string(REGEX MATCH "\n \\* Expected output:\n(( \\*   [^\n]*\n)+)" block "${text}")
if(block)
  string(REGEX REPLACE "(^|\n) \\*   " "\\1" expected "${CMAKE_MATCH_1}")
  if(NOT out STREQUAL expected)
    message("---- expected (from the \"Expected output:\" block of ${SOURCE}):\n${expected}")
    message(FATAL_ERROR "the output differs from the \"Expected output:\" block")
  endif()
  message("output matches the \"Expected output:\" block")
endif()
