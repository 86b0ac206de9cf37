# Valgrind memcheck on `housenet sort` over the bundled sample (tests/valgrind_sort.sh); skipped
# when valgrind is not installed. Not under the sanitizer build (valgrind and ASan do not mix).
# Included by tests/CMakeLists.txt.
if(HOUSENET_BUILD_EXAMPLES AND NOT HOUSENET_SANITIZE AND EXISTS ${PROJECT_SOURCE_DIR}/examples/CMakeLists.txt)
  find_program(HOUSENET_BASH bash)
  if(HOUSENET_BASH)
    add_test(NAME valgrind_sort
      COMMAND ${HOUSENET_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/valgrind_sort.sh
              $<TARGET_FILE:housenet_app> ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/valgrind_sort)
    set_tests_properties(valgrind_sort PROPERTIES TIMEOUT 900 SKIP_RETURN_CODE 77)
  endif()
endif()
