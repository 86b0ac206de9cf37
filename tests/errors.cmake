# docs/errors.md, app rows: tests/errors_cli.sh runs `housenet` on each bad input and checks the
# exit status and the one documented stderr line. (Library rows: tests/test_errors.cpp.)
# Included by tests/CMakeLists.txt.
if(HOUSENET_BUILD_EXAMPLES AND EXISTS ${PROJECT_SOURCE_DIR}/examples/CMakeLists.txt)
  find_program(HOUSENET_BASH bash)
  if(HOUSENET_BASH)
    add_test(NAME errors_cli
      COMMAND ${HOUSENET_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/errors_cli.sh
              $<TARGET_FILE:housenet_app> ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/errors_cli)
    set_tests_properties(errors_cli PROPERTIES TIMEOUT 300 ENVIRONMENT "HOUSENET_NUM_THREADS=1")
  endif()
endif()
