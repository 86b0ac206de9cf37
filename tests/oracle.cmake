# The libtorch oracle's generator, scripts/make-libtorch-oracle.cpp (tests/data/README.md): opt in
# with -DHOUSENET_BUILD_ORACLE=ON (needs Debian's libtorch-dev), then build the target
# libtorch_oracle to rewrite tests/data/oracle. Never needed to build or test: the tests read the
# committed files. Included by tests/CMakeLists.txt.
option(HOUSENET_BUILD_ORACLE "Build scripts/make-libtorch-oracle.cpp (needs libtorch)" OFF)
if(HOUSENET_BUILD_ORACLE)
  find_package(Torch REQUIRED)
  add_executable(make_libtorch_oracle ${PROJECT_SOURCE_DIR}/scripts/make-libtorch-oracle.cpp)
  target_link_libraries(make_libtorch_oracle PRIVATE ${TORCH_LIBRARIES})
  target_compile_features(make_libtorch_oracle PRIVATE cxx_std_17)
  add_custom_target(libtorch_oracle
    COMMAND make_libtorch_oracle ${CMAKE_CURRENT_SOURCE_DIR}/data/oracle
    COMMENT "Writing tests/data/oracle with libtorch"
    VERBATIM)
endif()
