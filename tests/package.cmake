# Packaging tests (nlohmann/json tests/cmake_import style). This file is both:
#  - included by tests/CMakeLists.txt: it registers three ctest tests;
#  - a cmake -P script (STEP=install|find_package|add_subdirectory) that each test runs.
#
#   package_install           configures housenet alone (no tests, no app) in a scratch dir and
#                             installs it to a temporary prefix (ctest fixture housenet_installed)
#   package_find_package      builds and runs tests/cmake_consumer against that prefix through
#                             find_package(housenet 0.1)
#   package_add_subdirectory  builds and runs tests/cmake_consumer with housenet's source tree
#                             added by add_subdirectory
# Everything happens under <build>/tests/package/, recreated by every run.

if(NOT CMAKE_SCRIPT_MODE_FILE)
  set(_hn_pkg_work "${CMAKE_CURRENT_BINARY_DIR}/package")
  set(_hn_pkg_args
    -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
    -DWORK=${_hn_pkg_work}
    -DCXX=${CMAKE_CXX_COMPILER}
    "-DGENERATOR=${CMAKE_GENERATOR}")
  foreach(step install find_package add_subdirectory)
    add_test(NAME package_${step}
             COMMAND ${CMAKE_COMMAND} -DSTEP=${step} ${_hn_pkg_args} -P ${CMAKE_CURRENT_LIST_FILE})
    set_tests_properties(package_${step} PROPERTIES TIMEOUT 600 LABELS package)
  endforeach()
  set_tests_properties(package_install PROPERTIES FIXTURES_SETUP housenet_installed)
  set_tests_properties(package_find_package PROPERTIES FIXTURES_REQUIRED housenet_installed)
  return()
endif()

# ---- script mode -------------------------------------------------------------------------------
foreach(v STEP SOURCE_DIR WORK CXX GENERATOR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "package.cmake: -D${v}=... is required")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

set(common -G "${GENERATOR}" -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Debug)
set(consumer_src "${SOURCE_DIR}/tests/cmake_consumer")

# Builds the consumer in `dir` with extra configure arguments, runs it, checks its output.
function(build_and_run_consumer dir)
  file(REMOVE_RECURSE "${dir}")
  run(${CMAKE_COMMAND} -S "${consumer_src}" -B "${dir}" ${common} ${ARGN})
  run(${CMAKE_COMMAND} --build "${dir}")
  set(exe "${dir}/consumer")
  run("${exe}")
  if(NOT run_output MATCHES "housenet [0-9]+\\.[0-9]+\\.[0-9]+: 4x2")
    message(FATAL_ERROR "unexpected consumer output: '${run_output}'")
  endif()
  message(STATUS "consumer says: ${run_output}")
endfunction()

if(STEP STREQUAL "install")
  file(REMOVE_RECURSE "${WORK}/housenet-build" "${WORK}/prefix")
  run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK}/housenet-build" ${common}
      -DHOUSENET_BUILD_TESTS=OFF -DHOUSENET_BUILD_EXAMPLES=OFF -DHOUSENET_BUILD_BENCH=OFF
      -DHOUSENET_INSTALL=ON "-DCMAKE_INSTALL_PREFIX=${WORK}/prefix")
  run(${CMAKE_COMMAND} --build "${WORK}/housenet-build")
  run(${CMAKE_COMMAND} --install "${WORK}/housenet-build")
  foreach(f include/housenet/housenet.hpp include/housenet/model_io.hpp
            share/cmake/housenet/housenetConfig.cmake share/cmake/housenet/housenetConfigVersion.cmake)
    if(NOT EXISTS "${WORK}/prefix/${f}")
      message(FATAL_ERROR "not installed: ${f}")
    endif()
  endforeach()
elseif(STEP STREQUAL "find_package")
  if(NOT EXISTS "${WORK}/prefix/share/cmake/housenet/housenetConfig.cmake")
    message(FATAL_ERROR "housenet is not installed in ${WORK}/prefix (run package_install first)")
  endif()
  build_and_run_consumer("${WORK}/consumer-find-package" "-DCMAKE_PREFIX_PATH=${WORK}/prefix")
elseif(STEP STREQUAL "add_subdirectory")
  build_and_run_consumer("${WORK}/consumer-add-subdirectory" "-DHOUSENET_SOURCE_DIR=${SOURCE_DIR}")
else()
  message(FATAL_ERROR "package.cmake: unknown STEP '${STEP}'")
endif()
