# Tests: Check (libcheck) under CTest, linked with the static library so
# white-box tests may call internals (src/ is on their include path). Each tests/<module>/test_<topic>.c is
# one executable, labelled with its module; files named *_stress.c carry the
# label "stress" as well (CI runs them in their short form: WEFT_STRESS_SCALE
# unset). Each tests/<module>/test_<topic>.sh is run with bash, with the
# build's bin/ directory on PATH.
find_package(PkgConfig REQUIRED)
pkg_check_modules(CHECK REQUIRED IMPORTED_TARGET check)

file(GLOB WEFT_TEST_COMMON CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/common/*.c)
# An OBJECT library: every test links all of it, including wfault.c's
# wrappers, which libweft's objects reach through -Wl,--wrap.
add_library(weft_test_common OBJECT ${WEFT_TEST_COMMON})
target_include_directories(weft_test_common PUBLIC ${CMAKE_SOURCE_DIR}/tests/common ${CMAKE_SOURCE_DIR}/src)
target_compile_definitions(weft_test_common PUBLIC _GNU_SOURCE)
target_link_libraries(weft_test_common PUBLIC weft_static PkgConfig::CHECK Threads::Threads m)
target_compile_options(weft_test_common PRIVATE ${WEFT_WARNINGS})
set(WEFT_TEST_WRAPPED malloc calloc realloc aligned_alloc posix_memalign strdup strndup pthread_create)
foreach(sym ${WEFT_TEST_WRAPPED})
  target_link_options(weft_test_common INTERFACE "LINKER:--wrap=${sym}")
endforeach()

# Sanitizers slow everything 5-15x: stretch Check's per-test timeouts.
if(WEFT_SANITIZE)
  set(WEFT_TEST_ENV "CK_TIMEOUT_MULTIPLIER=6;WEFT_UNDER_SANITIZER=1")
else()
  set(WEFT_TEST_ENV "CK_TIMEOUT_MULTIPLIER=1")
endif()
if(WEFT_SANITIZE STREQUAL "thread")
  list(APPEND WEFT_TEST_ENV "TSAN_OPTIONS=halt_on_error=1 second_deadlock_stack=1 report_signal_unsafe=0")
elseif(WEFT_SANITIZE STREQUAL "address")
  list(APPEND WEFT_TEST_ENV "ASAN_OPTIONS=detect_leaks=1 abort_on_error=0 strict_string_checks=1"
                            "UBSAN_OPTIONS=print_stacktrace=1 halt_on_error=1")
endif()

file(GLOB WEFT_TEST_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/*/test_*.c)
foreach(src ${WEFT_TEST_SRC})
  get_filename_component(name ${src} NAME_WE)
  get_filename_component(dir ${src} DIRECTORY)
  get_filename_component(module ${dir} NAME)
  if(module STREQUAL "common")
    continue()
  endif()
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE weft_test_common)
  target_compile_options(${name} PRIVATE ${WEFT_WARNINGS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${module}/${name} COMMAND ${name})
  set(labels ${module})
  if(name MATCHES "_stress$")
    list(APPEND labels stress)
  endif()
  set_tests_properties(${module}/${name} PROPERTIES LABELS "${labels}"
    TIMEOUT 900 ENVIRONMENT "${WEFT_TEST_ENV}")
endforeach()

file(GLOB WEFT_TEST_SH CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/*/test_*.sh)
foreach(src ${WEFT_TEST_SH})
  get_filename_component(name ${src} NAME_WE)
  get_filename_component(dir ${src} DIRECTORY)
  get_filename_component(module ${dir} NAME)
  # The install test builds an uninstrumented consumer: it cannot link a
  # sanitizer build of the library, and checks packaging, not behaviour.
  if(WEFT_SANITIZE AND module STREQUAL "install")
    continue()
  endif()
  add_test(NAME ${module}/${name} COMMAND bash ${src})
  set_tests_properties(${module}/${name} PROPERTIES LABELS "${module};shell"
    TIMEOUT 900 ENVIRONMENT "${WEFT_TEST_ENV};WEFT_BUILD_DIR=${CMAKE_BINARY_DIR};WEFT_SOURCE_DIR=${CMAKE_SOURCE_DIR};PATH=${CMAKE_BINARY_DIR}/bin:$ENV{PATH}")
endforeach()
