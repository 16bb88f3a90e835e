# Warnings and sanitizers for the project's own targets only (not for
# dependencies' headers, which come in as SYSTEM includes).
add_library(isergw_options INTERFACE)
target_compile_options(isergw_options INTERFACE -Wall -Wextra -Werror
  -Wno-missing-field-initializers)
target_include_directories(isergw_options INTERFACE ${PROJECT_SOURCE_DIR})
if(ISERGW_SANITIZE)
  target_compile_options(isergw_options INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(isergw_options INTERFACE -fsanitize=address,undefined)
endif()

# isergw_library(NAME SOURCES... DEPS ...): one static library per module.
function(isergw_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_link_libraries(${name} PUBLIC isergw_options ${ARG_DEPS})
endfunction()

# isergw_test(NAME SOURCES... DEPS ...): a GoogleTest binary registered with ctest.
function(isergw_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE isergw_options ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  include(GoogleTest)
  gtest_discover_tests(${name} PROPERTIES LABELS "unit;${ARG_LABELS}" DISCOVERY_TIMEOUT 30)
endfunction()

if(ISERGW_FUZZ)
  # Coverage instrumentation for every library the fuzz targets link.
  target_compile_options(isergw_options INTERFACE -fsanitize=fuzzer-no-link,address,undefined
    -fno-omit-frame-pointer)
  target_link_options(isergw_options INTERFACE -fsanitize=address,undefined)
endif()

# ThreadSanitizer, for the tests that run several threads (scripts/test.sh
# builds only those: see its "tsan build" stage). It cannot be combined with
# ASan, nor with the fuzzers.
option(ISERGW_SANITIZE_THREAD "Build with ThreadSanitizer" OFF)
if(ISERGW_SANITIZE_THREAD)
  if(ISERGW_SANITIZE OR ISERGW_FUZZ)
    message(FATAL_ERROR "ISERGW_SANITIZE_THREAD excludes ISERGW_SANITIZE and ISERGW_FUZZ")
  endif()
  target_compile_options(isergw_options INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(isergw_options INTERFACE -fsanitize=thread)
endif()
