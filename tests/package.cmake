# Packaging tests (nlohmann/json tests/cmake_import style). This file is both:
#  - included by tests/CMakeLists.txt: it registers the ctest tests below;
#  - a cmake -P script (STEP=<name>) that each test runs.
#
#   package_install           configures housenet alone (no tests, no app) in a scratch dir and
#                             installs it to a temporary prefix (ctest fixture housenet_installed)
#   package_find_package      builds and runs tests/cmake_consumer (consumer: housenet::housenet;
#                             consumer_core: housenet::core, no stb include path) against that
#                             prefix through find_package(housenet 0.1 COMPONENTS ...)
#   package_pkg_config        compiles tests/cmake_consumer/core.cpp with nothing but
#                             `pkg-config --cflags --libs housenet-core` of that prefix, and
#                             checks housenet.pc names stb
#   package_add_subdirectory  builds and runs both consumers with housenet's source tree added by
#                             add_subdirectory
#   package_no_threads        the same for consumer_core with -DHOUSENET_NO_THREADS=ON: the option
#                             reaches the consumer as an INTERFACE definition
# Everything happens under <build>/tests/package/, recreated by every run.

if(NOT CMAKE_SCRIPT_MODE_FILE)
  set(_hn_pkg_work "${CMAKE_CURRENT_BINARY_DIR}/package")
  set(_hn_pkg_args
    -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
    -DWORK=${_hn_pkg_work}
    -DCXX=${CMAKE_CXX_COMPILER}
    "-DGENERATOR=${CMAKE_GENERATOR}")
  foreach(step install find_package pkg_config add_subdirectory no_threads)
    add_test(NAME package_${step}
             COMMAND ${CMAKE_COMMAND} -DSTEP=${step} ${_hn_pkg_args} -P ${CMAKE_CURRENT_LIST_FILE})
    set_tests_properties(package_${step} PROPERTIES TIMEOUT 600 LABELS package)
  endforeach()
  set_tests_properties(package_install PROPERTIES FIXTURES_SETUP housenet_installed)
  set_tests_properties(package_find_package package_pkg_config PROPERTIES FIXTURES_REQUIRED housenet_installed)
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

# Runs a consumer executable and checks that its output matches `pattern`.
function(run_consumer exe pattern)
  run("${exe}")
  if(NOT run_output MATCHES "${pattern}")
    message(FATAL_ERROR "unexpected output of ${exe}: '${run_output}' (expected /${pattern}/)")
  endif()
  message(STATUS "${exe} says: ${run_output}")
endfunction()

set(version_re "housenet [0-9]+\\.[0-9]+\\.[0-9]+: 4x2")

# Builds the consumers in `dir` with extra configure arguments, runs them, checks their output.
# THREADS is the expected threads= value; CORE_ONLY builds consumer_core alone.
function(build_and_run_consumer dir threads core_only)
  file(REMOVE_RECURSE "${dir}")
  run(${CMAKE_COMMAND} -S "${consumer_src}" -B "${dir}" ${common} -DCONSUMER_CORE_ONLY=${core_only} ${ARGN})
  run(${CMAKE_COMMAND} --build "${dir}")
  # The core consumer's compile line names no stb include directory.
  file(GLOB_RECURSE flag_files "${dir}/CMakeFiles/consumer_core.dir/flags.make")
  foreach(f IN LISTS flag_files)
    file(READ "${f}" flags)
    if(flags MATCHES "stb")
      message(FATAL_ERROR "consumer_core is compiled with an stb path: ${flags}")
    endif()
  endforeach()
  run_consumer("${dir}/consumer_core" "${version_re} threads=${threads}")
  if(NOT core_only)
    run_consumer("${dir}/consumer" "${version_re} threads=${threads} png=1")
  endif()
endfunction()

if(STEP STREQUAL "install")
  file(REMOVE_RECURSE "${WORK}/housenet-build" "${WORK}/prefix")
  run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK}/housenet-build" ${common}
      -DHOUSENET_BUILD_TESTS=OFF -DHOUSENET_BUILD_EXAMPLES=OFF -DHOUSENET_BUILD_BENCH=OFF
      -DHOUSENET_INSTALL=ON "-DCMAKE_INSTALL_PREFIX=${WORK}/prefix")
  run(${CMAKE_COMMAND} --build "${WORK}/housenet-build")
  run(${CMAKE_COMMAND} --install "${WORK}/housenet-build")
  foreach(f include/housenet/housenet.hpp include/housenet/model_io.hpp
            share/cmake/housenet/housenetConfig.cmake share/cmake/housenet/housenetConfigVersion.cmake
            share/pkgconfig/housenet-core.pc share/pkgconfig/housenet.pc)
    if(NOT EXISTS "${WORK}/prefix/${f}")
      message(FATAL_ERROR "not installed: ${f}")
    endif()
  endforeach()
elseif(STEP STREQUAL "find_package")
  if(NOT EXISTS "${WORK}/prefix/share/cmake/housenet/housenetConfig.cmake")
    message(FATAL_ERROR "housenet is not installed in ${WORK}/prefix (run package_install first)")
  endif()
  build_and_run_consumer("${WORK}/consumer-find-package" 1 OFF "-DCMAKE_PREFIX_PATH=${WORK}/prefix")
  build_and_run_consumer("${WORK}/consumer-find-package-core" 1 ON "-DCMAKE_PREFIX_PATH=${WORK}/prefix")
elseif(STEP STREQUAL "pkg_config")
  find_program(pkg_config pkg-config REQUIRED)
  set(ENV{PKG_CONFIG_PATH} "${WORK}/prefix/share/pkgconfig")
  run(${pkg_config} --cflags --libs housenet-core)
  string(STRIP "${run_output}" pc_flags)
  separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
  if(pc_flags MATCHES "stb")
    message(FATAL_ERROR "housenet-core.pc names stb: ${pc_flags}")
  endif()
  file(MAKE_DIRECTORY "${WORK}/consumer-pkg-config")
  run(${CXX} ${pc_flags} "${consumer_src}/core.cpp" -o "${WORK}/consumer-pkg-config/consumer_core" ${pc_flags})
  run_consumer("${WORK}/consumer-pkg-config/consumer_core" "${version_re} threads=1")
  run(${pkg_config} --print-requires housenet)
  if(NOT run_output MATCHES "housenet-core" OR NOT run_output MATCHES "stb")
    message(FATAL_ERROR "housenet.pc should require housenet-core and stb: '${run_output}'")
  endif()
elseif(STEP STREQUAL "add_subdirectory")
  build_and_run_consumer("${WORK}/consumer-add-subdirectory" 1 OFF "-DHOUSENET_SOURCE_DIR=${SOURCE_DIR}")
elseif(STEP STREQUAL "no_threads")
  build_and_run_consumer("${WORK}/consumer-no-threads" 0 ON "-DHOUSENET_SOURCE_DIR=${SOURCE_DIR}"
                         -DHOUSENET_NO_THREADS=ON)
else()
  message(FATAL_ERROR "package.cmake: unknown STEP '${STEP}'")
endif()
