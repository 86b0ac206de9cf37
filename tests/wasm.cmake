# The test programs as WebAssembly (ctest label `wasm`) and the web page in headless Chromium
# (label `browser`); docs/web.md. Included by tests/CMakeLists.txt in both builds:
#  - the wasm32 build (scripts/build-wasm.sh, emscripten's toolchain): every test_*.cpp is built
#    for node (the host's files through NODERAWFS, the exit status of main) and its ctests run
#    there (the emulator); the programs that cannot apply are not built and their ctests are
#    DISABLED; the cases that need threads skip (suite "threads", tests/CMakeLists.txt).
#  - the native build, with -DHOUSENET_WASM_TESTS=ON (off by default: the wasm32 build takes
#    minutes; .ci/run turns it on): `wasm_build` builds <build>/wasm with scripts/build-wasm.sh;
#    `wasm_<program>` (and `wasm_<program>.<suite>`, as the native ctests are cut) runs each
#    program under node; `browser_sort` (and `browser_shared`, the developers' photos, skipped when
#    absent) runs tests/browser.mjs: the page in headless Chromium against the native app. All
#    are reported skipped where emscripten, node or Chromium is not installed.
# Programs that cannot apply to wasm32 without threads, and why:
set(HOUSENET_WASM_NOT_APPLICABLE
  test_concurrency   "its own threads (predict and detect from several std::threads)"
  test_kill_save     "fork() and SIGKILL")

file(GLOB _hn_wasm_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/test_*.cpp)
list(REMOVE_ITEM _hn_wasm_sources ${CMAKE_CURRENT_LIST_DIR}/test_main.cpp)

if(EMSCRIPTEN)
  get_property(_hn_all_tests DIRECTORY PROPERTY TESTS)
  foreach(src IN LISTS _hn_wasm_sources)
    get_filename_component(name ${src} NAME_WE)
    if(NOT TARGET ${name})
      continue()
    endif()
    target_link_options(${name} PRIVATE -sNODERAWFS=1 -sEXIT_RUNTIME=1)
    list(FIND HOUSENET_WASM_NOT_APPLICABLE ${name} at)
    if(at GREATER -1)
      set_target_properties(${name} PROPERTIES EXCLUDE_FROM_ALL TRUE)
    endif()
    foreach(t IN LISTS _hn_all_tests)
      if(t STREQUAL name OR t MATCHES "^${name}\\.")
        set_tests_properties(${t} PROPERTIES LABELS wasm)
        if(at GREATER -1)
          set_tests_properties(${t} PROPERTIES DISABLED TRUE)
        endif()
      endif()
    endforeach()
  endforeach()
  # the real thing: std::thread refuses every worker without pthreads (test_parallel.cpp)
  if(TARGET test_parallel)
    target_compile_definitions(test_parallel PRIVATE HOUSENET_NO_THREADS=0)
  endif()
  # the other tests of this folder (packaging, the app) are for the native build
  foreach(t IN LISTS _hn_all_tests)
    get_test_property(${t} LABELS labels)
    if(NOT labels MATCHES "wasm")
      set_tests_properties(${t} PROPERTIES DISABLED TRUE)
    endif()
  endforeach()
  return()
endif()

option(HOUSENET_WASM_TESTS "ctest builds the wasm32 flavour, runs its tests under node and the page in Chromium" OFF)
if(NOT HOUSENET_WASM_TESTS)
  return()
endif()

# ---- native build: build the wasm32 flavour, run its programs under node --------------------------
set(_hn_wasm_dir ${PROJECT_BINARY_DIR}/wasm)
set(_hn_wasm_skip "^wasm_run: skipped: ")  # tests/wasm_run.sh: emscripten or node is missing
add_test(NAME wasm_build COMMAND ${PROJECT_SOURCE_DIR}/scripts/build-wasm.sh ${_hn_wasm_dir})
set_tests_properties(wasm_build PROPERTIES LABELS "wasm;browser" FIXTURES_SETUP housenet_wasm
                     SKIP_RETURN_CODE 77 TIMEOUT 3600)
foreach(src IN LISTS _hn_wasm_sources)
  get_filename_component(name ${src} NAME_WE)
  list(FIND HOUSENET_WASM_NOT_APPLICABLE ${name} at)
  if(at GREATER -1)
    math(EXPR at "${at} + 1")
    list(GET HOUSENET_WASM_NOT_APPLICABLE ${at} why)
    add_test(NAME wasm_${name} COMMAND ${CMAKE_COMMAND} -E echo "wasm_run: skipped: not for wasm32 without threads: ${why}")
    set_tests_properties(wasm_${name} PROPERTIES LABELS wasm SKIP_REGULAR_EXPRESSION "${_hn_wasm_skip}")
    continue()
  endif()
  housenet_add_program_tests(wasm_ ${name} sh ${CMAKE_CURRENT_LIST_DIR}/wasm_run.sh ${_hn_wasm_dir}/tests/${name}.js)
  set_tests_properties(${housenet_added_tests} PROPERTIES LABELS wasm FIXTURES_REQUIRED housenet_wasm TIMEOUT 1800
                       SKIP_REGULAR_EXPRESSION "${_hn_wasm_skip}")
endforeach()

# ---- the page in headless Chromium, against the native app --------------------------------------
if(HOUSENET_BUILD_EXAMPLES AND EXISTS ${PROJECT_SOURCE_DIR}/examples/CMakeLists.txt)  # (the app is added after tests/)
  set(_hn_browser sh ${CMAKE_CURRENT_LIST_DIR}/wasm_run.sh ${CMAKE_CURRENT_LIST_DIR}/browser.mjs
      --web ${_hn_wasm_dir}/web --app $<TARGET_FILE:housenet_app>)
  add_test(NAME browser_sort COMMAND ${_hn_browser} --out ${PROJECT_BINARY_DIR}/browser/sort --bad
           --photo ${PROJECT_SOURCE_DIR}/data/samples/astronaut.png
           --photo ${CMAKE_CURRENT_LIST_DIR}/data/astronaut_gray.png
           --photo ${CMAKE_CURRENT_LIST_DIR}/data/scene_gray.png
           --live ${PROJECT_SOURCE_DIR}/data/samples/astronaut.png)
  add_test(NAME browser_shared COMMAND ${_hn_browser} --out ${PROJECT_BINARY_DIR}/browser/shared
           --photos-dir ${HOUSENET_SHARED_DIR}/data/faces-dev/images)
  set_tests_properties(browser_sort browser_shared PROPERTIES LABELS browser FIXTURES_REQUIRED housenet_wasm
                       SKIP_RETURN_CODE 77 TIMEOUT 900 RUN_SERIAL TRUE)
endif()
