# End-to-end tests of the housenet app (examples/): no shared data needed. The app's unit tests are
# tests/test_app_*.cpp (built like every other test). Included by tests/CMakeLists.txt.
if(HOUSENET_BUILD_EXAMPLES AND EXISTS ${PROJECT_SOURCE_DIR}/examples/CMakeLists.txt)
  find_program(HOUSENET_BASH bash)
  if(HOUSENET_BASH)
    # crop -> train (small, 3 epochs) -> interrupted + resumed train -> eval -> sort -> info ->
    # detect, plus bad inputs, on the bundled sample and images the script makes.
    add_test(NAME app_e2e
      COMMAND ${HOUSENET_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/app_e2e.sh
              $<TARGET_FILE:housenet_app> ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/app_e2e)
    set_tests_properties(app_e2e PROPERTIES TIMEOUT 600 ENVIRONMENT "HOUSENET_NUM_THREADS=2")
    # A few of the developers' photos (../shared/data/houses): skipped when absent.
    add_test(NAME app_shared_crop
      COMMAND ${HOUSENET_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/app_e2e.sh --shared
              $<TARGET_FILE:housenet_app> ${HOUSENET_SHARED_DIR} ${CMAKE_CURRENT_BINARY_DIR}/app_shared)
    set_tests_properties(app_shared_crop PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77)
  endif()
endif()
